//! The directory of associations: create, resolve by slug or id, list.
//! The `tenants` table is the one place every request may read without a
//! tenant context (it is how a request finds its tenant).

use crate::ctx::{TenantCtx, TenantStatus};
use crate::db::{Db, PlatformTx};
use crate::entity::tenant;
use crate::error::{TenantError, is_unique_violation};
use aqueduct_core::{Clock, Slug, TenantId};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

/// What it takes to create an association.
#[derive(Debug, Clone)]
pub struct NewTenant {
    /// URL name.
    pub slug: Slug,
    /// Display name.
    pub name: String,
    /// IANA time zone, e.g. `America/Denver`.
    pub time_zone: String,
    /// Starting status.
    pub status: TenantStatus,
}

/// Checks that `tz` names an IANA time zone.
pub fn validate_time_zone(tz: &str) -> Result<(), TenantError> {
    tz.parse::<chrono_tz::Tz>()
        .map(|_| ())
        .map_err(|_| TenantError::Invalid(format!("unknown time zone {tz:?}")))
}

/// Creates an association. A taken slug is reported as
/// [`TenantError::SlugTaken`] from the unique constraint, not a pre-check.
pub async fn create(db: &Db, clock: &dyn Clock, new: NewTenant) -> Result<TenantCtx, TenantError> {
    validate_time_zone(&new.time_zone)?;
    let name = new.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(TenantError::Invalid(
            "the association name is 1 to 200 characters".into(),
        ));
    }
    let now = clock.now();
    let model = tenant::ActiveModel {
        id: Set(TenantId::new().uuid()),
        slug: Set(new.slug.as_str().to_owned()),
        name: Set(name.to_owned()),
        time_zone: Set(new.time_zone),
        status: Set(new.status.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        staff_totp_required: Set(false),
    };
    match model.insert(db.maintenance()).await {
        Ok(m) => Ok(TenantCtx::from_model(m)?),
        Err(e) if is_unique_violation(&e, &["tenants.slug", "slug"]) => Err(TenantError::SlugTaken),
        Err(e) => Err(e.into()),
    }
}

/// Resolves an association by slug.
pub async fn by_slug(db: &Db, slug: &str) -> Result<Option<TenantCtx>, DbErr> {
    tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug))
        .one(db.maintenance())
        .await?
        .map(TenantCtx::from_model)
        .transpose()
}

/// Resolves an association by id.
pub async fn by_id(db: &Db, id: TenantId) -> Result<Option<TenantCtx>, DbErr> {
    tenant::Entity::find_by_id(id.uuid())
        .one(db.maintenance())
        .await?
        .map(TenantCtx::from_model)
        .transpose()
}

/// Changes an association's status (operator action; audit it in the caller's
/// platform transaction).
pub async fn set_status(
    tx: &PlatformTx,
    clock: &dyn Clock,
    id: TenantId,
    status: TenantStatus,
) -> Result<bool, DbErr> {
    let res = tenant::Entity::update_many()
        .col_expr(tenant::Column::Status, status.as_str().into())
        .col_expr(tenant::Column::UpdatedAt, clock.now().into())
        .filter(tenant::Column::Id.eq(id.uuid()))
        .exec(tx.conn())
        .await?;
    Ok(res.rows_affected == 1)
}

/// Every association, by slug (platform path only).
pub async fn list(tx: &PlatformTx) -> Result<Vec<TenantCtx>, DbErr> {
    tenant::Entity::find()
        .order_by_asc(tenant::Column::Slug)
        .all(tx.conn())
        .await?
        .into_iter()
        .map(TenantCtx::from_model)
        .collect()
}
