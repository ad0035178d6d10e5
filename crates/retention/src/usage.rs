//! Usage data past its period (`usage_years` after the account closed):
//! kept only in anonymised aggregate.
//!
//! For each closed account past the period and not under a legal hold, once:
//! - its bills (voided ones left out) are added to `usage_aggregates`, one
//!   row per month (of the read that closed the bill, as in the
//!   consumption report) and rate class — the meter size and unit, which is
//!   what the consumption report groups by (rate schedules carry no class
//!   of their own) — holding bills, use, billed amount and how many
//!   accounts it covers; no account id and no person;
//! - the account is listed in `usage_aggregated_accounts`, so the
//!   consumption report counts it from the aggregate and no longer from its
//!   bills (the totals stay the same);
//! - its meter reads are deleted: the reads of the meters at the locations
//!   it occupied, within its occupancy, and of the meters on its bills,
//!   within the bills' read periods — except each meter's latest read,
//!   which the next bill of that meter starts from.
//!
//! Bills themselves are financial documents, append-only in the database,
//! and stay with the ledger; once the account is anonymised they name no
//! one (the account step replaces the holder and hashes the number).

use aqueduct_billing::entity::{
    bill, bill_void, meter, meter_read, occupancy, usage_aggregate, usage_aggregated_account,
};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

const CHUNK: usize = 500;

/// What the usage pass changed (or, in a dry run, would).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UsagePurge {
    /// Accounts whose usage went into the aggregate.
    pub accounts: u64,
    /// Their bills counted in it.
    pub bills: u64,
    /// Aggregate rows written or added to.
    pub aggregate_rows: u64,
    /// Meter reads deleted.
    pub meter_reads: u64,
}

impl UsagePurge {
    /// (name, rows) pairs for reports and the audit entry.
    pub fn steps(&self) -> Vec<(String, u64)> {
        [
            ("usage_accounts", self.accounts),
            ("usage_bills", self.bills),
            ("usage_aggregates", self.aggregate_rows),
            ("meter_reads", self.meter_reads),
        ]
        .into_iter()
        .map(|(n, c)| (n.to_owned(), c))
        .collect()
    }
}

/// Accounts of the transaction's association already aggregated.
pub async fn aggregated(tx: &TenantTx) -> Result<HashSet<Uuid>, DbErr> {
    Ok(scoped::<usage_aggregated_account::Entity>(tx)
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|a| a.account_id)
        .collect())
}

#[derive(Default)]
struct Group {
    accounts: HashSet<Uuid>,
    bills: i64,
    usage: i64,
    billed: i64,
}

/// Aggregates the usage of `accounts` (closed, past the period, not held,
/// not aggregated before) and deletes their meter reads.
pub async fn aggregate(
    tx: &TenantTx,
    now: DateTime<Utc>,
    years: u32,
    accounts: &[Uuid],
) -> Result<UsagePurge, DbErr> {
    let mut out = UsagePurge::default();
    if accounts.is_empty() {
        return Ok(out);
    }
    let tenant = tx.tenant_id().uuid();
    let meters: HashMap<Uuid, meter::Model> = scoped::<meter::Entity>(tx)
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let voided: HashSet<Uuid> = scoped::<bill_void::Entity>(tx)
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|v| v.bill_id)
        .collect();
    let mut bills = Vec::new();
    for part in accounts.chunks(CHUNK) {
        bills.extend(
            scoped::<bill::Entity>(tx)
                .filter(bill::Column::AccountId.is_in(part.iter().copied()))
                .all(tx.conn())
                .await?,
        );
    }
    // Read ranges per meter whose reads belong to these accounts.
    let mut ranges: Vec<(Uuid, NaiveDate, NaiveDate)> = Vec::new();
    let mut groups: BTreeMap<(String, String, String), Group> = BTreeMap::new();
    for b in &bills {
        ranges.push((b.meter_id, b.read_from, b.read_to));
        if voided.contains(&b.id) {
            continue;
        }
        let key = (
            b.read_to.format("%Y-%m").to_string(),
            meters
                .get(&b.meter_id)
                .map(|m| m.size.clone())
                .unwrap_or_default(),
            b.usage_unit.clone(),
        );
        let g = groups.entry(key).or_default();
        g.accounts.insert(b.account_id);
        g.bills += 1;
        g.usage += b.usage_units;
        g.billed += b.total_cents;
        out.bills += 1;
    }
    let mut stays = Vec::new();
    for part in accounts.chunks(CHUNK) {
        stays.extend(
            scoped::<occupancy::Entity>(tx)
                .filter(occupancy::Column::AccountId.is_in(part.iter().copied()))
                .all(tx.conn())
                .await?,
        );
    }
    for o in &stays {
        let end = o.ends_on.unwrap_or(now.date_naive());
        for m in meters.values().filter(|m| m.location_id == o.location_id) {
            ranges.push((m.id, o.starts_on, end));
        }
    }

    // Add to the aggregate (one row per month and rate class).
    let existing: HashMap<(String, String, String), usage_aggregate::Model> =
        scoped::<usage_aggregate::Entity>(tx)
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|a| ((a.month.clone(), a.meter_size.clone(), a.unit.clone()), a))
            .collect();
    for (key, g) in groups {
        let n_accounts = i32::try_from(g.accounts.len()).unwrap_or(i32::MAX);
        let n_bills = i32::try_from(g.bills).unwrap_or(i32::MAX);
        match existing.get(&key) {
            Some(row) => {
                let mut a = row.clone().into_active_model();
                a.accounts = Set(row.accounts.saturating_add(n_accounts));
                a.bills = Set(row.bills.saturating_add(n_bills));
                a.usage_units = Set(row.usage_units + g.usage);
                a.billed_cents = Set(row.billed_cents + g.billed);
                a.updated_at = Set(now);
                a.update(tx.conn()).await?;
            }
            None => {
                let (month, meter_size, unit) = key;
                usage_aggregate::Entity::insert(
                    usage_aggregate::Model {
                        tenant_id: tenant,
                        id: Uuid::now_v7(),
                        month,
                        meter_size,
                        unit,
                        accounts: n_accounts,
                        bills: n_bills,
                        usage_units: g.usage,
                        billed_cents: g.billed,
                        updated_at: now,
                    }
                    .into_active_model(),
                )
                .exec_without_returning(tx.conn())
                .await?;
            }
        }
        out.aggregate_rows += 1;
    }
    for id in accounts {
        usage_aggregated_account::Entity::insert(
            usage_aggregated_account::Model {
                tenant_id: tenant,
                id: Uuid::now_v7(),
                account_id: *id,
                aggregated_at: now,
                policy_years: i32::try_from(years).unwrap_or(i32::MAX),
            }
            .into_active_model(),
        )
        .exec_without_returning(tx.conn())
        .await?;
        out.accounts += 1;
    }

    // The per-account reads, each meter's latest one kept.
    let mut by_meter: HashMap<Uuid, Vec<(NaiveDate, NaiveDate)>> = HashMap::new();
    for (m, from, to) in ranges {
        by_meter.entry(m).or_default().push((from, to));
    }
    let touched: Vec<Uuid> = by_meter.keys().copied().collect();
    let mut doomed = Vec::new();
    for part in touched.chunks(CHUNK) {
        let reads = scoped::<meter_read::Entity>(tx)
            .filter(meter_read::Column::MeterId.is_in(part.iter().copied()))
            .all(tx.conn())
            .await?;
        let mut latest: HashMap<Uuid, (NaiveDate, Uuid)> = HashMap::new();
        for r in &reads {
            let e = latest.entry(r.meter_id).or_insert((r.read_on, r.id));
            if (r.read_on, r.id) > *e {
                *e = (r.read_on, r.id);
            }
        }
        for r in reads {
            if latest.get(&r.meter_id).is_some_and(|l| l.1 == r.id) {
                continue;
            }
            let inside = by_meter.get(&r.meter_id).is_some_and(|rs| {
                rs.iter()
                    .any(|(from, to)| r.read_on >= *from && r.read_on <= *to)
            });
            if inside {
                doomed.push(r.id);
            }
        }
    }
    for part in doomed.chunks(CHUNK) {
        out.meter_reads += meter_read::Entity::delete_many()
            .filter(meter_read::Column::TenantId.eq(tenant))
            .filter(meter_read::Column::Id.is_in(part.iter().copied()))
            .exec(tx.conn())
            .await?
            .rows_affected;
    }
    Ok(out)
}
