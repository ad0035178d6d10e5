//! Bill runs: preview → exceptions → finalize (in transactional batches,
//! resumable, never billing an account twice) → bills; and voids.
//!
//! **Numbering without gaps.** Each batch bumps the association's counter
//! (`UPDATE bill_counters … RETURNING`) in the same transaction that
//! inserts its bills and ledger charges, so a batch commits numbers, bills
//! and charges together or none of them. The counter row stays locked until
//! commit, so concurrent runs take turns.
//!
//! **Resume and re-run.** A bill is unique per (account, cycle, revision),
//! and a batch skips accounts that already have a standing bill. A run
//! killed after batch k resumes at batch k+1 with no duplicate; running a
//! finalized cycle again bills only accounts that became billable since
//! (a read arrived), and nobody twice.

use crate::bills::{self, Cycle, Draft, RunException};
use crate::entity::{account, bill, bill_run, bill_void};
use crate::error::{BillingError, unique_or};
use crate::ledger::{self, EntryKind, NewEntry};
use crate::rates;
use aqueduct_core::{AccountId, BillId, BillRunId, Clock, LedgerEntryId, Money, RateScheduleId};
use aqueduct_tenant::{Db, TenantCtx, TenantTx, scoped};
use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde::Serialize;
use std::collections::HashMap;

/// A validated new run.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// The tariff.
    pub schedule: RateScheduleId,
    /// First day of the reading window.
    pub period_start: NaiveDate,
    /// Last day of the reading window.
    pub period_end: NaiveDate,
    /// Due date of the bills.
    pub due_on: NaiveDate,
}

/// Creates a draft run for a cycle (one run per cycle). When final bills
/// issued at move-out already filed a `final` run under the same period,
/// the cycle adopts that run (its final bills stand; every other active
/// account is billed when it is finalized) instead of being refused.
pub async fn create(
    tx: &TenantTx,
    clock: &dyn Clock,
    new: NewRun,
) -> Result<bill_run::Model, BillingError> {
    if new.period_end < new.period_start || new.due_on < new.period_end {
        return Err(BillingError::Invalid(
            "the period ends after it starts and bills fall due after it".into(),
        ));
    }
    rates::get(tx, new.schedule).await?;
    if let Some(held) = by_period(tx, new.period_start, new.period_end)
        .await?
        .filter(|r| r.kind == "final")
    {
        let mut run: bill_run::ActiveModel = held.into();
        run.kind = Set("cycle".into());
        run.status = Set("draft".into());
        run.schedule_id = Set(new.schedule.uuid());
        run.due_on = Set(new.due_on);
        run.finalized_at = Set(None);
        return Ok(run.update(tx.conn()).await?);
    }
    bill_run::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(BillRunId::new().uuid()),
        schedule_id: Set(new.schedule.uuid()),
        period_start: Set(new.period_start),
        period_end: Set(new.period_end),
        due_on: Set(new.due_on),
        status: Set("draft".into()),
        created_at: Set(clock.now()),
        finalized_at: Set(None),
        kind: Set("cycle".into()),
    }
    .insert(tx.conn())
    .await
    .map_err(|e| {
        unique_or(
            e,
            &["uq_bill_runs_period", "bill_runs."],
            BillingError::Conflict("a run for that cycle exists".into()),
        )
    })
}

/// One run.
pub async fn get(tx: &TenantTx, id: BillRunId) -> Result<bill_run::Model, BillingError> {
    scoped::<bill_run::Entity>(tx)
        .filter(bill_run::Column::Id.eq(id.uuid()))
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)
}

/// The run for a cycle, if there is one.
pub async fn by_period(
    tx: &TenantTx,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Option<bill_run::Model>, BillingError> {
    Ok(scoped::<bill_run::Entity>(tx)
        .filter(bill_run::Column::PeriodStart.eq(start))
        .filter(bill_run::Column::PeriodEnd.eq(end))
        .one(tx.conn())
        .await?)
}

/// One account's line in a preview.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewLine {
    /// Account number.
    pub account_number: String,
    /// Use in the meter's unit.
    pub usage_units: i64,
    /// Bill total in cents.
    pub total_cents: i64,
    /// Already billed in this cycle.
    pub already_billed: bool,
    /// Priced from an estimated read.
    pub estimated: bool,
}

/// What finalizing would do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Preview {
    /// Bills that would be issued (or stand already).
    pub bills: Vec<PreviewLine>,
    /// Their total in cents.
    pub total_cents: i64,
    /// Accounts that cannot be billed, and why.
    pub exceptions: Vec<RunException>,
}

async fn active_accounts(
    tx: &TenantTx,
    after: Option<uuid::Uuid>,
    limit: u64,
) -> Result<Vec<account::Model>, BillingError> {
    let mut q = scoped::<account::Entity>(tx).filter(account::Column::Status.eq("active"));
    if let Some(a) = after {
        q = q.filter(account::Column::Id.gt(a));
    }
    Ok(q.order_by_asc(account::Column::Id)
        .limit(limit)
        .all(tx.conn())
        .await?)
}

/// Computes every bill of the run without writing anything (estimating
/// missing reads when asked, without storing them).
pub async fn preview(
    tx: &TenantTx,
    id: BillRunId,
    estimate_missing: bool,
) -> Result<Preview, BillingError> {
    let run = get(tx, id).await?;
    let stored = rates::get(tx, RateScheduleId::from_uuid(run.schedule_id)).await?;
    let cycle = Cycle {
        start: run.period_start,
        end: run.period_end,
        history: &stored.history,
        estimate_missing,
        estimate: crate::estimates::rule(tx).await?,
    };
    let mut out = Preview::default();
    let mut after = None;
    loop {
        let batch = active_accounts(tx, after, 500).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        for d in bills::draft_batch(tx, cycle, &batch).await? {
            match d.draft {
                Ok(draft) => {
                    out.total_cents += draft.calculation.total.cents;
                    out.bills.push(PreviewLine {
                        account_number: d.account.account_number,
                        usage_units: draft.billed_units(),
                        total_cents: draft.calculation.total.cents,
                        already_billed: d.standing,
                        estimated: draft.current.estimated,
                    });
                }
                Err(e) => out.exceptions.push(e),
            }
        }
    }
    Ok(out)
}

/// How to finalize.
#[derive(Debug, Clone)]
pub struct FinalizeOptions {
    /// Accounts per transaction.
    pub batch_size: u64,
    /// Testing and operations: stop (as if killed) after this many batches
    /// have committed.
    pub stop_after_batches: Option<u64>,
    /// Estimate missing reads (stored as estimated reads, marked on the
    /// bill) instead of listing the accounts as exceptions.
    pub estimate_missing: bool,
}

impl Default for FinalizeOptions {
    fn default() -> Self {
        Self {
            batch_size: 500,
            stop_after_batches: None,
            estimate_missing: false,
        }
    }
}

/// What a finalize call did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FinalizeReport {
    /// Batches committed by this call.
    pub batches: u64,
    /// Bills issued by this call.
    pub billed: u64,
    /// Accounts that already had a standing bill for the cycle.
    pub already_billed: u64,
    /// Accounts that could not be billed.
    pub exceptions: Vec<RunException>,
    /// The run's status afterwards.
    pub status: String,
}

pub(crate) async fn bump_counter(tx: &TenantTx, n: i64) -> Result<i64, BillingError> {
    let backend = tx.conn().get_database_backend();
    let tenant = tx.tenant_id().uuid();
    let (insert, update) = if backend == DbBackend::Postgres {
        (
            "INSERT INTO bill_counters (tenant_id, last_number) VALUES ($1, 0) \
             ON CONFLICT (tenant_id) DO NOTHING",
            "UPDATE bill_counters SET last_number = last_number + $2 WHERE tenant_id = $1 \
             RETURNING last_number",
        )
    } else {
        (
            "INSERT INTO bill_counters (tenant_id, last_number) VALUES (?1, 0) \
             ON CONFLICT (tenant_id) DO NOTHING",
            "UPDATE bill_counters SET last_number = last_number + ?2 WHERE tenant_id = ?1 \
             RETURNING last_number",
        )
    };
    tx.conn()
        .execute_raw(Statement::from_sql_and_values(
            backend,
            insert,
            [tenant.into()],
        ))
        .await?;
    let row = tx
        .conn()
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            update,
            [tenant.into(), n.into()],
        ))
        .await?
        .ok_or_else(|| BillingError::Invalid("bill counter missing".into()))?;
    Ok(row.try_get::<i64>("", "last_number")?)
}

/// Bills per INSERT statement (20 columns each: well under both engines'
/// parameter limits).
const INSERT_CHUNK: usize = 500;

async fn issue(
    tx: &TenantTx,
    clock: &dyn Clock,
    run: &bill_run::Model,
    drafts: Vec<(Draft, i32)>,
) -> Result<u64, BillingError> {
    let n = i64::try_from(drafts.len()).unwrap_or(i64::MAX);
    if n == 0 {
        return Ok(0);
    }
    let last = bump_counter(tx, n).await?;
    let now = clock.now();
    let mut number = last - n;
    let mut rows = Vec::with_capacity(drafts.len());
    let mut charges = Vec::with_capacity(drafts.len());
    let mut mails = Vec::new();
    let usual = usual_use(tx, &drafts).await?;
    let factor = aqueduct_notify::prefs::high_usage_factor(
        aqueduct_notify::prefs::settings(tx)
            .await
            .map_err(|e| BillingError::Invalid(e.to_string()))?
            .as_ref(),
    );
    for (mut d, revision) in drafts {
        number += 1;
        if d.current.id.is_nil() {
            // An estimate: store it as a read first (idempotent per day).
            let read = crate::reads::NewRead {
                read_on: d.current.read_on,
                value: d.current.value,
                estimated: true,
                source: crate::reads::ReadSource::Estimate,
            };
            if let crate::reads::Recorded::Created { id, .. } =
                crate::reads::record(tx, clock, &d.meter, read).await?
            {
                d.current.id = id.uuid();
            }
        }
        let id = BillId::new();
        let lines = serde_json::to_string(&d.calculation.lines)
            .map_err(|e| BillingError::Invalid(e.to_string()))?;
        let total = d.calculation.total.cents;
        if let Some(mail) = bill_ready_mail(&d.account, id, number, total, run.due_on) {
            mails.push(mail);
        }
        if let Some(mail) = high_usage_mail(&d, id, usual.get(&d.account.id).copied(), factor) {
            mails.push(mail);
        }
        rows.push(bill::Model {
            tenant_id: tx.tenant_id().uuid(),
            id: id.uuid(),
            bill_run_id: run.id,
            account_id: d.account.id,
            meter_id: d.meter.id,
            number,
            revision,
            period_start: run.period_start,
            period_end: run.period_end,
            read_from: d
                .change_out
                .as_ref()
                .map_or(d.previous.read_on, |c| c.old_from_on),
            read_to: d.current.read_on,
            previous_value: d.previous.value,
            current_value: d.current.value,
            usage_units: d.billed_units(),
            usage_unit: d.meter.unit.clone(),
            estimated: d.current.estimated,
            total_cents: total,
            lines,
            due_on: run.due_on,
            issued_at: now,
        });
        if total != 0 {
            let (kind, memo) = if total > 0 {
                (EntryKind::Charge, format!("Bill {number}"))
            } else {
                (EntryKind::Credit, format!("Bill {number} (credit)"))
            };
            charges.push(NewEntry {
                account: AccountId::from_uuid(d.account.id),
                kind,
                amount: Money::usd(total.abs()),
                effective_on: run.period_end,
                external_id: Some(format!("bill:{id}")),
                bill: Some(id),
                memo,
            });
        }
    }
    if tx.conn().get_database_backend() == DbBackend::Postgres {
        insert_bills_pg(tx, run, now, &rows).await?;
        insert_charges_pg(tx, now, charges).await?;
    } else {
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<bill::ActiveModel> =
                rows.by_ref().take(INSERT_CHUNK).map(Into::into).collect();
            bill::Entity::insert_many(chunk)
                .exec_without_returning(tx.conn())
                .await
                .map_err(bills_conflict)?;
        }
        ledger::post_new_many(tx, now, charges, INSERT_CHUNK).await?;
    }
    // In the same transaction as the bills: a batch that rolls back
    // queues no mail.
    aqueduct_notify::record_many(tx, clock, mails)
        .await
        .map_err(|e| match e {
            aqueduct_notify::NotifyError::Db(e) => BillingError::Db(e),
            other => BillingError::Invalid(other.to_string()),
        })?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn bills_conflict(e: sea_orm::DbErr) -> BillingError {
    unique_or(
        e,
        &["uq_bills_account_period", "uq_bills_number", "bills."],
        BillingError::Conflict("another run is issuing these bills".into()),
    )
}

/// PostgreSQL: a batch's bills in one statement, each column bound as one
/// array and expanded by `UNNEST` (instead of multi-row `VALUES` lists of
/// 20 parameters per bill): 20 parameters whatever the batch's size, one
/// prepared statement, one round trip. Same table, constraints and checks
/// (row-level security, foreign keys, unique keys) as any insert.
async fn insert_bills_pg(
    tx: &TenantTx,
    run: &bill_run::Model,
    now: chrono::DateTime<chrono::Utc>,
    rows: &[bill::Model],
) -> Result<(), BillingError> {
    if rows.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&bill::Model) -> sea_orm::Value| -> Vec<sea_orm::Value> {
        rows.iter().map(f).collect()
    };
    let array = |t: sea_orm::sea_query::ArrayType, v: Vec<sea_orm::Value>| {
        sea_orm::Value::Array(t, Some(Box::new(v)))
    };
    use sea_orm::sea_query::ArrayType as T;
    let values: Vec<sea_orm::Value> = vec![
        tx.tenant_id().uuid().into(),
        run.id.into(),
        run.period_start.into(),
        run.period_end.into(),
        run.due_on.into(),
        now.into(),
        array(T::Uuid, col(|b| b.id.into())),
        array(T::Uuid, col(|b| b.account_id.into())),
        array(T::Uuid, col(|b| b.meter_id.into())),
        array(T::BigInt, col(|b| b.number.into())),
        array(T::Int, col(|b| b.revision.into())),
        array(T::ChronoDate, col(|b| b.read_from.into())),
        array(T::ChronoDate, col(|b| b.read_to.into())),
        array(T::BigInt, col(|b| b.previous_value.into())),
        array(T::BigInt, col(|b| b.current_value.into())),
        array(T::BigInt, col(|b| b.usage_units.into())),
        array(T::String, col(|b| b.usage_unit.clone().into())),
        array(T::Bool, col(|b| b.estimated.into())),
        array(T::BigInt, col(|b| b.total_cents.into())),
        array(T::String, col(|b| b.lines.clone().into())),
    ];
    tx.conn()
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO bills (tenant_id, id, bill_run_id, account_id, meter_id, number, \
             revision, period_start, period_end, read_from, read_to, previous_value, \
             current_value, usage_units, usage_unit, estimated, total_cents, lines, due_on, \
             issued_at) \
             SELECT $1, u.id, $2, u.account_id, u.meter_id, u.number, u.revision, $3, $4, \
             u.read_from, u.read_to, u.previous_value, u.current_value, u.usage_units, \
             u.usage_unit, u.estimated, u.total_cents, u.lines, $5, $6 \
             FROM UNNEST($7::uuid[], $8::uuid[], $9::uuid[], $10::int8[], $11::int4[], \
             $12::date[], $13::date[], $14::int8[], $15::int8[], $16::int8[], $17::text[], \
             $18::bool[], $19::int8[], $20::text[]) \
             AS u(id, account_id, meter_id, number, revision, read_from, read_to, \
             previous_value, current_value, usage_units, usage_unit, estimated, total_cents, \
             lines)",
            values,
        ))
        .await
        .map_err(bills_conflict)?;
    Ok(())
}

/// PostgreSQL: the batch's ledger charges (and credits) in one `UNNEST`
/// statement, with the same checks as [`ledger::post_new_many`].
async fn insert_charges_pg(
    tx: &TenantTx,
    now: chrono::DateTime<chrono::Utc>,
    entries: Vec<NewEntry>,
) -> Result<(), BillingError> {
    if entries.is_empty() {
        return Ok(());
    }
    use sea_orm::sea_query::ArrayType as T;
    let n = entries.len();
    let (mut id, mut account, mut kind, mut debit, mut credit) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut amount, mut effective, mut external, mut bill_ids, mut memo) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for e in entries {
        let (d, c) = e
            .kind
            .sides()
            .ok_or_else(|| BillingError::Invalid("post a reversal with reverse()".into()))?;
        if e.amount.cents <= 0 {
            return Err(BillingError::Invalid("a ledger amount is positive".into()));
        }
        id.push(sea_orm::Value::from(LedgerEntryId::new().uuid()));
        account.push(sea_orm::Value::from(e.account.uuid()));
        kind.push(sea_orm::Value::from(e.kind.as_str()));
        debit.push(sea_orm::Value::from(d));
        credit.push(sea_orm::Value::from(c));
        amount.push(sea_orm::Value::from(e.amount.cents));
        effective.push(sea_orm::Value::from(e.effective_on));
        // A bill's charge always names its bill and carries `bill:<id>`.
        let (Some(ext), Some(b)) = (e.external_id, e.bill) else {
            return Err(BillingError::Invalid("a bill charge names its bill".into()));
        };
        external.push(sea_orm::Value::from(ext));
        bill_ids.push(sea_orm::Value::from(b.uuid()));
        memo.push(sea_orm::Value::from(e.memo));
    }
    let array = |t: T, v: Vec<sea_orm::Value>| sea_orm::Value::Array(t, Some(Box::new(v)));
    let values: Vec<sea_orm::Value> = vec![
        tx.tenant_id().uuid().into(),
        now.into(),
        array(T::Uuid, id),
        array(T::Uuid, account),
        array(T::String, kind),
        array(T::String, debit),
        array(T::String, credit),
        array(T::BigInt, amount),
        array(T::ChronoDate, effective),
        array(T::String, external),
        array(T::Uuid, bill_ids),
        array(T::String, memo),
    ];
    tx.conn()
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO ledger_entries (tenant_id, id, account_id, kind, debit, credit, \
             amount_cents, effective_on, posted_at, external_id, reverses_id, bill_id, memo) \
             SELECT $1, u.id, u.account_id, u.kind, u.debit, u.credit, u.amount_cents, \
             u.effective_on, $2, u.external_id, NULL, u.bill_id, u.memo \
             FROM UNNEST($3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], \
             $8::int8[], $9::date[], $10::text[], $11::uuid[], $12::text[]) \
             AS u(id, account_id, kind, debit, credit, amount_cents, effective_on, \
             external_id, bill_id, memo)",
            values,
        ))
        .await?;
    Ok(())
}

/// The average use of the accounts' earlier bills (accounts without any
/// are left out).
async fn usual_use(
    tx: &TenantTx,
    drafts: &[(Draft, i32)],
) -> Result<HashMap<uuid::Uuid, i64>, BillingError> {
    let mut sums: HashMap<uuid::Uuid, (i64, i64)> = HashMap::new();
    let ids: Vec<uuid::Uuid> = drafts.iter().map(|(d, _)| d.account.id).collect();
    let backend = tx.conn().get_database_backend();
    // One array parameter on PostgreSQL (`= ANY($1)`): an index condition
    // on the bills' account whatever the planner believes about the table,
    // which grows during the run. (An `IN` list here was planned as a
    // filter over every bill, and batches slowed down as the run grew.)
    for chunk in ids.chunks(crate::bulk::list_size(backend, INSERT_CHUNK)) {
        let rows: Vec<(uuid::Uuid, i64)> = scoped::<bill::Entity>(tx)
            .select_only()
            .column(bill::Column::AccountId)
            .column(bill::Column::UsageUnits)
            .filter(crate::bulk::in_list(
                backend,
                bill::Column::AccountId,
                chunk.to_vec(),
            ))
            .into_tuple()
            .all(tx.conn())
            .await?;
        for (account, units) in rows {
            let e = sums.entry(account).or_insert((0, 0));
            e.0 = e.0.saturating_add(units.max(0));
            e.1 += 1;
        }
    }
    Ok(sums
        .into_iter()
        .filter(|(_, (_, n))| *n > 0)
        .map(|(a, (total, n))| (a, total / n))
        .collect())
}

/// The `high_usage` alert (possible leak) for a bill whose use is more
/// than the association's `high_usage_factor` times the account's usual
/// use, to any customer with an address (non-essential: they can turn it
/// off).
fn high_usage_mail(
    d: &Draft,
    bill: BillId,
    usual: Option<i64>,
    factor: i64,
) -> Option<aqueduct_notify::NewNotification> {
    let usual = usual?;
    if !aqueduct_notify::prefs::is_high_usage(d.consumption.units, usual, factor) {
        return None;
    }
    let email = d
        .account
        .email
        .as_deref()
        .filter(|e| !e.trim().is_empty())?;
    Some(aqueduct_notify::NewNotification {
        kind: aqueduct_notify::Kind::HighUsage,
        subject_id: format!("bill:{bill}"),
        recipient: email.to_owned(),
        account: Some(AccountId::from_uuid(d.account.id)),
        data: serde_json::json!({
            "holder": d.account.holder_name,
            "account": d.account.account_number,
            "usage_units": d.consumption.units,
            "usual_units": usual,
            "unit": d.meter.unit,
        }),
    })
}

/// The "bill ready" email for a paperless account with an address.
fn bill_ready_mail(
    account: &account::Model,
    bill: BillId,
    number: i64,
    total_cents: i64,
    due_on: NaiveDate,
) -> Option<aqueduct_notify::NewNotification> {
    let email = account.email.as_deref().filter(|e| !e.trim().is_empty())?;
    if !account.paperless {
        return None;
    }
    Some(aqueduct_notify::NewNotification {
        kind: aqueduct_notify::Kind::BillReady,
        subject_id: format!("bill:{bill}"),
        recipient: email.to_owned(),
        account: Some(AccountId::from_uuid(account.id)),
        data: serde_json::json!({
            "holder": account.holder_name,
            "account": account.account_number,
            "amount_cents": total_cents,
            "date": due_on.to_string(),
            "number": number.to_string(),
        }),
    })
}

/// Finalizes a run in batches of accounts, each in its own transaction.
/// Safe to call again after a crash or on a finalized run.
pub async fn finalize(
    db: &Db,
    tenant: &TenantCtx,
    clock: &dyn Clock,
    id: BillRunId,
    options: &FinalizeOptions,
) -> Result<FinalizeReport, BillingError> {
    let tx = db.tenant(tenant).await?;
    let run = get(&tx, id).await?;
    let stored = rates::get(&tx, RateScheduleId::from_uuid(run.schedule_id)).await?;
    let rule = crate::estimates::rule(&tx).await?;
    if run.status == "draft" {
        let mut active: bill_run::ActiveModel = run.clone().into();
        active.status = Set("finalizing".into());
        active.update(tx.conn()).await?;
    }
    tx.commit().await?;
    let cycle = Cycle {
        start: run.period_start,
        end: run.period_end,
        history: &stored.history,
        estimate_missing: options.estimate_missing,
        estimate: rule,
    };
    let mut report = FinalizeReport::default();
    let batch_size = options.batch_size.clamp(1, 10_000);
    // One transaction per batch: read and price it, write its bills,
    // charges and mail, commit. (Overlapping the pricing of batch k+1 with
    // the writing of batch k was tried: two concurrent finalizers of one
    // run could then wait on each other across their two connections,
    // which PostgreSQL cannot see as a deadlock — the multi-replica test
    // caught it.)
    let mut after = None;
    loop {
        if options.stop_after_batches == Some(report.batches) {
            return Err(BillingError::Interrupted);
        }
        let started = std::time::Instant::now();
        let tx = db.tenant(tenant).await?;
        let batch = active_accounts(&tx, after, batch_size).await?;
        let Some(last) = batch.last() else {
            tx.commit().await?;
            break;
        };
        after = Some(last.id);
        let mut drafts = Vec::with_capacity(batch.len());
        for d in bills::draft_batch(&tx, cycle, &batch).await? {
            if d.standing {
                report.already_billed += 1;
                continue;
            }
            match d.draft {
                Ok(draft) => drafts.push((draft, d.issued)),
                Err(e) => report.exceptions.push(e),
            }
        }
        let drafted = started.elapsed();
        report.billed += issue(&tx, clock, &run, drafts).await?;
        let issued = started.elapsed();
        tx.commit().await?;
        tracing::debug!(
            batch = report.batches,
            accounts = batch.len(),
            read_and_price_ms = drafted.as_millis(),
            write_ms = (issued - drafted).as_millis(),
            commit_ms = (started.elapsed() - issued).as_millis(),
            "bill run batch committed"
        );
        report.batches += 1;
    }
    let tx = db.tenant(tenant).await?;
    let run = get(&tx, id).await?;
    if run.status != "finalized" {
        let mut active: bill_run::ActiveModel = run.clone().into();
        active.status = Set("finalized".into());
        active.finalized_at = Set(Some(clock.now()));
        active.update(tx.conn()).await?;
        // In the same transaction as the status change: staff hear once
        // that the run finished (the outbox dedupes per run).
        notify_finished(&tx, clock, &run, &report.exceptions).await?;
    }
    tx.commit().await?;
    report.status = "finalized".into();
    Ok(report)
}

/// Queues `bill_run_finished` to the association's staff address (if
/// set): the run's bills and total (counted from the stored bills, so a
/// finalize resumed after a crash reports the whole run) and the accounts
/// that could not be billed (each call re-drafts every account, so these
/// are the run's exceptions too).
async fn notify_finished(
    tx: &TenantTx,
    clock: &dyn Clock,
    run: &bill_run::Model,
    exceptions: &[RunException],
) -> Result<(), BillingError> {
    let err = |e: aqueduct_notify::NotifyError| match e {
        aqueduct_notify::NotifyError::Db(e) => BillingError::Db(e),
        other => BillingError::Invalid(other.to_string()),
    };
    let Some(to) = aqueduct_notify::outbox::staff_recipient(tx)
        .await
        .map_err(err)?
    else {
        return Ok(());
    };
    let bills: Vec<i64> = scoped::<bill::Entity>(tx)
        .filter(bill::Column::BillRunId.eq(run.id))
        .select_only()
        .column(bill::Column::TotalCents)
        .into_tuple()
        .all(tx.conn())
        .await?;
    let total: i64 = bills.iter().sum();
    let usage = if exceptions.is_empty() {
        String::new()
    } else {
        let mut kinds: Vec<(&str, usize)> = Vec::new();
        for e in exceptions {
            match kinds.iter_mut().find(|(k, _)| *k == e.kind) {
                Some((_, n)) => *n += 1,
                None => kinds.push((e.kind, 1)),
            }
        }
        let parts: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        format!("{} ({})", exceptions.len(), parts.join(", "))
    };
    aqueduct_notify::record(
        tx,
        clock,
        aqueduct_notify::NewNotification {
            kind: aqueduct_notify::Kind::BillRunFinished,
            subject_id: format!("bill_run:{}", run.id),
            recipient: to,
            account: None,
            data: serde_json::json!({
                "number": bills.len().to_string(),
                "amount_cents": total,
                "at": clock.now().to_rfc3339(),
                "detail": format!("{} – {}", run.period_start, run.period_end),
                "usage": usage,
                "exceptions": exceptions.len(),
            }),
        },
    )
    .await
    .map_err(err)?;
    Ok(())
}

/// Voids a bill: records the void (the bill itself is never changed) and
/// reverses its ledger charge. Idempotent. The next finalize of the cycle
/// issues a corrected bill (the next revision) under a new number.
pub async fn void(
    tx: &TenantTx,
    clock: &dyn Clock,
    id: BillId,
    reason: &str,
) -> Result<(), BillingError> {
    let b = bills::get(tx, id).await?;
    let row = bill_void::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(uuid::Uuid::now_v7()),
        bill_id: Set(b.id),
        reason: Set(reason.to_owned()),
        voided_at: Set(clock.now()),
    };
    bill_void::Entity::insert(row)
        .on_conflict_do_nothing_on([bill_void::Column::TenantId, bill_void::Column::BillId])
        .exec_without_returning(tx.conn())
        .await?;
    if let Some(charge) = ledger::by_external_id(tx, &format!("bill:{id}")).await? {
        ledger::reverse(
            tx,
            clock,
            LedgerEntryId::from_uuid(charge.id),
            clock.now().date_naive(),
            &format!("Bill {} voided: {reason}", b.number),
        )
        .await?;
    }
    Ok(())
}
