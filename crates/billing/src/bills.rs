//! One account's bill for a cycle: find the reads, derive the use, price it
//! with the stored rates. Pure reading — nothing is written here.

use crate::bulk;
use crate::consumption::{self, Consumption};
use crate::entity::{account, bill, bill_void, meter, meter_read, occupancy};
use crate::error::BillingError;
use aqueduct_core::{AccountId, BillId};
use aqueduct_rates::{
    BillCalculation, BillInput, BillingPeriod, MeterSize, ScheduleHistory, Volume,
};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
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
const ESTIMATE_PERIODS: usize = 3;

/// An estimated read of `meter` on `on` from its earlier reads (`before`,
/// ascending): the last read plus the average daily use of up to the last
/// three periods × the days since. None without at least two reads.
pub fn estimate(
    meter: &meter::Model,
    before: &[meter_read::Model],
    on: NaiveDate,
) -> Option<meter_read::Model> {
    let recent = &before[before.len().saturating_sub(ESTIMATE_PERIODS + 1)..];
    let (first, last) = (recent.first()?, recent.last()?);
    let span = (last.read_on - first.read_on).num_days();
    if recent.len() < 2 || span <= 0 || on <= last.read_on {
        return None;
    }
    let used: i64 = recent
        .windows(2)
        .map(|w| consumption::between(w[0].value, w[1].value, meter.register_digits, 1).units)
        .sum();
    let days = (on - last.read_on).num_days();
    let range = consumption::register_range(meter.register_digits);
    Some(meter_read::Model {
        tenant_id: meter.tenant_id,
        id: uuid::Uuid::nil(),
        meter_id: meter.id,
        read_on: on,
        value: (last.value + used * days / span).rem_euclid(range),
        estimated: true,
        source: "estimate".into(),
        created_at: last.created_at,
    })
}

/// One account's outcome in a batch.
#[derive(Debug, Clone)]
pub struct Drafted {
    /// The account.
    pub account: account::Model,
    /// Bills issued for the cycle so far (voided ones included).
    pub issued: i32,
    /// A bill for the cycle stands (issued and not voided).
    pub standing: bool,
    /// The bill to issue, or why there is none.
    pub draft: Result<Draft, RunException>,
}

/// Drafts the bills of a batch of accounts with a handful of queries
/// (bills of the cycle, occupancies, meters, reads), whatever its size.
pub async fn draft_batch(
    tx: &TenantTx,
    cycle: Cycle<'_>,
    batch: &[account::Model],
) -> Result<Vec<Drafted>, BillingError> {
    let backend = tx.conn().get_database_backend();
    let ids: Vec<uuid::Uuid> = batch.iter().map(|a| a.id).collect();
    let (Some(first), Some(last)) = (ids.iter().min(), ids.iter().max()) else {
        return Ok(Vec::new());
    };
    // Bills already issued for the cycle, and which are voided. Asked by
    // the batch's range of account ids (batches are keyset-ordered), not by
    // a list of a thousand ids: the range is an index condition on
    // `uq_bills_account_period` whatever the planner believes about the
    // table, whereas the list was planned (with `bills` statistics from
    // before the run) as a scan of every bill of the cycle filtered by the
    // list — a cost that grew with each batch.
    let issued = scoped::<bill::Entity>(tx)
        .filter(bill::Column::AccountId.between(*first, *last))
        .filter(bill::Column::PeriodStart.eq(cycle.start))
        .filter(bill::Column::PeriodEnd.eq(cycle.end))
        .all(tx.conn())
        .await?;
    let voided: HashSet<uuid::Uuid> = if issued.is_empty() {
        HashSet::new()
    } else {
        scoped::<bill_void::Entity>(tx)
            .filter(bulk::in_list(
                backend,
                bill_void::Column::BillId,
                issued.iter().map(|b| b.id).collect(),
            ))
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|v| v.bill_id)
            .collect()
    };
    // Where each account is served, and the meters there.
    let occupied = scoped::<occupancy::Entity>(tx)
        .filter(bulk::in_list(backend, occupancy::Column::AccountId, ids))
        .filter(occupancy::Column::EndsOn.is_null())
        .all(tx.conn())
        .await?;
    let locations: Vec<uuid::Uuid> = occupied.iter().map(|o| o.location_id).collect();
    let all_meters = if locations.is_empty() {
        Vec::new()
    } else {
        scoped::<meter::Entity>(tx)
            .filter(bulk::in_list(backend, meter::Column::LocationId, locations))
            .filter(meter::Column::Status.eq("active"))
            .order_by_asc(meter::Column::Serial)
            .all(tx.conn())
            .await?
    };
    // Meters come sorted by serial: the first at a location is its meter.
    let mut at_location: HashMap<uuid::Uuid, &meter::Model> = HashMap::new();
    for m in &all_meters {
        at_location.entry(m.location_id).or_insert(m);
    }
    let mut meter_of: HashMap<uuid::Uuid, meter::Model> = HashMap::new();
    for o in &occupied {
        if let Some(m) = at_location.get(&o.location_id) {
            let better = meter_of
                .get(&o.account_id)
                .is_none_or(|cur| m.serial < cur.serial);
            if better {
                meter_of.insert(o.account_id, (*m).clone());
            }
        }
    }
    let meter_ids: Vec<uuid::Uuid> = meter_of.values().map(|m| m.id).collect();
    let mut reads_of: HashMap<uuid::Uuid, Vec<meter_read::Model>> = HashMap::new();
    if !meter_ids.is_empty() {
        for r in scoped::<meter_read::Entity>(tx)
            .filter(bulk::in_list(
                backend,
                meter_read::Column::MeterId,
                meter_ids,
            ))
            .filter(meter_read::Column::ReadOn.lte(cycle.end))
            .order_by_asc(meter_read::Column::ReadOn)
            .all(tx.conn())
            .await?
        {
            reads_of.entry(r.meter_id).or_default().push(r);
        }
    }
    let mut issued_to: HashMap<uuid::Uuid, Vec<&bill::Model>> = HashMap::new();
    for b in &issued {
        issued_to.entry(b.account_id).or_default().push(b);
    }
    let mut out = Vec::with_capacity(batch.len());
    for acct in batch {
        let mine = issued_to.remove(&acct.id).unwrap_or_default();
        let standing = mine.iter().any(|b| !voided.contains(&b.id));
        let draft = match meter_of.get(&acct.id) {
            None => Err(exception(
                acct,
                "no_meter",
                "no active meter at the account".into(),
            )),
            Some(m) => draft_one(
                cycle,
                acct,
                m,
                reads_of.get(&m.id).map(Vec::as_slice).unwrap_or(&[]),
            ),
        };
        out.push(Drafted {
            account: acct.clone(),
            issued: i32::try_from(mine.len()).unwrap_or(i32::MAX),
            standing,
            draft,
        });
    }
    Ok(out)
}

fn exception(acct: &account::Model, kind: &'static str, detail: String) -> RunException {
    RunException {
        account_number: acct.account_number.clone(),
        kind,
        detail,
    }
}

/// Drafts one account's bill from its meter's reads up to the cycle's end
/// (ascending). Pure.
pub fn draft_one(
    cycle: Cycle<'_>,
    acct: &account::Model,
    meter: &meter::Model,
    reads: &[meter_read::Model],
) -> Result<Draft, RunException> {
    let fail = |kind: &'static str, detail: String| Err(exception(acct, kind, detail));
    let in_cycle = reads.iter().rposition(|r| r.read_on >= cycle.start);
    let (current, before) = match in_cycle {
        Some(i) => (reads[i].clone(), &reads[..i]),
        None if cycle.estimate_missing => match estimate(meter, reads, cycle.end) {
            Some(e) => (e, reads),
            None => {
                return fail(
                    "missing_read",
                    format!("no read of meter {} to estimate from", meter.serial),
                );
            }
        },
        None => {
            return fail(
                "missing_read",
                format!("no read of meter {} in the cycle", meter.serial),
            );
        }
    };
    let Some(previous) = before.last().cloned() else {
        return fail(
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
        return fail(
            "negative_use",
            format!("meter {} went backwards", meter.serial),
        );
    }
    let Some(usage) = consumption::volume(use_.units, &meter.unit) else {
        return fail("rates", format!("meter unit {:?} unknown", meter.unit));
    };
    let size = match MeterSize::from_str(&meter.size) {
        Ok(s) => s,
        Err(e) => return fail("rates", e.to_string()),
    };
    let period = match BillingPeriod::new(previous.read_on, current.read_on) {
        Ok(p) => p,
        Err(e) => return fail("rates", e.to_string()),
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
        Ok(calculation) => Ok(Draft {
            account: acct.clone(),
            meter: meter.clone(),
            previous,
            current,
            consumption: use_,
            calculation,
        }),
        Err(e) => fail("rates", e.to_string()),
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
