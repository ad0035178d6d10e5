//! An association's public face: display colour, contact details, logo and
//! a notice banner. One row per association (`branding`, id = tenant id);
//! admins set it with `PUT /api/v1/branding`.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::{Access, Role, TenantOwned, TenantTx, scoped};
use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::get;
use sea_orm::ActiveValue::Set;
use sea_orm::EntityTrait;
use sea_orm::sea_query::OnConflict;
use serde::{Deserialize, Serialize};

/// The `branding` table.
pub(crate) mod entity {
    use sea_orm::entity::prelude::*;

    /// An association's branding.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "branding")]
    pub struct Model {
        /// Association.
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        /// Always the association's id: one row each.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// Header colour, `#rrggbb` (dark enough for white text).
        pub colour: Option<String>,
        /// Office phone.
        pub contact_phone: Option<String>,
        /// Office email.
        pub contact_email: Option<String>,
        /// Office address and hours, free text.
        pub contact_address: Option<String>,
        /// Logo, a path on this server (the CSP allows our origin only).
        pub logo_url: Option<String>,
        /// Notice banner (outage, boil-water notice…), shown on every page.
        pub notice: Option<String>,
        /// Who last changed it.
        pub updated_by: String,
        /// When (UTC).
        pub updated_at: DateTimeUtc,
    }

    /// No relations are navigated through the ORM.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

impl TenantOwned for entity::Entity {
    fn tenant_column() -> Self::Column {
        entity::Column::TenantId
    }
}

/// Branding as the API shows and takes it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Branding {
    /// `#rrggbb`.
    pub colour: Option<String>,
    /// Office phone.
    pub contact_phone: Option<String>,
    /// Office email.
    pub contact_email: Option<String>,
    /// Office address and hours.
    pub contact_address: Option<String>,
    /// Logo path on this server, e.g. `/static/…` or an uploaded asset.
    pub logo_url: Option<String>,
    /// Notice banner text.
    pub notice: Option<String>,
}

impl From<entity::Model> for Branding {
    fn from(m: entity::Model) -> Self {
        Self {
            colour: m.colour,
            contact_phone: m.contact_phone,
            contact_email: m.contact_email,
            contact_address: m.contact_address,
            logo_url: m.logo_url,
            notice: m.notice,
        }
    }
}

/// The association's branding (empty when never set).
pub(crate) async fn load(tx: &TenantTx) -> Result<Branding, ApiError> {
    Ok(scoped::<entity::Entity>(tx)
        .one(tx.conn())
        .await?
        .map(Branding::from)
        .unwrap_or_default())
}

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/api/v1/branding", Role::Viewer, get(show))
        .tenant(
            Method::PUT,
            "/api/v1/branding",
            Role::Admin,
            axum::routing::put(update),
        )
}

async fn show(State(state): State<AppState>, caller: Caller) -> Result<Json<Branding>, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let b = load(&tx).await?;
    tx.commit().await?;
    Ok(Json(b))
}

fn clean(v: Option<String>, max: usize, what: &str) -> Result<Option<String>, ApiError> {
    let Some(v) = v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > max || v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::Invalid(format!(
            "{what} is at most {max} characters of text"
        )));
    }
    Ok(Some(v))
}

/// Parses `#rrggbb`.
fn rgb(colour: &str) -> Option<[u8; 3]> {
    let hex = colour.strip_prefix('#')?;
    if hex.len() != 6 {
        return None;
    }
    let mut out = [0u8; 3];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// WCAG contrast of `colour` against white, times 100 (450 = 4.5:1).
fn contrast_with_white(c: [u8; 3]) -> u32 {
    let lin = |v: u8| {
        let s = f64::from(v) / 255.0;
        if s <= 0.039_28 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
    let ratio = 1.05 / (l + 0.05);
    // Truncated: a colour is accepted only when it really reaches the ratio.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let scaled = (ratio * 100.0) as u32;
    scaled
}

fn validate(b: Branding) -> Result<Branding, ApiError> {
    let colour = clean(b.colour, 7, "colour")?.map(|c| c.to_ascii_lowercase());
    if let Some(c) = &colour {
        let parsed =
            rgb(c).ok_or_else(|| ApiError::Invalid("colour is #rrggbb, e.g. #17324d".into()))?;
        if contrast_with_white(parsed) < 450 {
            return Err(ApiError::Invalid(
                "colour is too light for white text (contrast below 4.5:1); choose a darker one"
                    .into(),
            ));
        }
    }
    let logo_url = clean(b.logo_url, 300, "logo_url")?;
    if let Some(u) = &logo_url
        && (!u.starts_with('/') || u.starts_with("//") || u.contains(['"', '<', '>', ' ']))
    {
        return Err(ApiError::Invalid(
            "logo_url is a path on this server, e.g. /static/logo.png (pages load nothing from other sites)"
                .into(),
        ));
    }
    let contact_email = clean(b.contact_email, 254, "contact_email")?;
    if let Some(e) = &contact_email
        && !e.contains('@')
    {
        return Err(ApiError::Invalid(
            "contact_email is an email address".into(),
        ));
    }
    Ok(Branding {
        colour,
        contact_phone: clean(b.contact_phone, 40, "contact_phone")?,
        contact_email,
        contact_address: clean(b.contact_address, 500, "contact_address")?,
        logo_url,
        notice: clean(b.notice, 1000, "notice")?,
    })
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<Branding>,
) -> Result<Json<Branding>, ApiError> {
    let b = validate(body)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    let tenant = tx.tenant_id().uuid();
    let row = entity::ActiveModel {
        tenant_id: Set(tenant),
        id: Set(tenant),
        colour: Set(b.colour.clone()),
        contact_phone: Set(b.contact_phone.clone()),
        contact_email: Set(b.contact_email.clone()),
        contact_address: Set(b.contact_address.clone()),
        logo_url: Set(b.logo_url.clone()),
        notice: Set(b.notice.clone()),
        updated_by: Set(caller.actor.clone()),
        updated_at: Set(state.clock().now()),
    };
    entity::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([entity::Column::TenantId, entity::Column::Id])
                .update_columns([
                    entity::Column::Colour,
                    entity::Column::ContactPhone,
                    entity::Column::ContactEmail,
                    entity::Column::ContactAddress,
                    entity::Column::LogoUrl,
                    entity::Column::Notice,
                    entity::Column::UpdatedBy,
                    entity::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(tx.conn())
        .await?;
    audit::record_in(
        &tx,
        state.clock(),
        AuditEntry {
            tenant: Some(caller.tenant.id()),
            actor: caller.actor.clone(),
            action: "branding.updated".into(),
            target: None,
            outcome: Outcome::Success,
            request_id: None,
            ip: None,
            details: None,
        },
    )
    .await?;
    let saved = load(&tx).await?;
    tx.commit().await?;
    Ok(Json(saved))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_need_contrast() {
        assert!(contrast_with_white(rgb("#17324d").unwrap()) >= 450);
        assert!(contrast_with_white(rgb("#ffff00").unwrap()) < 450);
        assert!(rgb("#12345").is_none() && rgb("123456").is_none());
        assert!(
            validate(Branding {
                colour: Some("#FFEE00".into()),
                ..Branding::default()
            })
            .is_err()
        );
        assert!(
            validate(Branding {
                logo_url: Some("https://elsewhere.example/logo.png".into()),
                ..Branding::default()
            })
            .is_err()
        );
        let ok = validate(Branding {
            colour: Some("#0B4F6C".into()),
            notice: Some("  Boil water until Friday.  ".into()),
            ..Branding::default()
        })
        .unwrap();
        assert_eq!(ok.colour.as_deref(), Some("#0b4f6c"));
        assert_eq!(ok.notice.as_deref(), Some("Boil water until Friday."));
    }
}
