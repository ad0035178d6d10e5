//! Legal holds: while a hold is in force, nothing it covers is purged —
//! one account, or (association-wide) every account of the association.
//! Setting and releasing are audited; the reason stays in the hold row,
//! not in the audit log.

use crate::entity::legal_hold;
use crate::error::RetentionError;
use aqueduct_core::id::LegalHoldId;
use aqueduct_core::{AccountId, Clock};
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::{TenantTx, scoped};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};

/// What a hold covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldScope {
    /// Every account of the association.
    Association,
    /// One account.
    Account(AccountId),
}

async fn audit_hold(
    tx: &TenantTx,
    clock: &dyn Clock,
    actor: &str,
    action: &str,
    id: LegalHoldId,
    account: Option<uuid::Uuid>,
) -> Result<(), RetentionError> {
    audit::record_in(
        tx,
        clock,
        AuditEntry {
            tenant: None,
            actor: actor.to_owned(),
            action: action.into(),
            target: Some(format!("legal_hold:{id}")),
            outcome: Outcome::Success,
            request_id: None,
            ip: None,
            details: Some(serde_json::json!({
                "scope": if account.is_some() { "account" } else { "association" },
                "account_id": account,
            })),
        },
    )
    .await?;
    Ok(())
}

/// Places a hold. `actor` is who (e.g. `user:<id>`), `reason` why.
pub async fn set(
    tx: &TenantTx,
    clock: &dyn Clock,
    actor: &str,
    scope: HoldScope,
    reason: &str,
) -> Result<LegalHoldId, RetentionError> {
    if reason.trim().is_empty() {
        return Err(RetentionError::ReasonRequired);
    }
    let account = match scope {
        HoldScope::Association => None,
        HoldScope::Account(a) => {
            crate::accounts::find(tx, a)
                .await?
                .ok_or(RetentionError::NotFound("account"))?;
            Some(a.uuid())
        }
    };
    let id = LegalHoldId::new();
    legal_hold::Entity::insert(
        legal_hold::Model {
            tenant_id: tx.tenant_id().uuid(),
            id: id.uuid(),
            account_id: account,
            reason: reason.trim().to_owned(),
            set_by: actor.to_owned(),
            set_at: clock.now(),
            released_by: None,
            released_at: None,
            release_reason: None,
        }
        .into_active_model(),
    )
    .exec_without_returning(tx.conn())
    .await?;
    audit_hold(tx, clock, actor, "retention.hold.set", id, account).await?;
    Ok(id)
}

/// Releases a hold in force.
pub async fn release(
    tx: &TenantTx,
    clock: &dyn Clock,
    actor: &str,
    id: LegalHoldId,
    reason: &str,
) -> Result<(), RetentionError> {
    if reason.trim().is_empty() {
        return Err(RetentionError::ReasonRequired);
    }
    let hold = scoped::<legal_hold::Entity>(tx)
        .filter(legal_hold::Column::Id.eq(id.uuid()))
        .one(tx.conn())
        .await?
        .ok_or(RetentionError::NotFound("legal hold"))?;
    if hold.released_at.is_some() {
        return Err(RetentionError::AlreadyReleased);
    }
    let account = hold.account_id;
    let mut active = hold.into_active_model();
    active.released_by = Set(Some(actor.to_owned()));
    active.released_at = Set(Some(clock.now()));
    active.release_reason = Set(Some(reason.trim().to_owned()));
    active.update(tx.conn()).await?;
    audit_hold(tx, clock, actor, "retention.hold.release", id, account).await?;
    Ok(())
}

/// Holds in force, oldest first.
pub async fn active(tx: &TenantTx) -> Result<Vec<legal_hold::Model>, RetentionError> {
    Ok(scoped::<legal_hold::Entity>(tx)
        .filter(legal_hold::Column::ReleasedAt.is_null())
        .order_by_asc(legal_hold::Column::Id)
        .all(tx.conn())
        .await?)
}

/// Every hold, in force or released, oldest first.
pub async fn all(tx: &TenantTx) -> Result<Vec<legal_hold::Model>, RetentionError> {
    Ok(scoped::<legal_hold::Entity>(tx)
        .order_by_asc(legal_hold::Column::Id)
        .all(tx.conn())
        .await?)
}
