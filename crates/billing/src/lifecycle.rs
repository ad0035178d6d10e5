//! Account lifecycle: move-out (final read → final bill → deposit applied,
//! the rest refunded → occupancy ended → account closed), move-in (a new
//! account at a location, billed from the last read), transfer (a move-out
//! and a move-in for the same customer, the balance and deposit carried
//! over by ledger transfers), deposits, and meter change-outs.
//!
//! **Once.** A closure is one row per account (a unique key), so a second
//! move-out — a retried request, a double click — finds it and returns the
//! first final bill instead of issuing another. A change-out is one row per
//! removed meter, the same way.
//!
//! **The final bill** prices the use from the account's last billed read
//! of the meter (or its move-in read) to the final read, with the schedule
//! of the account's last bill unless the caller names one, split and
//! prorated across rate changes like any bill. It takes the next bill
//! number and posts its charge in the same transaction. Bills belong to a
//! run, so a final bill is filed under the run of its own period (found or
//! created, status `finalized`).

use crate::accounts::{self, AccountStatus, NewAccount};
use crate::bill_runs;
use crate::bills::{self, ChangeOutUse};
use crate::consumption;
use crate::entity::{
    account, account_closure, bill, bill_run, bill_void, meter, meter_change, meter_read, occupancy,
};
use crate::error::{BillingError, unique_or};
use crate::ledger::{self, EntryKind, NewEntry, gl};
use crate::meters::{self, NewMeter};
use crate::reads::{self, NewRead, ReadSource, Recorded};
use crate::true_up;
use crate::{aging, locations, rates};
use aqueduct_core::{
    AccountId, BillId, BillRunId, Clock, LocationId, MeterId, Money, RateScheduleId,
};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde::Serialize;
use std::collections::HashSet;

/// A move-out: the final read.
#[derive(Debug, Clone)]
pub struct MoveOut {
    /// Day of the final read (the occupancy's last day).
    pub read_on: NaiveDate,
    /// The final read's register value.
    pub value: i64,
    /// The meter read; by default the meter bill runs price.
    pub meter: Option<MeterId>,
    /// The tariff; by default the one of the account's last bill.
    pub schedule: Option<RateScheduleId>,
    /// Due date of the final bill; by default 20 days after the read.
    pub due_on: Option<NaiveDate>,
}

/// What closing an account did.
#[derive(Debug, Clone)]
pub struct Closed {
    /// The closure.
    pub closure: account_closure::Model,
    /// The final bill, if there was use or a charge to bill.
    pub bill: Option<bill::Model>,
    /// False when the account had already been closed this way (nothing
    /// was done again).
    pub created: bool,
}

fn conflict(msg: impl Into<String>) -> BillingError {
    BillingError::Conflict(msg.into())
}

/// Records a read (manual), accepting the same value already stored that
/// day and refusing a different one.
async fn record_read(
    tx: &TenantTx,
    clock: &dyn Clock,
    meter: &meter::Model,
    on: NaiveDate,
    value: i64,
) -> Result<(), BillingError> {
    let later = scoped::<meter_read::Entity>(tx)
        .filter(meter_read::Column::MeterId.eq(meter.id))
        .filter(meter_read::Column::ReadOn.gt(on))
        .one(tx.conn())
        .await?;
    if let Some(l) = later {
        return Err(BillingError::Invalid(format!(
            "meter {} has a later read (on {}); a final read is its last",
            meter.serial, l.read_on
        )));
    }
    let read = NewRead {
        read_on: on,
        value,
        estimated: false,
        source: ReadSource::Manual,
    };
    match reads::record(tx, clock, meter, read).await? {
        Recorded::Created { .. } | Recorded::Duplicate { .. } => Ok(()),
        Recorded::Conflict { existing_value, .. } => Err(conflict(format!(
            "meter {} already has read {existing_value} on {on}",
            meter.serial
        ))),
    }
}

/// The account's current occupancy and the meter to read there.
async fn occupancy_and_meter(
    tx: &TenantTx,
    account: AccountId,
    wanted: Option<MeterId>,
) -> Result<(occupancy::Model, meter::Model), BillingError> {
    let occupied = scoped::<occupancy::Entity>(tx)
        .filter(occupancy::Column::AccountId.eq(account.uuid()))
        .filter(occupancy::Column::EndsOn.is_null())
        .all(tx.conn())
        .await?;
    if occupied.is_empty() {
        return Err(BillingError::Invalid(
            "the account is not served at any location".into(),
        ));
    }
    let at: Vec<uuid::Uuid> = occupied.iter().map(|o| o.location_id).collect();
    let meter = match wanted {
        Some(id) => {
            let m = meters::get(tx, id).await?;
            if !at.contains(&m.location_id) || m.status != "active" {
                return Err(BillingError::Invalid(format!(
                    "meter {} is not an active meter at the account's location",
                    m.serial
                )));
            }
            m
        }
        None => scoped::<meter::Entity>(tx)
            .filter(meter::Column::LocationId.is_in(at))
            .filter(meter::Column::Status.eq("active"))
            .order_by_asc(meter::Column::Serial)
            .one(tx.conn())
            .await?
            .ok_or_else(|| {
                BillingError::Invalid("no active meter at the account's location".into())
            })?,
    };
    let occ = occupied
        .into_iter()
        .find(|o| o.location_id == meter.location_id)
        .ok_or(BillingError::NotFound)?;
    Ok((occ, meter))
}

/// The account's standing (not voided) bills of `meter`, newest read last.
async fn standing_bills(
    tx: &TenantTx,
    account: uuid::Uuid,
    meter: uuid::Uuid,
) -> Result<Vec<bill::Model>, BillingError> {
    let list = scoped::<bill::Entity>(tx)
        .filter(bill::Column::AccountId.eq(account))
        .filter(bill::Column::MeterId.eq(meter))
        .order_by_asc(bill::Column::ReadTo)
        .all(tx.conn())
        .await?;
    if list.is_empty() {
        return Ok(list);
    }
    let voided: HashSet<uuid::Uuid> = scoped::<bill_void::Entity>(tx)
        .filter(bill_void::Column::BillId.is_in(list.iter().map(|b| b.id)))
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|v| v.bill_id)
        .collect();
    Ok(list
        .into_iter()
        .filter(|b| !voided.contains(&b.id))
        .collect())
}

/// Use from `reads[0]` to the last of `reads`, step by step (each step's
/// rollover handled); an error when the register went backwards.
fn use_over(meter: &meter::Model, reads: &[meter_read::Model]) -> Result<i64, BillingError> {
    let mut units = 0_i64;
    for w in reads.windows(2) {
        let c = consumption::between(
            w[0].value,
            w[1].value,
            meter.register_digits,
            meter.multiplier,
        );
        if c.negative {
            return Err(BillingError::Invalid(format!(
                "meter {} went backwards between {} and {}",
                meter.serial, w[0].read_on, w[1].read_on
            )));
        }
        units = units.saturating_add(c.units);
    }
    Ok(units)
}

/// Issues the final bill from the last billed read to the final read.
async fn final_bill(
    tx: &TenantTx,
    clock: &dyn Clock,
    acct: &account::Model,
    occ: &occupancy::Model,
    meter: &meter::Model,
    req: &MoveOut,
) -> Result<Option<bill::Model>, BillingError> {
    let all = scoped::<meter_read::Entity>(tx)
        .filter(meter_read::Column::MeterId.eq(meter.id))
        .filter(meter_read::Column::ReadOn.lte(req.read_on))
        .order_by_asc(meter_read::Column::ReadOn)
        .all(tx.conn())
        .await?;
    let mine = bills::since_move_in(&all, occ.starts_on);
    let standing = standing_bills(tx, acct.id, meter.id).await?;
    let last_billed = standing.last();
    let start = match last_billed {
        Some(b) => mine
            .iter()
            .rposition(|r| r.read_on <= b.read_to)
            .unwrap_or(0),
        None => 0,
    };
    let reads = &mine[start..];
    let (Some(mut from), Some(to)) = (reads.first(), reads.last()) else {
        return Ok(None);
    };
    if from.read_on >= to.read_on {
        // Nothing since the last bill.
        return Ok(None);
    }
    // A final actual read after estimates trues them up (see `true_up`).
    let before_to = &mine[..mine.len() - 1];
    let measured = match before_to.last() {
        Some(prev) => true_up::measure(meter, before_to, prev, to, &standing)
            .map_err(BillingError::Invalid)?,
        None => None,
    };
    let (mut units, mut billed_units) = match &measured {
        Some(m) if m.bills.is_empty() => {
            from = m.anchor;
            (m.total.units, m.total.units)
        }
        Some(m) => {
            let net = m.total.units - m.estimated_units();
            (net.max(0), net)
        }
        None => {
            let u = use_over(meter, reads)?;
            (u, u)
        }
    };
    let mut from_on = from.read_on;
    // The first bill after a change-out carries the removed meter's use.
    let mut change: Option<ChangeOutUse> = None;
    if let Some(c) = scoped::<meter_change::Entity>(tx)
        .filter(meter_change::Column::NewMeterId.eq(meter.id))
        .one(tx.conn())
        .await?
        .filter(|c| c.changed_on == from.read_on)
    {
        let old = meters::get(tx, MeterId::from_uuid(c.old_meter_id)).await?;
        let old_reads = scoped::<meter_read::Entity>(tx)
            .filter(meter_read::Column::MeterId.eq(old.id))
            .filter(meter_read::Column::ReadOn.lte(c.changed_on))
            .order_by_asc(meter_read::Column::ReadOn)
            .all(tx.conn())
            .await?;
        change = bills::change_out_use(&c, &old, &old_reads);
    }
    if let Some(c) = &change {
        units = units.saturating_add(c.units);
        billed_units = billed_units.saturating_add(c.units);
        from_on = c.old_from_on;
    }
    let schedule = match req.schedule {
        Some(s) => s,
        None => {
            let last_run = match last_billed {
                Some(b) => Some(b.bill_run_id),
                None => scoped::<bill::Entity>(tx)
                    .filter(bill::Column::AccountId.eq(acct.id))
                    .order_by_desc(bill::Column::Number)
                    .one(tx.conn())
                    .await?
                    .map(|b| b.bill_run_id),
            };
            let run = match last_run {
                Some(r) => bill_runs::get(tx, BillRunId::from_uuid(r)).await?,
                None => {
                    return Err(BillingError::Invalid(
                        "the account has no earlier bill: name the rate schedule".into(),
                    ));
                }
            };
            RateScheduleId::from_uuid(run.schedule_id)
        }
    };
    let stored = rates::get(tx, schedule).await?;
    let mut calculation = bills::price(&stored.history, meter, from_on, to.read_on, units)
        .map_err(BillingError::Invalid)?;
    if let Some(m) = measured.as_ref().filter(|m| !m.bills.is_empty()) {
        let estimated_units = m.estimated_units();
        if m.total.units < estimated_units {
            let t = true_up::TrueUp {
                last_actual_on: m.anchor.read_on,
                last_actual_value: m.anchor.value,
                estimated_units,
                actual_units: m.total.units,
                estimated_bills: m.bills.len(),
                credit_cents: true_up::credit_cents(&stored.history, meter, m)
                    .map_err(BillingError::Invalid)?,
            };
            true_up::apply(&mut calculation, true_up::correction_line(&t, meter));
        }
    }
    let due_on = req
        .due_on
        .unwrap_or_else(|| to.read_on + chrono::Days::new(20));
    if due_on < to.read_on {
        return Err(BillingError::Invalid(
            "the final bill falls due on or after the final read".into(),
        ));
    }
    // The run of the final bill's own period.
    let run = match bill_runs::by_period(tx, from_on, to.read_on).await? {
        Some(r) => r,
        None => {
            let now = clock.now();
            bill_run::ActiveModel {
                tenant_id: Set(tx.tenant_id().uuid()),
                id: Set(BillRunId::new().uuid()),
                schedule_id: Set(schedule.uuid()),
                period_start: Set(from_on),
                period_end: Set(to.read_on),
                due_on: Set(due_on),
                status: Set("finalized".into()),
                created_at: Set(now),
                finalized_at: Set(Some(now)),
                kind: Set("final".into()),
            }
            .insert(tx.conn())
            .await?
        }
    };
    let revision = scoped::<bill::Entity>(tx)
        .filter(bill::Column::AccountId.eq(acct.id))
        .filter(bill::Column::PeriodStart.eq(run.period_start))
        .filter(bill::Column::PeriodEnd.eq(run.period_end))
        .all(tx.conn())
        .await?
        .len();
    let number = bill_runs::bump_counter(tx, 1).await?;
    let id = BillId::new();
    let total = calculation.total.cents;
    let lines = serde_json::to_string(&calculation.lines)
        .map_err(|e| BillingError::Invalid(e.to_string()))?;
    let row = bill::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(id.uuid()),
        bill_run_id: Set(run.id),
        account_id: Set(acct.id),
        meter_id: Set(meter.id),
        number: Set(number),
        revision: Set(i32::try_from(revision).unwrap_or(i32::MAX)),
        period_start: Set(run.period_start),
        period_end: Set(run.period_end),
        read_from: Set(from_on),
        read_to: Set(to.read_on),
        previous_value: Set(from.value),
        current_value: Set(to.value),
        usage_units: Set(billed_units),
        usage_unit: Set(meter.unit.clone()),
        estimated: Set(to.estimated),
        total_cents: Set(total),
        lines: Set(lines),
        due_on: Set(due_on),
        issued_at: Set(clock.now()),
    };
    bill::Entity::insert(row)
        .exec_without_returning(tx.conn())
        .await
        .map_err(|e| {
            unique_or(
                e,
                &["uq_bills_account_period", "uq_bills_number", "bills."],
                conflict("a bill for that period is being issued"),
            )
        })?;
    if total != 0 {
        let (kind, memo) = if total > 0 {
            (EntryKind::Charge, format!("Final bill {number}"))
        } else {
            (EntryKind::Credit, format!("Final bill {number} (credit)"))
        };
        ledger::post(
            tx,
            clock,
            NewEntry {
                account: AccountId::from_uuid(acct.id),
                kind,
                amount: Money::usd(total.abs()),
                effective_on: to.read_on,
                external_id: Some(format!("bill:{id}")),
                bill: Some(id),
                memo,
            },
        )
        .await?;
    }
    Ok(Some(bills::get(tx, id).await?))
}

/// How a held deposit settles a final balance: (applied, refunded). The
/// deposit pays what is owed (never more), the rest goes back; a credit
/// balance takes nothing from it.
pub fn split_deposit(held: i64, balance: i64) -> (i64, i64) {
    let held = held.max(0);
    let applied = held.min(balance.max(0));
    (applied, held - applied)
}

/// What the deposit did at a move-out: (applied, refunded) cents.
async fn settle_deposit(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    on: NaiveDate,
) -> Result<(i64, i64), BillingError> {
    let entries = ledger::for_account(tx, account).await?;
    let held = ledger::deposit_held(&entries);
    if held <= 0 {
        return Ok((0, 0));
    }
    let (applied, refunded) = split_deposit(held, aging::receivable(&entries));
    for (kind, cents, key, memo) in [
        (
            EntryKind::DepositApplied,
            applied,
            "deposit_applied",
            "Deposit applied to the final bill",
        ),
        (
            EntryKind::DepositRefund,
            refunded,
            "deposit_refund",
            "Deposit refund owed (a credit until paid out)",
        ),
    ] {
        if cents > 0 {
            ledger::post(
                tx,
                clock,
                NewEntry {
                    account,
                    kind,
                    amount: Money::usd(cents),
                    effective_on: on,
                    external_id: Some(format!("{key}:{account}")),
                    bill: None,
                    memo: memo.into(),
                },
            )
            .await?;
        }
    }
    Ok((applied, refunded))
}

async fn existing_closure(
    tx: &TenantTx,
    account: AccountId,
) -> Result<Option<account_closure::Model>, BillingError> {
    Ok(scoped::<account_closure::Entity>(tx)
        .filter(account_closure::Column::AccountId.eq(account.uuid()))
        .one(tx.conn())
        .await?)
}

async fn repeat(
    tx: &TenantTx,
    c: account_closure::Model,
    kind: &str,
    req: &MoveOut,
) -> Result<Closed, BillingError> {
    if c.kind != kind || c.closed_on != req.read_on || c.final_value != req.value {
        return Err(conflict(format!(
            "the account was closed on {} ({}, final read {})",
            c.closed_on, c.kind, c.final_value
        )));
    }
    let bill = match c.final_bill_id {
        Some(b) => Some(bills::get(tx, BillId::from_uuid(b)).await?),
        None => None,
    };
    Ok(Closed {
        closure: c,
        bill,
        created: false,
    })
}

async fn close(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    req: &MoveOut,
    kind: &'static str,
) -> Result<Closed, BillingError> {
    let acct = accounts::get(tx, account).await?;
    if let Some(c) = existing_closure(tx, account).await? {
        return repeat(tx, c, kind, req).await;
    }
    if acct.status == AccountStatus::Closed.as_str() {
        return Err(conflict("the account is closed"));
    }
    let (occ, meter) = occupancy_and_meter(tx, account, req.meter).await?;
    if req.read_on < occ.starts_on {
        return Err(BillingError::Invalid(format!(
            "the final read is before the move-in ({})",
            occ.starts_on
        )));
    }
    record_read(tx, clock, &meter, req.read_on, req.value).await?;
    let bill = final_bill(tx, clock, &acct, &occ, &meter, req).await?;
    let (applied, refunded) = if kind == "move_out" {
        settle_deposit(tx, clock, account, req.read_on).await?
    } else {
        (0, 0)
    };
    // Every occupancy of the account ends: it is closed.
    occupancy::Entity::update_many()
        .col_expr(
            occupancy::Column::EndsOn,
            sea_orm::sea_query::Expr::value(Some(req.read_on)),
        )
        .filter(occupancy::Column::TenantId.eq(tx.tenant_id().uuid()))
        .filter(occupancy::Column::AccountId.eq(account.uuid()))
        .filter(occupancy::Column::EndsOn.is_null())
        .exec(tx.conn())
        .await?;
    let now = clock.now();
    let mut active: account::ActiveModel = acct.into();
    active.status = Set(AccountStatus::Closed.as_str().into());
    active.closed_at = Set(Some(now));
    active.updated_at = Set(now);
    active.update(tx.conn()).await?;
    let closure = account_closure::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(uuid::Uuid::now_v7()),
        account_id: Set(account.uuid()),
        location_id: Set(occ.location_id),
        meter_id: Set(meter.id),
        kind: Set(kind.into()),
        closed_on: Set(req.read_on),
        final_value: Set(req.value),
        final_bill_id: Set(bill.as_ref().map(|b| b.id)),
        transferred_to: Set(None),
        deposit_applied_cents: Set(applied),
        deposit_refunded_cents: Set(refunded),
        created_at: Set(now),
    }
    .insert(tx.conn())
    .await
    .map_err(|e| {
        unique_or(
            e,
            &["uq_account_closures_account", "account_closures."],
            conflict("the account is being closed by another request"),
        )
    })?;
    Ok(Closed {
        closure,
        bill,
        created: true,
    })
}

/// Moves an account out: final read, final bill, deposit applied to the
/// balance and the rest refunded, occupancy ended, account closed
/// (`closed_at` starts the retention clock). Idempotent: the same move-out
/// again returns the first one; a different one is a conflict.
pub async fn move_out(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    req: MoveOut,
) -> Result<Closed, BillingError> {
    close(tx, clock, account, &req, "move_out").await
}

/// Who moves in.
#[derive(Debug, Clone)]
pub enum Occupant {
    /// A new account.
    New(Box<NewAccount>),
    /// An active account not served anywhere yet.
    Existing(AccountId),
}

/// A move-in.
#[derive(Debug, Clone)]
pub struct MoveIn {
    /// Who.
    pub occupant: Occupant,
    /// First day of service.
    pub on: NaiveDate,
    /// A read of the location's meter on that day; without one the next
    /// bill starts from the last read on or before it (the previous
    /// occupant's final read).
    pub read: Option<i64>,
    /// A deposit received at move-in (cents).
    pub deposit_cents: Option<i64>,
}

/// Starts service at a location that nobody occupies.
pub async fn move_in(
    tx: &TenantTx,
    clock: &dyn Clock,
    location: LocationId,
    req: MoveIn,
) -> Result<(account::Model, occupancy::Model), BillingError> {
    locations::get(tx, location).await?;
    let history = scoped::<occupancy::Entity>(tx)
        .filter(occupancy::Column::LocationId.eq(location.uuid()))
        .all(tx.conn())
        .await?;
    if history.iter().any(|o| o.ends_on.is_none()) {
        return Err(conflict(
            "the location is occupied: move the current account out first",
        ));
    }
    if let Some(last) = history.iter().filter_map(|o| o.ends_on).max()
        && req.on < last
    {
        return Err(BillingError::Invalid(format!(
            "the previous occupant moved out on {last}; move in on or after it"
        )));
    }
    let acct = match req.occupant {
        Occupant::New(new) => accounts::create(tx, clock, *new).await?,
        Occupant::Existing(id) => {
            let a = accounts::get(tx, id).await?;
            if a.status != AccountStatus::Active.as_str() {
                return Err(conflict("the account is not active"));
            }
            if !locations::current_for_account(tx, id).await?.is_empty() {
                return Err(conflict("the account is already served at a location"));
            }
            a
        }
    };
    let account = AccountId::from_uuid(acct.id);
    let occ = locations::move_in(tx, account, location, req.on).await?;
    if let Some(value) = req.read {
        let meter = scoped::<meter::Entity>(tx)
            .filter(meter::Column::LocationId.eq(location.uuid()))
            .filter(meter::Column::Status.eq("active"))
            .order_by_asc(meter::Column::Serial)
            .one(tx.conn())
            .await?
            .ok_or_else(|| BillingError::Invalid("no active meter at the location".into()))?;
        record_read(tx, clock, &meter, req.on, value).await?;
    }
    if let Some(cents) = req.deposit_cents.filter(|c| *c != 0) {
        post_deposit(
            tx,
            clock,
            account,
            cents,
            req.on,
            &format!("move_in:{}", occ.id),
        )
        .await?;
    }
    Ok((acct, occ))
}

/// A transfer: the move-out and where the customer goes.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// The final read at the old location.
    pub out: MoveOut,
    /// The new location.
    pub to: LocationId,
    /// The new account's number.
    pub new_number: accounts::AccountNumber,
    /// First day at the new location.
    pub on: NaiveDate,
    /// A read at the new location on that day.
    pub read: Option<i64>,
    /// Carry the balance (after the final bill) to the new account.
    pub carry_balance: bool,
}

/// What a transfer did.
#[derive(Debug, Clone)]
pub struct Transferred {
    /// The old account's closure (with its final bill).
    pub closed: Closed,
    /// The new account.
    pub account: account::Model,
}

/// Moves a customer to another location of the association: closes the
/// account with a final bill, opens a new one (same holder and contact) at
/// the new location, and carries the deposit — and the balance, unless
/// asked not to — over by `transfer` entries. Idempotent like a move-out.
pub async fn transfer(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    req: Transfer,
) -> Result<Transferred, BillingError> {
    if let Some(c) = existing_closure(tx, account).await? {
        let closed = repeat(tx, c, "transfer", &req.out).await?;
        let to = closed
            .closure
            .transferred_to
            .ok_or_else(|| conflict("the account was closed without a transfer"))?;
        let account = accounts::get(tx, AccountId::from_uuid(to)).await?;
        return Ok(Transferred { closed, account });
    }
    let old = accounts::get(tx, account).await?;
    locations::get(tx, req.to).await?;
    let mut closed = close(tx, clock, account, &req.out, "transfer").await?;
    if closed.closure.location_id == req.to.uuid() {
        return Err(BillingError::Invalid(
            "a transfer goes to another location".into(),
        ));
    }
    let mailing = old
        .mailing_line1
        .clone()
        .map(|line1| accounts::MailingAddress {
            line1,
            line2: old.mailing_line2.clone(),
            city: old.mailing_city.clone().unwrap_or_default(),
            state: old.mailing_state.clone().unwrap_or_default(),
            postal_code: old.mailing_postal_code.clone().unwrap_or_default(),
        });
    let (new, _) = move_in(
        tx,
        clock,
        req.to,
        MoveIn {
            occupant: Occupant::New(Box::new(NewAccount {
                number: req.new_number,
                holder_name: old.holder_name.clone(),
                email: old.email.clone(),
                phone: old.phone.clone(),
                mailing,
                opened_on: req.on,
                paperless: old.paperless,
            })),
            on: req.on,
            read: req.read,
            deposit_cents: None,
        },
    )
    .await?;
    let to = AccountId::from_uuid(new.id);
    let entries = ledger::for_account(tx, account).await?;
    let key = format!("transfer:{}", closed.closure.id);
    ledger::transfer(
        tx,
        clock,
        account,
        to,
        gl::DEPOSITS,
        ledger::deposit_held(&entries),
        req.out.read_on,
        &format!("{key}:deposit"),
        &format!("Deposit carried from account {}", old.account_number),
    )
    .await?;
    if req.carry_balance {
        ledger::transfer(
            tx,
            clock,
            account,
            to,
            gl::RECEIVABLE,
            aging::receivable(&entries),
            req.out.read_on,
            &format!("{key}:balance"),
            &format!("Balance carried from account {}", old.account_number),
        )
        .await?;
    }
    let mut active: account_closure::ActiveModel = closed.closure.clone().into();
    active.transferred_to = Set(Some(new.id));
    closed.closure = active.update(tx.conn()).await?;
    Ok(Transferred {
        closed,
        account: new,
    })
}

// --- Deposits ------------------------------------------------------------

/// Posts a deposit received (`cents` > 0), idempotent on `external_id`.
pub async fn post_deposit(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    cents: i64,
    on: NaiveDate,
    external_id: &str,
) -> Result<ledger::Posted, BillingError> {
    let acct = accounts::get(tx, account).await?;
    if acct.status == AccountStatus::Closed.as_str() {
        return Err(conflict("the account is closed"));
    }
    ledger::post(
        tx,
        clock,
        NewEntry {
            account,
            kind: EntryKind::Deposit,
            amount: Money::usd(cents),
            effective_on: on,
            external_id: Some(format!("deposit:{external_id}")),
            bill: None,
            memo: "Deposit received".into(),
        },
    )
    .await
}

/// An account's deposit: held now, and the entries that moved it.
#[derive(Debug, Clone, Serialize)]
pub struct DepositView {
    /// Held now (cents).
    pub held_cents: i64,
    /// Received (cents).
    pub received_cents: i64,
    /// Applied to the balance (cents).
    pub applied_cents: i64,
    /// Refunded (cents).
    pub refunded_cents: i64,
}

/// Sums an account's deposit entries.
pub fn deposit_view(entries: &[crate::entity::ledger_entry::Model]) -> DepositView {
    let sum = |kind: EntryKind| -> i64 {
        entries
            .iter()
            .filter(|e| e.kind == kind.as_str())
            .map(|e| e.amount_cents)
            .sum()
    };
    DepositView {
        held_cents: ledger::deposit_held(entries),
        received_cents: sum(EntryKind::Deposit),
        applied_cents: sum(EntryKind::DepositApplied),
        refunded_cents: sum(EntryKind::DepositRefund),
    }
}

/// The deposit entries of an account (received, applied, refunded,
/// transferred, and their reversals), in posting order.
pub fn deposit_entries(
    entries: Vec<crate::entity::ledger_entry::Model>,
) -> Vec<crate::entity::ledger_entry::Model> {
    entries
        .into_iter()
        .filter(|e| e.debit == gl::DEPOSITS || e.credit == gl::DEPOSITS)
        .collect()
}

// --- Occupancy history -----------------------------------------------------

/// Who occupied a location when, oldest first.
pub async fn occupancy_history(
    tx: &TenantTx,
    location: LocationId,
) -> Result<Vec<occupancy::Model>, BillingError> {
    locations::get(tx, location).await?;
    Ok(scoped::<occupancy::Entity>(tx)
        .filter(occupancy::Column::LocationId.eq(location.uuid()))
        .order_by_asc(occupancy::Column::StartsOn)
        .order_by_asc(occupancy::Column::Id)
        .all(tx.conn())
        .await?)
}

// --- Meter change-out --------------------------------------------------------

/// A change-out: the old meter's final read and the new meter.
#[derive(Debug, Clone)]
pub struct ChangeOut {
    /// Day of the change.
    pub on: NaiveDate,
    /// The old meter's final read.
    pub old_final: i64,
    /// The new meter's serial.
    pub serial: String,
    /// Its size; by default the old meter's.
    pub size: Option<String>,
    /// Its unit; by default the old meter's.
    pub unit: Option<String>,
    /// Its register digits; by default the old meter's.
    pub register_digits: Option<i16>,
    /// Its multiplier; by default the old meter's.
    pub multiplier: Option<i32>,
    /// Its initial read.
    pub new_initial: i64,
}

/// Removes a meter with its final read and installs a new one with its
/// initial read on the same day. The next bill's use is the old meter's
/// (final − last billed) plus the new one's (current − initial), each with
/// its multiplier and rollover. Idempotent per old meter.
pub async fn change_out(
    tx: &TenantTx,
    clock: &dyn Clock,
    old: MeterId,
    req: ChangeOut,
) -> Result<(meter_change::Model, meter::Model, bool), BillingError> {
    let old = meters::get(tx, old).await?;
    if let Some(c) = scoped::<meter_change::Entity>(tx)
        .filter(meter_change::Column::OldMeterId.eq(old.id))
        .one(tx.conn())
        .await?
    {
        let new = meters::get(tx, MeterId::from_uuid(c.new_meter_id)).await?;
        if c.changed_on != req.on
            || c.old_final_value != req.old_final
            || new.serial != req.serial.trim()
        {
            return Err(conflict(format!(
                "meter {} was changed out on {} for {}",
                old.serial, c.changed_on, new.serial
            )));
        }
        return Ok((c, new, false));
    }
    if old.status != "active" {
        return Err(conflict(format!("meter {} is not active", old.serial)));
    }
    if req.on < old.installed_on {
        return Err(BillingError::Invalid(
            "the change is before the meter was installed".into(),
        ));
    }
    record_read(tx, clock, &old, req.on, req.old_final).await?;
    let new = meters::create(
        tx,
        NewMeter {
            location: LocationId::from_uuid(old.location_id),
            serial: req.serial,
            size: req.size.unwrap_or_else(|| old.size.clone()),
            unit: req.unit.unwrap_or_else(|| old.unit.clone()),
            register_digits: req.register_digits.unwrap_or(old.register_digits),
            multiplier: req.multiplier.unwrap_or(old.multiplier),
            installed_on: req.on,
        },
    )
    .await?;
    record_read(tx, clock, &new, req.on, req.new_initial).await?;
    let mut active: meter::ActiveModel = old.clone().into();
    active.status = Set("removed".into());
    active.removed_on = Set(Some(req.on));
    active.update(tx.conn()).await?;
    let change = meter_change::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(uuid::Uuid::now_v7()),
        location_id: Set(old.location_id),
        old_meter_id: Set(old.id),
        new_meter_id: Set(new.id),
        changed_on: Set(req.on),
        old_final_value: Set(req.old_final),
        new_initial_value: Set(req.new_initial),
        created_at: Set(clock.now()),
    }
    .insert(tx.conn())
    .await
    .map_err(|e| {
        unique_or(
            e,
            &[
                "uq_meter_changes_old",
                "uq_meter_changes_new",
                "meter_changes.",
            ],
            conflict("the meter is being changed out by another request"),
        )
    })?;
    Ok((change, new, true))
}

/// The change-out that installed `meter`, if any.
pub async fn change_installing(
    tx: &TenantTx,
    meter: uuid::Uuid,
) -> Result<Option<meter_change::Model>, BillingError> {
    Ok(scoped::<meter_change::Entity>(tx)
        .filter(meter_change::Column::NewMeterId.eq(meter))
        .one(tx.conn())
        .await?)
}

/// An account's closure, if it was closed by a move-out or transfer.
pub async fn closure(
    tx: &TenantTx,
    account: AccountId,
) -> Result<Option<account_closure::Model>, BillingError> {
    existing_closure(tx, account).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_deposit_pays_the_balance_and_the_rest_goes_back() {
        assert_eq!(split_deposit(15_000, 10_995), (10_995, 4_005));
        assert_eq!(split_deposit(5_000, 8_000), (5_000, 0));
        assert_eq!(split_deposit(5_000, -300), (0, 5_000));
        assert_eq!(split_deposit(0, 1_000), (0, 0));
    }

    proptest! {
        #[test]
        fn applied_plus_refunded_is_the_deposit(held in 0_i64..10_000_000,
                                                balance in -10_000_000_i64..10_000_000) {
            let (applied, refunded) = split_deposit(held, balance);
            prop_assert_eq!(applied + refunded, held);
            prop_assert!(applied >= 0 && refunded >= 0);
            prop_assert!(applied <= balance.max(0));
            // The balance left is never pushed below zero by the deposit.
            prop_assert!(balance - applied >= balance.min(0));
        }
    }
}
