//! The daily customer notices: due-date reminders, past-due notices and
//! shut-off notices, recorded in the notifications outbox by the
//! `billing.notices` job (scheduled daily by the server).
//!
//! **Once each.** Every notice has a subject that names what it is about
//! — `bill:<id>` for a reminder or a past-due notice, `shutoff:<account>:
//! <month>` for a shut-off notice — so the outbox's unique (kind,
//! subject, recipient) makes a second run of the day (or a retried job)
//! record nothing new.
//!
//! **Rules** come from the association's notification settings:
//! `reminder_days_before` (none: no reminders) and `shutoff_lead_days`,
//! the legally required time between the notice and a disconnection
//! (none: no shut-off notices), with `shutoff_min_overdue_cents`.
//! Past-due notices are always on (essential).
//!
//! - `due_reminder`: bills due within the next `reminder_days_before`
//!   days whose charge is still unpaid, not on autopay (autopay pays
//!   them), no payment in flight. Non-essential: customers can turn it
//!   off.
//! - `past_due`: bills due in the last 30 days (before today) still
//!   unpaid, no payment in flight. Only the newest bill of an account.
//! - `shutoff_notice`: the accounts of the shut-off notice report
//!   ([`payment_plans::shut_off_notices`]: 60+ days overdue, no payment
//!   plan kept, no payment in flight), at most once per account and
//!   calendar month, naming the earliest disconnection date (today plus
//!   the lead time).

use crate::aging;
use crate::bills;
use crate::entity::{account, bill};
use crate::error::BillingError;
use crate::ledger;
use crate::payment_plans;
use aqueduct_core::{AccountId, BillId, Clock};
use aqueduct_notify::{Kind, NewNotification, Recorded};
use aqueduct_tenant::{Db, TenantCtx, TenantTx, directory, scoped};
use chrono::{Duration, NaiveDate};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// The job kind that records the day's notices for every association.
pub const NOTICES_JOB: &str = "billing.notices";

/// How far back a bill's due date may be for a past-due notice (a first
/// run after a long pause does not mail about old bills).
const PAST_DUE_WINDOW_DAYS: i64 = 30;

/// What one run recorded for one association.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NoticeReport {
    /// The association's date the run used.
    pub today: Option<NaiveDate>,
    /// `due_reminder` rows queued.
    pub reminders: u64,
    /// `past_due` rows queued.
    pub past_due: u64,
    /// `shutoff_notice` rows queued.
    pub shutoff: u64,
    /// Already recorded by an earlier run, or turned off by the customer.
    pub skipped: u64,
    /// Whether the staff's daily summary was queued by this run.
    pub summary: bool,
}

impl NoticeReport {
    fn count(&mut self, kind: Kind, r: Recorded) {
        match (r, kind) {
            (Recorded::Queued(_), Kind::DueReminder) => self.reminders += 1,
            (Recorded::Queued(_), Kind::PastDue) => self.past_due += 1,
            (Recorded::Queued(_), Kind::ShutoffNotice) => self.shutoff += 1,
            _ => self.skipped += 1,
        }
    }
}

fn notify_err(e: aqueduct_notify::NotifyError) -> BillingError {
    match e {
        aqueduct_notify::NotifyError::Db(e) => BillingError::Db(e),
        other => BillingError::Invalid(other.to_string()),
    }
}

/// Records the day's notices for every association in use (one
/// transaction each).
pub async fn run_all(db: &Db, clock: &dyn Clock) -> Result<Vec<NoticeReport>, BillingError> {
    let tx = db.system("billing notices: list associations").await?;
    let tenants = directory::list(&tx).await?;
    tx.commit().await?;
    let mut out = Vec::new();
    for t in tenants.iter().filter(|t| t.status().allows_use()) {
        out.push(run_tenant(db, t, clock).await?);
    }
    Ok(out)
}

/// Records the day's notices for one association, in one transaction.
pub async fn run_tenant(
    db: &Db,
    tenant: &TenantCtx,
    clock: &dyn Clock,
) -> Result<NoticeReport, BillingError> {
    let today = aqueduct_notify::format::local_date(clock.now(), tenant.time_zone());
    let tx = db.tenant(tenant).await?;
    let mut report = record(&tx, clock, today).await?;
    report.summary = matches!(
        crate::summary::record(&tx, clock, today, tenant.time_zone()).await?,
        Some(Recorded::Queued(_))
    );
    tx.commit().await?;
    Ok(report)
}

/// Records the notices due on `today` in `tx`.
pub async fn record(
    tx: &TenantTx,
    clock: &dyn Clock,
    today: NaiveDate,
) -> Result<NoticeReport, BillingError> {
    let settings = aqueduct_notify::prefs::settings(tx)
        .await
        .map_err(notify_err)?;
    let mut report = NoticeReport {
        today: Some(today),
        ..NoticeReport::default()
    };
    let reminder_days = settings.as_ref().and_then(|s| s.reminder_days_before);
    let mut items: Vec<NewNotification> = Vec::new();
    // Bills due from PAST_DUE_WINDOW_DAYS ago to the reminder horizon.
    let horizon = today + Duration::days(i64::from(reminder_days.unwrap_or(0)));
    let bills = scoped::<bill::Entity>(tx)
        .filter(bill::Column::DueOn.gte(today - Duration::days(PAST_DUE_WINDOW_DAYS)))
        .filter(bill::Column::DueOn.lte(horizon))
        .order_by_desc(bill::Column::DueOn)
        .order_by_desc(bill::Column::Number)
        .all(tx.conn())
        .await?;
    let mut seen: HashSet<(uuid::Uuid, bool)> = HashSet::new();
    let mut accounts: HashMap<uuid::Uuid, account::Model> = HashMap::new();
    for b in bills {
        let past = b.due_on < today;
        if !past && (reminder_days.is_none() || b.due_on == today) {
            // Due today: neither reminded (too late) nor past due yet.
            continue;
        }
        // Only the newest bill of an account, per kind.
        if !seen.insert((b.account_id, past)) {
            continue;
        }
        if bills::is_voided(tx, BillId::from_uuid(b.id)).await? {
            continue;
        }
        let acct = match accounts.get(&b.account_id) {
            Some(a) => a.clone(),
            None => {
                let a = crate::accounts::get(tx, AccountId::from_uuid(b.account_id)).await?;
                accounts.insert(b.account_id, a.clone());
                a
            }
        };
        let Some(email) = acct.email.clone().filter(|e| !e.trim().is_empty()) else {
            continue;
        };
        if acct.status != "active" || (!past && acct.autopay) {
            continue;
        }
        let id = AccountId::from_uuid(acct.id);
        if ledger::has_payment_in_flight(tx, id).await? {
            continue;
        }
        let entries = ledger::for_account(tx, id).await?;
        // What is still unpaid of this bill's charge and older ones.
        let unpaid = aging::unpaid_through(&entries, b.period_end, today);
        if unpaid <= 0 {
            continue;
        }
        items.push(NewNotification {
            kind: if past {
                Kind::PastDue
            } else {
                Kind::DueReminder
            },
            subject_id: format!("bill:{}", b.id),
            recipient: email,
            account: Some(id),
            data: serde_json::json!({
                "holder": acct.holder_name,
                "account": acct.account_number,
                "amount_cents": unpaid,
                "date": b.due_on.to_string(),
                "number": b.number.to_string(),
            }),
        });
    }
    if let Some(lead) = settings.as_ref().and_then(|s| s.shutoff_lead_days) {
        let min = settings
            .as_ref()
            .and_then(|s| s.shutoff_min_overdue_cents)
            .unwrap_or(1)
            .max(1);
        let off_on = today + Duration::days(i64::from(lead));
        for n in payment_plans::shut_off_notices(tx, today, min).await? {
            let Some(acct) = scoped::<account::Entity>(tx)
                .filter(account::Column::AccountNumber.eq(n.account_number.as_str()))
                .one(tx.conn())
                .await?
            else {
                continue;
            };
            let Some(email) = acct.email.clone().filter(|e| !e.trim().is_empty()) else {
                continue;
            };
            items.push(NewNotification {
                kind: Kind::ShutoffNotice,
                subject_id: format!("shutoff:{}:{}", acct.id, today.format("%Y-%m")),
                recipient: email,
                account: Some(AccountId::from_uuid(acct.id)),
                data: serde_json::json!({
                    "holder": acct.holder_name,
                    "account": acct.account_number,
                    "amount_cents": n.overdue_cents,
                    "date": off_on.to_string(),
                }),
            });
        }
    }
    let kinds: Vec<Kind> = items.iter().map(|n| n.kind).collect();
    let recorded = aqueduct_notify::record_many(tx, clock, items)
        .await
        .map_err(notify_err)?;
    for (kind, r) in kinds.into_iter().zip(recorded) {
        report.count(kind, r);
    }
    Ok(report)
}
