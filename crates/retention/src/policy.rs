//! Per-association retention policies, one period per kind of record
//! ([`Record`]): account information is kept while the account is active
//! and `account_years` after it closes; payment records `payment_years`
//! after the payment; usage data while the account is active and
//! `usage_years` after it closes, then only in anonymised aggregate. Each
//! has a platform default (7) and a configured legal minimum; an
//! association may lengthen a period but never go below its minimum.

use crate::entity::retention_policy;
use crate::error::RetentionError;
use aqueduct_core::Clock;
use aqueduct_core::id::RetentionPolicyId;
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::{DateTime, Months, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel};

/// What a retention period applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    /// Account information, counted from the account's closure.
    Account,
    /// Payment records, counted from each payment.
    Payment,
    /// Usage data (meter reads, per-account consumption), counted from the
    /// account's closure; afterwards kept only in aggregate.
    Usage,
}

impl Record {
    /// Storage and audit name.
    pub fn as_str(self) -> &'static str {
        match self {
            Record::Account => "account",
            Record::Payment => "payment",
            Record::Usage => "usage",
        }
    }
}

/// Platform-wide settings (`[retention]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Years after closure for associations without their own policy
    /// (account information).
    pub default_years: u32,
    /// The floor no account-information policy may go below.
    pub minimum_years: u32,
    /// Years after the payment, for payment records.
    pub payment_default_years: u32,
    /// The floor for payment records.
    pub payment_minimum_years: u32,
    /// Years after closure, for usage data.
    pub usage_default_years: u32,
    /// The floor for usage data.
    pub usage_minimum_years: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            default_years: 7,
            minimum_years: 7,
            payment_default_years: 7,
            payment_minimum_years: 7,
            usage_default_years: 7,
            usage_minimum_years: 7,
        }
    }
}

impl Limits {
    /// (default, minimum) years of one kind of record.
    pub fn bounds(&self, record: Record) -> (u32, u32) {
        match record {
            Record::Account => (self.default_years, self.minimum_years),
            Record::Payment => (self.payment_default_years, self.payment_minimum_years),
            Record::Usage => (self.usage_default_years, self.usage_minimum_years),
        }
    }

    /// The account-information years in force for a stored value (never
    /// below the minimum).
    pub fn effective(&self, stored: Option<i32>) -> u32 {
        self.effective_for(Record::Account, stored)
    }

    /// The years in force for a stored value of one kind of record.
    pub fn effective_for(&self, record: Record, stored: Option<i32>) -> u32 {
        let (default, minimum) = self.bounds(record);
        let years = stored
            .and_then(|y| u32::try_from(y).ok())
            .unwrap_or(default);
        years.max(minimum)
    }
}

fn stored(p: &retention_policy::Model, record: Record) -> Option<i32> {
    match record {
        Record::Account => p.account_years,
        Record::Payment => p.payment_years,
        Record::Usage => p.usage_years,
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

/// Account-information years in force for the transaction's association.
pub async fn years(tx: &TenantTx, limits: &Limits) -> Result<u32, RetentionError> {
    years_for(tx, limits, Record::Account).await
}

/// Years in force for one kind of record of the transaction's association.
pub async fn years_for(
    tx: &TenantTx,
    limits: &Limits,
    record: Record,
) -> Result<u32, RetentionError> {
    Ok(limits.effective_for(record, get(tx).await?.and_then(|p| stored(&p, record))))
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
        payment_years: None,
        usage_years: None,
        hash_salt: hex::encode(salt),
        updated_by: actor.to_owned(),
        updated_at: clock.now(),
    };
    retention_policy::Entity::insert(model.clone().into_active_model())
        .exec_without_returning(tx.conn())
        .await?;
    Ok(model)
}

/// Sets the association's account-information period (`None`: follow the
/// platform default). Refuses a period below the minimum. Audited.
pub async fn set_years(
    tx: &TenantTx,
    clock: &dyn Clock,
    actor: &str,
    years: Option<u32>,
    limits: &Limits,
) -> Result<(), RetentionError> {
    set_years_for(tx, clock, actor, Record::Account, years, limits).await
}

/// Sets the association's period for one kind of record (`None`: follow
/// the platform default). Refuses a period below its minimum. Audited.
pub async fn set_years_for(
    tx: &TenantTx,
    clock: &dyn Clock,
    actor: &str,
    record: Record,
    years: Option<u32>,
    limits: &Limits,
) -> Result<(), RetentionError> {
    let (_, minimum) = limits.bounds(record);
    if let Some(y) = years
        && y < minimum
    {
        return Err(RetentionError::BelowMinimum { years: y, minimum });
    }
    let current = ensure(tx, clock, actor).await?;
    let previous = stored(&current, record);
    let value = years.map(|y| i32::try_from(y).unwrap_or(i32::MAX));
    let mut active = current.into_active_model();
    match record {
        Record::Account => active.account_years = Set(value),
        Record::Payment => active.payment_years = Set(value),
        Record::Usage => active.usage_years = Set(value),
    }
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
                "record": record.as_str(),
                "years": years,
                "previous": previous,
                "minimum": minimum,
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
            payment_default_years: 8,
            payment_minimum_years: 6,
            ..Limits::default()
        };
        assert_eq!(l.effective(None), 7);
        assert_eq!(l.effective(Some(10)), 10);
        assert_eq!(l.effective(Some(3)), 5);
        assert_eq!(l.effective(Some(-1)), 7);
        assert_eq!(l.effective_for(Record::Payment, None), 8);
        assert_eq!(l.effective_for(Record::Payment, Some(3)), 6);
        assert_eq!(l.effective_for(Record::Usage, Some(9)), 9);
        assert_eq!(l.effective_for(Record::Usage, Some(1)), 7);
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
