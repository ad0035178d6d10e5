//! API keys for an association's machine clients (meter-reading systems,
//! scripts). A key is shown once; only its SHA-256 is stored.
//!
//! Format: `aqk_<tenant id, 32 hex>_<secret, 64 hex>`. The tenant part lets
//! the server open the right tenant transaction before looking the key up,
//! so authentication never needs to see other tenants' rows.

use crate::ctx::TenantCtx;
use crate::db::{Access, Db, TenantTx};
use crate::directory;
use crate::entity::api_key;
use crate::role::Role;
use aqueduct_core::{ApiKeyId, Clock, Secret, TenantId};
use chrono::Duration;
use sea_orm::sea_query::Condition;
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const PREFIX: &str = "aqk_";

/// How stale a key's stored last use may get before a request with it
/// writes the time again: a busy key costs one write every few minutes,
/// not one per request.
pub const LAST_USED_EVERY: Duration = Duration::minutes(5);

/// The identity an API key authenticates as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyPrincipal {
    /// Key id.
    pub id: ApiKeyId,
    /// Role granted.
    pub role: Role,
}

fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn generate(tenant: TenantId) -> Result<Secret, DbErr> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| DbErr::Custom(format!("no randomness for an API key: {e}")))?;
    Ok(Secret::new(format!(
        "{PREFIX}{}_{}",
        tenant.uuid().simple(),
        hex::encode(bytes)
    )))
}

/// Creates a key; returns its id and the key itself (show it once).
pub async fn create(
    tx: &TenantTx,
    clock: &dyn Clock,
    name: &str,
    role: Role,
) -> Result<(ApiKeyId, Secret), DbErr> {
    let id = ApiKeyId::new();
    let key = generate(tx.tenant_id())?;
    api_key::Entity::insert(api_key::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(id.uuid()),
        name: Set(name.to_owned()),
        role: Set(role.as_str().to_owned()),
        key_hash: Set(hash(key.expose())),
        created_at: Set(clock.now()),
        revoked_at: Set(None),
        last_used_at: Set(None),
    })
    .exec_without_returning(tx.conn())
    .await?;
    Ok((id, key))
}

/// Revokes every live key called `name` and creates a fresh one (used by
/// the demo loader, so re-running it never piles up keys).
pub async fn replace_named(
    tx: &TenantTx,
    clock: &dyn Clock,
    name: &str,
    role: Role,
) -> Result<(ApiKeyId, Secret), DbErr> {
    revoke_where(tx, clock, api_key::Column::Name.eq(name)).await?;
    create(tx, clock, name, role).await
}

/// Revokes one key. Returns whether a live key was revoked.
pub async fn revoke(tx: &TenantTx, clock: &dyn Clock, id: ApiKeyId) -> Result<bool, DbErr> {
    Ok(revoke_where(tx, clock, api_key::Column::Id.eq(id.uuid())).await? > 0)
}

async fn revoke_where(
    tx: &TenantTx,
    clock: &dyn Clock,
    filter: sea_orm::sea_query::SimpleExpr,
) -> Result<u64, DbErr> {
    let res = api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Some(clock.now()).into())
        .filter(api_key::Column::TenantId.eq(tx.tenant_id().uuid()))
        .filter(api_key::Column::RevokedAt.is_null())
        .filter(filter)
        .exec(tx.conn())
        .await?;
    Ok(res.rows_affected)
}

/// Why a presented key was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRejection {
    /// Not a key of ours, unknown or revoked.
    Invalid,
    /// The key is valid but its association is suspended or closed.
    TenantUnavailable,
}

/// Checks a presented key. Returns the tenant and principal, or why not.
/// A good key's last use is written when the stored one is older than
/// [`LAST_USED_EVERY`] (a failed write is logged; the request goes on).
pub async fn authenticate(
    db: &Db,
    clock: &dyn Clock,
    presented: &str,
) -> Result<Result<(TenantCtx, ApiKeyPrincipal), KeyRejection>, DbErr> {
    let Some(rest) = presented.strip_prefix(PREFIX) else {
        return Ok(Err(KeyRejection::Invalid));
    };
    let Some((tenant_hex, secret_hex)) = rest.split_once('_') else {
        return Ok(Err(KeyRejection::Invalid));
    };
    let (Ok(tenant_uuid), true) = (
        Uuid::try_parse(tenant_hex),
        secret_hex.len() == 64 && secret_hex.bytes().all(|b| b.is_ascii_hexdigit()),
    ) else {
        return Ok(Err(KeyRejection::Invalid));
    };
    let Some(ctx) = directory::by_id(db, TenantId::from_uuid(tenant_uuid)).await? else {
        return Ok(Err(KeyRejection::Invalid));
    };
    let tx = db.tenant_with(&ctx, Access::Read).await?;
    let row = crate::scoped::<api_key::Entity>(&tx)
        .filter(api_key::Column::KeyHash.eq(hash(presented)))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(tx.conn())
        .await?;
    tx.commit().await?;
    let Some(row) = row else {
        return Ok(Err(KeyRejection::Invalid));
    };
    if !ctx.status().allows_use() {
        return Ok(Err(KeyRejection::TenantUnavailable));
    }
    let role = row
        .role
        .parse()
        .map_err(|e: String| DbErr::Custom(format!("api key {}: {e}", row.id)))?;
    let now = clock.now();
    if row.last_used_at.is_none_or(|t| now - t >= LAST_USED_EVERY)
        && let Err(e) = touch(db, &ctx, row.id, now).await
    {
        tracing::warn!(error = %e, key = %row.id, "could not record an API key's last use");
    }
    Ok(Ok((
        ctx,
        ApiKeyPrincipal {
            id: ApiKeyId::from_uuid(row.id),
            role,
        },
    )))
}

/// Writes `now` as the key's last use unless a newer time is stored
/// (another request got there first).
async fn touch(
    db: &Db,
    ctx: &TenantCtx,
    id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    let tx = db.tenant(ctx).await?;
    api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, Some(now).into())
        .filter(api_key::Column::TenantId.eq(ctx.id().uuid()))
        .filter(api_key::Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(api_key::Column::LastUsedAt.is_null())
                .add(api_key::Column::LastUsedAt.lt(now - LAST_USED_EVERY)),
        )
        .exec(tx.conn())
        .await?;
    tx.commit().await
}
