//! Per-association retention policies. Account information is kept while
//! the account is active and `account_years` after it closes (platform
//! default 7); an association may lengthen it but never go below the
//! configured legal minimum.

use crate::entity::retention_policy;
use crate::error::RetentionError;
use aqueduct_core::Clock;
use aqueduct_core::id::RetentionPolicyId;
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::{DateTime, Months, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel};

/// Platform-wide settings (`[retention]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Years after closure for associations without their own policy.
    pub default_years: u32,
    /// The floor no policy may go below.
    pub minimum_years: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            default_years: 7,
            minimum_years: 7,
        }
    }
}

impl Limits {
    /// The years in force for a stored value (never below the minimum).
    pub fn effective(&self, stored: Option<i32>) -> u32 {
        let years = stored
            .and_then(|y| u32::try_from(y).ok())
            .unwrap_or(self.default_years);
        years.max(self.minimum_years)
    }
}

/// The instant before which a closure is past a period of `years`.
pub fn cutoff(now: DateTime<Utc>, years: u32) -> DateTime<Utc> {
    now.checked_sub_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// When an account closed at `closed_at` leaves its retention period.
pub fn expires(closed_at: DateTime<Utc>, years: u32) -> DateTime<Utc> {
    closed_at
        .checked_add_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The association's policy row, if it has one.
pub async fn get(tx: &TenantTx) -> Result<Option<retention_policy::Model>, RetentionError> {
    Ok(scoped::<retention_policy::Entity>(tx)
        .one(tx.conn())
        .await?)
}

/// Years in force for the transaction's association.
pub async fn years(tx: &TenantTx, limits: &Limits) -> Result<u32, RetentionError> {
    Ok(limits.effective(get(tx).await?.and_then(|p| p.account_years)))
}

/// The association's row, created (with a fresh salt) when missing.
pub(crate) async fn ensure(
    tx: &TenantTx,
    clock: &dyn Clock,
    actor: &str,
) -> Result<retention_policy::Model, RetentionError> {
    if let Some(p) = get(tx).await? {
        return Ok(p);
    }
    let mut salt = [0u8; 32];
    getrandom::fill(&mut salt)
        .map_err(|e| RetentionError::Export(format!("no randomness: {e}")))?;
    let model = retention_policy::Model {
        tenant_id: tx.tenant_id().uuid(),
        id: RetentionPolicyId::new().uuid(),
        account_years: None,
        hash_salt: hex::encode(salt),
        updated_by: actor.to_owned(),
        updated_at: clock.now(),
    };
    retention_policy::Entity::insert(model.clone().into_active_model())
        .exec_without_returning(tx.conn())
        .await?;
    Ok(model)
}

/// Sets the association's period (`None`: follow the platform default).
/// Refuses a period below the minimum. Audited.
pub async fn set_years(
    tx: &TenantTx,
    clock: &dyn Clock,
    actor: &str,
    years: Option<u32>,
    limits: &Limits,
) -> Result<(), RetentionError> {
    if let Some(y) = years
        && y < limits.minimum_years
    {
        return Err(RetentionError::BelowMinimum {
            years: y,
            minimum: limits.minimum_years,
        });
    }
    let current = ensure(tx, clock, actor).await?;
    let previous = current.account_years;
    let mut active = current.into_active_model();
    active.account_years = Set(years.map(|y| i32::try_from(y).unwrap_or(i32::MAX)));
    active.updated_by = Set(actor.to_owned());
    active.updated_at = Set(clock.now());
    active.update(tx.conn()).await?;
    audit::record_in(
        tx,
        clock,
        AuditEntry {
            tenant: None,
            actor: actor.to_owned(),
            action: "retention.policy.set".into(),
            target: None,
            outcome: Outcome::Success,
            request_id: None,
            ip: None,
            details: Some(serde_json::json!({
                "account_years": years,
                "previous": previous,
                "minimum": limits.minimum_years,
            })),
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn never_below_the_minimum() {
        let l = Limits {
            default_years: 7,
            minimum_years: 5,
        };
        assert_eq!(l.effective(None), 7);
        assert_eq!(l.effective(Some(10)), 10);
        assert_eq!(l.effective(Some(3)), 5);
        assert_eq!(l.effective(Some(-1)), 7);
    }

    #[test]
    fn cutoff_is_calendar_years() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        assert_eq!(
            cutoff(now, 7),
            Utc.with_ymd_and_hms(2019, 3, 1, 0, 0, 0).unwrap()
        );
        let closed = Utc.with_ymd_and_hms(2020, 2, 29, 12, 0, 0).unwrap();
        assert_eq!(
            expires(closed, 1),
            Utc.with_ymd_and_hms(2021, 2, 28, 12, 0, 0).unwrap()
        );
    }
}
