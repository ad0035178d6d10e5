//! One account's bill for a cycle: find the reads, derive the use, price it
//! with the stored rates. Pure reading — nothing is written here.

use crate::bulk;
use crate::consumption::{self, Consumption};
use crate::entity::{account, bill, bill_void, meter, meter_change, meter_read, occupancy};
use crate::error::BillingError;
use crate::true_up::{self, TrueUp};
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
    /// Use of a meter removed since the last bill (a change-out), included
    /// in `consumption`.
    pub change_out: Option<ChangeOutUse>,
    /// The estimates an actual read trued up (see [`crate::true_up`]).
    pub true_up: Option<TrueUp>,
}

impl Draft {
    /// Units the bill adds to what was billed before: the use priced, or,
    /// when estimates are trued up, `actual − estimated` (negative after an
    /// over-estimate).
    pub fn billed_units(&self) -> i64 {
        match &self.true_up {
            Some(t) => t.net_units(),
            None => self.consumption.units,
        }
    }
}

/// The removed meter's part of a bill after a change-out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeOutUse {
    /// The removed meter's serial.
    pub old_serial: String,
    /// Day of its last billed read.
    pub old_from_on: NaiveDate,
    /// Its last billed read.
    pub old_from_value: i64,
    /// Its final read.
    pub old_final_value: i64,
    /// Day of the change.
    pub changed_on: NaiveDate,
    /// Its use (after its multiplier, rollover handled).
    pub units: i64,
}

/// How a missing read is estimated (the association's setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum EstimateRule {
    /// The last read plus the average daily use of the last `periods`
    /// periods × the days since.
    Average {
        /// Periods averaged (1–12).
        periods: usize,
    },
    /// The last read plus the daily use of the same days a year earlier;
    /// the average of the last three periods when there is no such year.
    LastYear,
}

impl Default for EstimateRule {
    fn default() -> Self {
        EstimateRule::Average {
            periods: ESTIMATE_PERIODS,
        }
    }
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
    /// Estimate a missing read (by `estimate`).
    pub estimate_missing: bool,
    /// How to estimate.
    pub estimate: EstimateRule,
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
    estimate_average(meter, before, on, ESTIMATE_PERIODS)
}

/// An estimated read of `meter` on `on` by `rule` from its earlier reads
/// (`before`, ascending). None when there is too little history.
pub fn estimate_with(
    rule: EstimateRule,
    meter: &meter::Model,
    before: &[meter_read::Model],
    on: NaiveDate,
) -> Option<meter_read::Model> {
    match rule {
        EstimateRule::Average { periods } => {
            estimate_average(meter, before, on, periods.clamp(1, 12))
        }
        EstimateRule::LastYear => estimate_last_year(meter, before, on)
            .or_else(|| estimate_average(meter, before, on, ESTIMATE_PERIODS)),
    }
}

fn estimated_read(
    meter: &meter::Model,
    last: &meter_read::Model,
    on: NaiveDate,
    used: i64,
    span: i64,
) -> meter_read::Model {
    let days = (on - last.read_on).num_days();
    let range = consumption::register_range(meter.register_digits);
    meter_read::Model {
        tenant_id: meter.tenant_id,
        id: uuid::Uuid::nil(),
        meter_id: meter.id,
        read_on: on,
        value: (last.value + used * days / span).rem_euclid(range),
        estimated: true,
        source: "estimate".into(),
        created_at: last.created_at,
    }
}

/// Same days a year earlier: the reads closest to (last read − 1 year)
/// and (`on` − 1 year), at least 20 days apart, give the daily use.
fn estimate_last_year(
    meter: &meter::Model,
    before: &[meter_read::Model],
    on: NaiveDate,
) -> Option<meter_read::Model> {
    let last = before.last()?;
    if on <= last.read_on {
        return None;
    }
    let year_ago = |d: NaiveDate| d.checked_sub_months(chrono::Months::new(12));
    let (from, to) = (year_ago(last.read_on)?, year_ago(on)?);
    let nearest = |d: NaiveDate| {
        before
            .iter()
            .enumerate()
            .filter(|(_, r)| (r.read_on - d).num_days().abs() <= 20)
            .min_by_key(|(_, r)| (r.read_on - d).num_days().abs())
            .map(|(i, _)| i)
    };
    let (i, j) = (nearest(from)?, nearest(to)?);
    if j <= i {
        return None;
    }
    let span = (before[j].read_on - before[i].read_on).num_days();
    if span < 20 {
        return None;
    }
    let used: i64 = before[i..=j]
        .windows(2)
        .map(|w| consumption::between(w[0].value, w[1].value, meter.register_digits, 1).units)
        .sum();
    Some(estimated_read(meter, last, on, used, span))
}

fn estimate_average(
    meter: &meter::Model,
    before: &[meter_read::Model],
    on: NaiveDate,
    periods: usize,
) -> Option<meter_read::Model> {
    let recent = &before[before.len().saturating_sub(periods + 1)..];
    let (first, last) = (recent.first()?, recent.last()?);
    let span = (last.read_on - first.read_on).num_days();
    if recent.len() < 2 || span <= 0 || on <= last.read_on {
        return None;
    }
    let used: i64 = recent
        .windows(2)
        .map(|w| consumption::between(w[0].value, w[1].value, meter.register_digits, 1).units)
        .sum();
    Some(estimated_read(meter, last, on, used, span))
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
    let voided = voided_among(tx, &issued).await?;
    // Where each account is served, and the meters there.
    let occupied = scoped::<occupancy::Entity>(tx)
        .filter(bulk::in_list(backend, occupancy::Column::AccountId, ids))
        .filter(occupancy::Column::EndsOn.is_null())
        .all(tx.conn())
        .await?;
    let locations: Vec<uuid::Uuid> = occupied.iter().map(|o| o.location_id).collect();
    // Locations someone moved out of: only there does an occupant's
    // move-in day cut the reads they are billed from. (An account imported
    // or opened at a location nobody left is billed from its meter's
    // reads, whatever day the account was opened in Aqueduct.)
    let moved_out: HashSet<uuid::Uuid> = if locations.is_empty() {
        HashSet::new()
    } else {
        scoped::<occupancy::Entity>(tx)
            .filter(bulk::in_list(
                backend,
                occupancy::Column::LocationId,
                locations.clone(),
            ))
            .filter(occupancy::Column::EndsOn.is_not_null())
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|o| o.location_id)
            .collect()
    };
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
    // Each account's meter and the day its occupancy began.
    let mut meter_of: HashMap<uuid::Uuid, (meter::Model, Option<NaiveDate>)> = HashMap::new();
    for o in &occupied {
        if let Some(m) = at_location.get(&o.location_id) {
            let better = meter_of
                .get(&o.account_id)
                .is_none_or(|(cur, _)| m.serial < cur.serial);
            if better {
                let since = moved_out.contains(&o.location_id).then_some(o.starts_on);
                meter_of.insert(o.account_id, ((*m).clone(), since));
            }
        }
    }
    let mut meter_ids: Vec<uuid::Uuid> = meter_of.values().map(|(m, _)| m.id).collect();
    // Change-outs: the meters that the batch's meters replaced.
    let mut replaced: HashMap<uuid::Uuid, (meter_change::Model, meter::Model)> = HashMap::new();
    if !meter_ids.is_empty() {
        let changes = scoped::<meter_change::Entity>(tx)
            .filter(meter_change::Column::NewMeterId.is_in(meter_ids.clone()))
            .all(tx.conn())
            .await?;
        if !changes.is_empty() {
            let old: HashMap<uuid::Uuid, meter::Model> = scoped::<meter::Entity>(tx)
                .filter(meter::Column::Id.is_in(changes.iter().map(|c| c.old_meter_id)))
                .all(tx.conn())
                .await?
                .into_iter()
                .map(|m| (m.id, m))
                .collect();
            for c in changes {
                if let Some(m) = old.get(&c.old_meter_id) {
                    meter_ids.push(m.id);
                    replaced.insert(c.new_meter_id, (c, m.clone()));
                }
            }
        }
    }
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
    // Standing bills of accounts whose meter has estimated reads: an
    // actual read after them trues them up. (Estimates are rare: most
    // batches ask nothing here.)
    let estimated: Vec<uuid::Uuid> = meter_of
        .iter()
        .filter(|(_, (m, _))| {
            reads_of
                .get(&m.id)
                .is_some_and(|rs| rs.iter().any(|r| r.estimated))
        })
        .map(|(a, _)| *a)
        .collect();
    let mut prior_of: HashMap<uuid::Uuid, Vec<bill::Model>> = HashMap::new();
    if !estimated.is_empty() {
        let rows = scoped::<bill::Entity>(tx)
            .filter(bulk::in_list(backend, bill::Column::AccountId, estimated))
            .filter(bill::Column::Estimated.eq(true))
            .order_by_asc(bill::Column::ReadTo)
            .all(tx.conn())
            .await?;
        let void = voided_among(tx, &rows).await?;
        for b in rows.into_iter().filter(|b| !void.contains(&b.id)) {
            prior_of.entry(b.account_id).or_default().push(b);
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
            Some((m, starts_on)) => {
                let all = reads_of.get(&m.id).map(Vec::as_slice).unwrap_or(&[]);
                let reads = match starts_on {
                    Some(day) => since_move_in(all, *day),
                    None => all,
                };
                let change = replaced.get(&m.id).map(|(c, old)| {
                    (
                        c,
                        old,
                        reads_of.get(&old.id).map(Vec::as_slice).unwrap_or(&[]),
                    )
                });
                let prior = prior_of.get(&acct.id).map(Vec::as_slice).unwrap_or(&[]);
                draft_one(cycle, acct, m, reads, change, prior)
            }
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

/// The reads an occupant is billed from: those from the last read on or
/// before the day they moved in (the previous occupant's final read, or
/// the move-in read) onwards. With no read by then, all of them.
pub fn since_move_in(reads: &[meter_read::Model], starts_on: NaiveDate) -> &[meter_read::Model] {
    match reads.iter().rposition(|r| r.read_on <= starts_on) {
        Some(i) => &reads[i..],
        None => reads,
    }
}

/// The removed meter's use after a change-out: from its last read before
/// the final one to the final one (both from `old_reads`, ascending).
pub fn change_out_use(
    change: &meter_change::Model,
    old: &meter::Model,
    old_reads: &[meter_read::Model],
) -> Option<ChangeOutUse> {
    let fin = old_reads
        .iter()
        .rposition(|r| r.read_on == change.changed_on)?;
    let from = old_reads[..fin].last()?;
    let c = consumption::between(
        from.value,
        old_reads[fin].value,
        old.register_digits,
        old.multiplier,
    );
    (!c.negative).then(|| ChangeOutUse {
        old_serial: old.serial.clone(),
        old_from_on: from.read_on,
        old_from_value: from.value,
        old_final_value: old_reads[fin].value,
        changed_on: change.changed_on,
        units: c.units,
    })
}

/// Drafts one account's bill from its meter's reads up to the cycle's end
/// (ascending), and, after a change-out, the removed meter's change and
/// reads; `prior` holds the account's standing estimated bills (any
/// order), which an actual read after them trues up. Pure.
pub fn draft_one(
    cycle: Cycle<'_>,
    acct: &account::Model,
    meter: &meter::Model,
    reads: &[meter_read::Model],
    change: Option<(&meter_change::Model, &meter::Model, &[meter_read::Model])>,
    prior: &[bill::Model],
) -> Result<Draft, RunException> {
    let fail = |kind: &'static str, detail: String| Err(exception(acct, kind, detail));
    let in_cycle = reads.iter().rposition(|r| r.read_on >= cycle.start);
    let (current, before) = match in_cycle {
        Some(i) => (reads[i].clone(), &reads[..i]),
        None if cycle.estimate_missing => {
            match estimate_with(cycle.estimate, meter, reads, cycle.end) {
                Some(e) => (e, reads),
                None => {
                    return fail(
                        "missing_read",
                        format!("no read of meter {} to estimate from", meter.serial),
                    );
                }
            }
        }
        None => {
            return fail(
                "missing_read",
                format!("no read of meter {} in the cycle", meter.serial),
            );
        }
    };
    let Some(mut previous) = before.last().cloned() else {
        return fail(
            "no_previous_read",
            format!("meter {} has no earlier read", meter.serial),
        );
    };
    // An actual read after estimates: measured from the last actual read.
    let measured = match true_up::measure(meter, before, &previous, &current, prior) {
        Ok(m) => m,
        Err(detail) => return fail("negative_use", detail),
    };
    let mut trued: Option<(TrueUp, Option<aqueduct_rates::LineItem>)> = None;
    let mut use_ = match &measured {
        // Estimates no bill priced: skipped, the bill starts at the
        // last actual read.
        Some(m) if m.bills.is_empty() => {
            previous = m.anchor.clone();
            m.total
        }
        Some(m) => {
            let estimated_units = m.estimated_units();
            let net = m.total.units - estimated_units;
            let credit_cents = if net < 0 {
                match true_up::credit_cents(cycle.history, meter, m) {
                    Ok(c) => c,
                    Err(e) => return fail("rates", e),
                }
            } else {
                0
            };
            let t = TrueUp {
                last_actual_on: m.anchor.read_on,
                last_actual_value: m.anchor.value,
                estimated_units,
                actual_units: m.total.units,
                estimated_bills: m.bills.len(),
                credit_cents,
            };
            let line = (net < 0).then(|| true_up::correction_line(&t, meter));
            trued = Some((t, line));
            Consumption {
                units: net.max(0),
                ..m.total
            }
        }
        None => consumption::between(
            previous.value,
            current.value,
            meter.register_digits,
            meter.multiplier,
        ),
    };
    if use_.negative {
        return fail(
            "negative_use",
            format!("meter {} went backwards", meter.serial),
        );
    }
    // The first bill after a change-out also carries the removed meter's
    // use since its last billed read.
    let change_out = change
        .filter(|(c, _, _)| previous.read_on == c.changed_on)
        .and_then(|(c, old, old_reads)| change_out_use(c, old, old_reads));
    let mut from = previous.read_on;
    if let Some(c) = &change_out {
        use_.units = use_.units.saturating_add(c.units);
        from = c.old_from_on;
    }
    match price(cycle.history, meter, from, current.read_on, use_.units) {
        Ok(mut calculation) => {
            let true_up = trued.map(|(t, line)| {
                if let Some(line) = line {
                    true_up::apply(&mut calculation, line);
                }
                t
            });
            Ok(Draft {
                account: acct.clone(),
                meter: meter.clone(),
                previous,
                current,
                consumption: use_,
                calculation,
                change_out,
                true_up,
            })
        }
        Err(e) => fail("rates", e),
    }
}

/// Prices `units` of `meter`'s unit used from `from` to `to` with the
/// tariff (split and prorated across rate changes by the rates crate).
pub fn price(
    history: &ScheduleHistory,
    meter: &meter::Model,
    from: NaiveDate,
    to: NaiveDate,
    units: i64,
) -> Result<BillCalculation, String> {
    let usage = consumption::volume(units, &meter.unit)
        .ok_or_else(|| format!("meter unit {:?} unknown", meter.unit))?;
    let size = MeterSize::from_str(&meter.size).map_err(|e| e.to_string())?;
    let period = BillingPeriod::new(from, to).map_err(|e| e.to_string())?;
    let services = history
        .in_force(period.last_day())
        .or_else(|| history.versions().first())
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
    history.calculate(&input).map_err(|e| e.to_string())
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

/// Which of `bills` were voided (one lookup, bound as an array on
/// PostgreSQL).
async fn voided_among(
    tx: &TenantTx,
    bills: &[bill::Model],
) -> Result<HashSet<uuid::Uuid>, BillingError> {
    if bills.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(scoped::<bill_void::Entity>(tx)
        .filter(bulk::in_list(
            tx.conn().get_database_backend(),
            bill_void::Column::BillId,
            bills.iter().map(|b| b.id).collect(),
        ))
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|v| v.bill_id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meter() -> meter::Model {
        meter::Model {
            tenant_id: uuid::Uuid::nil(),
            id: uuid::Uuid::nil(),
            location_id: uuid::Uuid::nil(),
            serial: "M".into(),
            size: "5/8\"".into(),
            unit: "gallons".into(),
            register_digits: 6,
            multiplier: 1,
            installed_on: "2020-01-01".parse().unwrap(),
            removed_on: None,
            status: "active".into(),
        }
    }

    fn read(on: &str, value: i64) -> meter_read::Model {
        meter_read::Model {
            tenant_id: uuid::Uuid::nil(),
            id: uuid::Uuid::now_v7(),
            meter_id: uuid::Uuid::nil(),
            read_on: on.parse().unwrap(),
            value,
            estimated: false,
            source: "manual".into(),
            created_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn last_year_uses_the_same_days_a_year_earlier() {
        // Summer last year: 9,000 gallons from 2025-06-01 to 2025-07-01
        // (30 days); this spring much less.
        let reads = [
            read("2025-06-01", 10_000),
            read("2025-07-01", 19_000),
            read("2026-05-01", 40_000),
            read("2026-06-01", 41_000),
        ];
        let on = "2026-07-01".parse().unwrap();
        let e = estimate_with(EstimateRule::LastYear, &meter(), &reads, on).unwrap();
        assert_eq!(e.value, 41_000 + 9_000);
        assert!(e.estimated && e.id.is_nil());
        // The average of the last period instead: 1,000 in 31 days.
        let a = estimate_with(EstimateRule::Average { periods: 1 }, &meter(), &reads, on).unwrap();
        assert_eq!(a.value, 41_000 + 1_000 * 30 / 31);
        // Without a year of history, last_year falls back to the average.
        let short = &reads[2..];
        let f = estimate_with(EstimateRule::LastYear, &meter(), short, on).unwrap();
        assert_eq!(f.value, 41_000 + 1_000 * 30 / 31);
    }

    #[test]
    fn a_move_in_starts_from_the_last_read_by_then() {
        let reads = [
            read("2026-09-28", 1),
            read("2026-10-28", 2),
            read("2026-11-15", 3),
            read("2026-11-27", 4),
        ];
        let mine = since_move_in(&reads, "2026-11-15".parse().unwrap());
        assert_eq!(mine.len(), 2);
        assert_eq!(mine[0].value, 3);
        let all = since_move_in(&reads, "2020-01-01".parse().unwrap());
        assert_eq!(all.len(), 4);
    }
}
