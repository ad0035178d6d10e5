//! An association's public face: display colour, contact details, logo and
//! a notice banner. One row per association (`branding`, id = tenant id);
//! admins set it with `PUT /api/v1/branding`. The logo is either uploaded
//! ([`logo`]: `PUT /api/v1/branding/logo`, served at `/{slug}/logo`) or a
//! path on this server (`logo_url`); an uploaded one wins.

pub(crate) mod logo;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::{
    Access, BatchRows, ReadBatch, Role, Slot, TenantCtx, TenantOwned, TenantTx, scoped,
};
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
    /// The uploaded logo, if any: read-only here (ignored on `PUT`; set
    /// with `PUT /api/v1/branding/logo`).
    #[serde(default)]
    pub logo: Option<logo::UploadedLogo>,
}

impl Branding {
    /// Where pages load the logo from: the uploaded one, else `logo_url`.
    pub(crate) fn logo_src(&self) -> Option<String> {
        self.logo
            .as_ref()
            .map(|l| l.url.clone())
            .or_else(|| self.logo_url.clone())
    }

    /// The logo as an `<img>` fitting `size` CSS pixels, if there is one.
    pub(crate) fn logo_img(&self, alt: &str, size: (u32, u32)) -> Option<String> {
        let dims = self.logo.as_ref().map(|l| (l.width, l.height));
        self.logo_src()
            .map(|src| logo::img_tag(&src, dims, alt, size))
    }
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
            logo: None,
        }
    }
}

/// The association's branding as stored (empty when never set), without
/// the uploaded logo: see [`load_for`].
pub(crate) async fn load(tx: &TenantTx) -> Result<Branding, ApiError> {
    Ok(scoped::<entity::Entity>(tx)
        .one(tx.conn())
        .await?
        .map(Branding::from)
        .unwrap_or_default())
}

/// [`load`] plus the uploaded logo (its URL names the association).
pub(crate) async fn load_for(tx: &TenantTx, tenant: &TenantCtx) -> Result<Branding, ApiError> {
    let mut b = load(tx).await?;
    b.logo = logo::info(tx, tenant).await?;
    Ok(b)
}

/// The reads of [`load_for`], added to a batch.
pub(crate) struct Slots {
    stored: Slot<entity::Model>,
    logo: Slot<logo::LogoRow>,
}

/// Adds the reads of [`load_for`] to `batch`.
pub(crate) fn add_to(batch: &mut ReadBatch) -> Slots {
    Slots {
        stored: batch.add(entity::Entity::find()),
        logo: batch.add_as(logo::info_query()),
    }
}

/// [`load_for`] from a batch's answer.
pub(crate) fn from_batch(
    rows: &mut BatchRows,
    slots: Slots,
    tenant: &TenantCtx,
) -> Result<Branding, ApiError> {
    let mut b = rows
        .first(slots.stored)?
        .map(Branding::from)
        .unwrap_or_default();
    b.logo = rows.first(slots.logo)?.map(|r| logo::uploaded(r, tenant));
    Ok(b)
}

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/api/v1/branding", Role::Viewer, get(show))
        .tenant(
            Method::PUT,
            "/api/v1/branding",
            Role::Admin,
            axum::routing::put(update),
        )
        .tenant(
            Method::PUT,
            "/api/v1/branding/logo",
            Role::Admin,
            axum::routing::put(logo::upload),
        )
        .tenant(
            Method::DELETE,
            "/api/v1/branding/logo",
            Role::Admin,
            axum::routing::delete(logo::delete),
        )
        .public(Method::GET, "/{slug}/logo", get(logo::serve))
}

async fn show(State(state): State<AppState>, caller: Caller) -> Result<Json<Branding>, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let b = load_for(&tx, &caller.tenant).await?;
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

/// sRGB channel value → linear light, in millionths (WCAG 2.x formula,
/// precomputed so no floating point is needed).
const LINEAR: [u32; 256] = [
    0, 304, 607, 911, 1214, 1518, 1821, 2125, 2428, 2732, 3035, 3347, 3677, 4025, 4391, 4777, 5182,
    5605, 6049, 6512, 6995, 7499, 8023, 8568, 9134, 9721, 10330, 10960, 11612, 12286, 12983, 13702,
    14444, 15209, 15996, 16807, 17642, 18500, 19382, 20289, 21219, 22174, 23153, 24158, 25187,
    26241, 27321, 28426, 29557, 30713, 31896, 33105, 34340, 35601, 36889, 38204, 39546, 40915,
    42311, 43735, 45186, 46665, 48172, 49707, 51269, 52861, 54480, 56128, 57805, 59511, 61246,
    63010, 64803, 66626, 68478, 70360, 72272, 74214, 76185, 78187, 80220, 82283, 84376, 86500,
    88656, 90842, 93059, 95307, 97587, 99899, 102242, 104616, 107023, 109462, 111932, 114435,
    116971, 119538, 122139, 124772, 127438, 130136, 132868, 135633, 138432, 141263, 144128, 147027,
    149960, 152926, 155926, 158961, 162029, 165132, 168269, 171441, 174647, 177888, 181164, 184475,
    187821, 191202, 194618, 198069, 201556, 205079, 208637, 212231, 215861, 219526, 223228, 226966,
    230740, 234551, 238398, 242281, 246201, 250158, 254152, 258183, 262251, 266356, 270498, 274677,
    278894, 283149, 287441, 291771, 296138, 300544, 304987, 309469, 313989, 318547, 323143, 327778,
    332452, 337164, 341914, 346704, 351533, 356400, 361307, 366253, 371238, 376262, 381326, 386429,
    391572, 396755, 401978, 407240, 412543, 417885, 423268, 428690, 434154, 439657, 445201, 450786,
    456411, 462077, 467784, 473531, 479320, 485150, 491021, 496933, 502886, 508881, 514918, 520996,
    527115, 533276, 539479, 545724, 552011, 558340, 564712, 571125, 577580, 584078, 590619, 597202,
    603827, 610496, 617207, 623960, 630757, 637597, 644480, 651406, 658375, 665387, 672443, 679542,
    686685, 693872, 701102, 708376, 715694, 723055, 730461, 737910, 745404, 752942, 760525, 768151,
    775822, 783538, 791298, 799103, 806952, 814847, 822786, 830770, 838799, 846873, 854993, 863157,
    871367, 879622, 887923, 896269, 904661, 913099, 921582, 930111, 938686, 947307, 955973, 964686,
    973445, 982251, 991102, 1000000,
];

/// WCAG contrast of `colour` against white, times 100 (450 = 4.5:1),
/// truncated: a colour is accepted only when it really reaches the ratio.
fn contrast_with_white(c: [u8; 3]) -> u32 {
    let [r, g, b] = c.map(|v| u64::from(LINEAR[usize::from(v)]));
    // Relative luminance in millionths.
    let l = (2126 * r + 7152 * g + 722 * b) / 10_000;
    u32::try_from(105_000_000 / (l + 50_000)).unwrap_or(u32::MAX)
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
        // Read-only: the upload route sets it.
        logo: None,
    })
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<Branding>,
) -> Result<Json<Branding>, ApiError> {
    Ok(Json(save(&state, &caller, body).await?))
}

/// Validates and stores the branding (the JSON route and the settings
/// page share this), audited.
pub(crate) async fn save(
    state: &AppState,
    caller: &Caller,
    body: Branding,
) -> Result<Branding, ApiError> {
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
    let saved = load_for(&tx, &caller.tenant).await?;
    tx.commit().await?;
    Ok(saved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_need_contrast() {
        assert!(contrast_with_white(rgb("#17324d").unwrap()) >= 450);
        assert!(contrast_with_white(rgb("#ffff00").unwrap()) < 450);
        // The well-known boundary: #767676 is 4.54:1, #777777 is 4.48:1.
        assert!(contrast_with_white(rgb("#767676").unwrap()) >= 450);
        assert!(contrast_with_white(rgb("#777777").unwrap()) < 450);
        assert_eq!(contrast_with_white([0, 0, 0]), 2100);
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
