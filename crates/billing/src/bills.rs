//! One account's bill for a cycle: find the reads, derive the use, price it
//! with the stored rates. Pure reading — nothing is written here.

use crate::consumption::{self, Consumption};
use crate::entity::{account, bill, bill_void, meter, meter_read};
use crate::error::BillingError;
use crate::meters;
use aqueduct_core::{AccountId, BillId};
use aqueduct_rates::{
    BillCalculation, BillInput, BillingPeriod, MeterSize, ScheduleHistory, Volume,
};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::NaiveDate;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use std::str::FromStr;

/// A bill ready to be issued.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The account.
    pub account: account::Model,
    /// The meter priced.
    pub meter: meter::Model,
    /// The read the period starts from.
    pub previous: meter_read::Model,
    /// The cycle's read (an estimate not yet stored has a nil id).
    pub current: meter_read::Model,
    /// Use between them.
    pub consumption: Consumption,
    /// The priced bill.
    pub calculation: BillCalculation,
}

/// Why an account cannot be billed in a cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunException {
    /// Account number.
    pub account_number: String,
    /// `no_meter`, `missing_read`, `no_previous_read`, `negative_use`, `rates`.
    pub kind: &'static str,
    /// Detail for people.
    pub detail: String,
}

/// The cycle's inputs for one account.
#[derive(Debug, Clone, Copy)]
pub struct Cycle<'a> {
    /// First day of the reading window.
    pub start: NaiveDate,
    /// Last day of the reading window.
    pub end: NaiveDate,
    /// The tariff.
    pub history: &'a ScheduleHistory,
    /// Estimate a missing read from the meter's average daily use.
    pub estimate_missing: bool,
}

/// Reads used for an estimate: the last this many periods.
const ESTIMATE_PERIODS: u64 = 3;

/// An estimated register value for `on`: the previous read plus the
/// average daily use of up to the last three periods × the days since.
/// None without at least two reads.
pub async fn estimate(
    tx: &TenantTx,
    meter: &meter::Model,
    on: NaiveDate,
) -> Result<Option<meter_read::Model>, BillingError> {
    let mut recent = scoped::<meter_read::Entity>(tx)
        .filter(meter_read::Column::MeterId.eq(meter.id))
        .filter(meter_read::Column::ReadOn.lt(on))
        .order_by_desc(meter_read::Column::ReadOn)
        .limit(ESTIMATE_PERIODS + 1)
        .all(tx.conn())
        .await?;
    recent.reverse();
    let (Some(first), Some(last)) = (recent.first(), recent.last()) else {
        return Ok(None);
    };
    let span = (last.read_on - first.read_on).num_days();
    if recent.len() < 2 || span <= 0 {
        return Ok(None);
    }
    let used: i64 = recent
        .windows(2)
        .map(|w| consumption::between(w[0].value, w[1].value, meter.register_digits, 1).units)
        .sum();
    let days = (on - last.read_on).num_days();
    let register_units = used * days / span;
    let range = consumption::register_range(meter.register_digits);
    Ok(Some(meter_read::Model {
        tenant_id: tx.tenant_id().uuid(),
        id: uuid::Uuid::nil(),
        meter_id: meter.id,
        read_on: on,
        value: (last.value + register_units).rem_euclid(range),
        estimated: true,
        source: "estimate".into(),
        created_at: last.created_at,
    }))
}

/// Drafts `acct`'s bill for the cycle, or says why it cannot be billed.
pub async fn draft(
    tx: &TenantTx,
    cycle: Cycle<'_>,
    acct: &account::Model,
) -> Result<Result<Draft, RunException>, BillingError> {
    let exception = |kind: &'static str, detail: String| {
        Ok(Err(RunException {
            account_number: acct.account_number.clone(),
            kind,
            detail,
        }))
    };
    let all = meters::for_account(tx, AccountId::from_uuid(acct.id)).await?;
    let Some(meter) = all.into_iter().find(|m| m.status == "active") else {
        return exception("no_meter", "no active meter at the account".into());
    };
    let current = scoped::<meter_read::Entity>(tx)
        .filter(meter_read::Column::MeterId.eq(meter.id))
        .filter(meter_read::Column::ReadOn.gte(cycle.start))
        .filter(meter_read::Column::ReadOn.lte(cycle.end))
        .order_by_desc(meter_read::Column::ReadOn)
        .one(tx.conn())
        .await?;
    let current = match current {
        Some(c) => c,
        None if cycle.estimate_missing => match estimate(tx, &meter, cycle.end).await? {
            Some(e) => e,
            None => {
                return exception(
                    "missing_read",
                    format!("no read of meter {} to estimate from", meter.serial),
                );
            }
        },
        None => {
            return exception(
                "missing_read",
                format!("no read of meter {} in the cycle", meter.serial),
            );
        }
    };
    let previous = scoped::<meter_read::Entity>(tx)
        .filter(meter_read::Column::MeterId.eq(meter.id))
        .filter(meter_read::Column::ReadOn.lt(current.read_on))
        .order_by_desc(meter_read::Column::ReadOn)
        .one(tx.conn())
        .await?;
    let Some(previous) = previous else {
        return exception(
            "no_previous_read",
            format!("meter {} has no earlier read", meter.serial),
        );
    };
    let use_ = consumption::between(
        previous.value,
        current.value,
        meter.register_digits,
        meter.multiplier,
    );
    if use_.negative {
        return exception(
            "negative_use",
            format!("meter {} went backwards", meter.serial),
        );
    }
    let Some(usage) = consumption::volume(use_.units, &meter.unit) else {
        return exception("rates", format!("meter unit {:?} unknown", meter.unit));
    };
    let size = match MeterSize::from_str(&meter.size) {
        Ok(s) => s,
        Err(e) => return exception("rates", e.to_string()),
    };
    let period = match BillingPeriod::new(previous.read_on, current.read_on) {
        Ok(p) => p,
        Err(e) => return exception("rates", e.to_string()),
    };
    let services = cycle
        .history
        .in_force(period.last_day())
        .or_else(|| cycle.history.versions().first())
        .map(|v| v.services.iter().map(|s| s.service).collect())
        .unwrap_or_default();
    let input = BillInput {
        period,
        meter_size: size,
        usage,
        carried_in: Volume::ZERO,
        winter_average: None,
        services,
    };
    match cycle.history.calculate(&input) {
        Ok(calculation) => Ok(Ok(Draft {
            account: acct.clone(),
            meter,
            previous,
            current,
            consumption: use_,
            calculation,
        })),
        Err(e) => exception("rates", e.to_string()),
    }
}

/// One bill.
pub async fn get(tx: &TenantTx, id: BillId) -> Result<bill::Model, BillingError> {
    scoped::<bill::Entity>(tx)
        .filter(bill::Column::Id.eq(id.uuid()))
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)
}

/// Whether a bill was voided.
pub async fn is_voided(tx: &TenantTx, id: BillId) -> Result<bool, BillingError> {
    Ok(scoped::<bill_void::Entity>(tx)
        .filter(bill_void::Column::BillId.eq(id.uuid()))
        .one(tx.conn())
        .await?
        .is_some())
}

/// The account's bills for a cycle: (bills issued, whether one stands —
/// issued and not voided).
pub async fn for_period(
    tx: &TenantTx,
    account: uuid::Uuid,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<(i32, bool), BillingError> {
    let rows = scoped::<bill::Entity>(tx)
        .filter(bill::Column::AccountId.eq(account))
        .filter(bill::Column::PeriodStart.eq(start))
        .filter(bill::Column::PeriodEnd.eq(end))
        .all(tx.conn())
        .await?;
    let mut standing = false;
    for b in &rows {
        if !is_voided(tx, BillId::from_uuid(b.id)).await? {
            standing = true;
        }
    }
    Ok((i32::try_from(rows.len()).unwrap_or(i32::MAX), standing))
}

/// An account's bills, newest first.
pub async fn for_account(
    tx: &TenantTx,
    account: AccountId,
) -> Result<Vec<bill::Model>, BillingError> {
    Ok(scoped::<bill::Entity>(tx)
        .filter(bill::Column::AccountId.eq(account.uuid()))
        .order_by_desc(bill::Column::Number)
        .all(tx.conn())
        .await?)
}
