//! The staff's daily summary (optional, per association: the
//! `daily_summary` notification setting, sent to the `staff_address`):
//! what happened on the association's previous local day — payments,
//! bank payments still processing, refunds, disputes, bills issued, mails
//! that could not be delivered, and how many accounts owe charges 30 days
//! or older. Recorded in the outbox by the daily `billing.notices` job
//! with the subject `summary:<date>`, so a second run of the day records
//! nothing new.

use crate::aging;
use crate::entity::{bill, ledger_entry, payment_in_flight};
use crate::error::BillingError;
use aqueduct_notify::entity::notification;
use aqueduct_notify::{Kind, NewNotification, Recorded};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::{Duration, NaiveDate};
use sea_orm::{ColumnTrait, QueryFilter};
use serde::Serialize;
use std::collections::HashMap;

/// One day's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DailySummary {
    /// Payments posted (count).
    pub payments: i64,
    /// Their total, in cents.
    pub payments_cents: i64,
    /// Bank payments started and not yet settled (now).
    pub processing: i64,
    /// Refunds posted (count).
    pub refunds: i64,
    /// Their total, in cents.
    pub refunds_cents: i64,
    /// Dispute holds posted.
    pub disputes: i64,
    /// Bills issued.
    pub bills: i64,
    /// Their total, in cents.
    pub bills_cents: i64,
    /// Mails that failed for good on that day.
    pub mail_failed: i64,
    /// Accounts owing charges 30 days or older (now).
    pub past_due_accounts: i64,
}

/// The figures of the association's local `day` (instants in
/// `[from, to)`, UTC), with the open items as of `today`.
pub async fn figures(
    tx: &TenantTx,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    today: NaiveDate,
) -> Result<DailySummary, BillingError> {
    let mut s = DailySummary::default();
    let posted = scoped::<ledger_entry::Entity>(tx)
        .filter(ledger_entry::Column::PostedAt.gte(from))
        .filter(ledger_entry::Column::PostedAt.lt(to))
        .all(tx.conn())
        .await?;
    for e in &posted {
        match e.kind.as_str() {
            "payment" => {
                s.payments += 1;
                s.payments_cents += e.amount_cents;
            }
            "refund" => {
                s.refunds += 1;
                s.refunds_cents += e.amount_cents;
            }
            "dispute_hold" => s.disputes += 1,
            _ => {}
        }
    }
    let issued = scoped::<bill::Entity>(tx)
        .filter(bill::Column::IssuedAt.gte(from))
        .filter(bill::Column::IssuedAt.lt(to))
        .all(tx.conn())
        .await?;
    s.bills = i64::try_from(issued.len()).unwrap_or(i64::MAX);
    s.bills_cents = issued.iter().map(|b| b.total_cents).sum();
    s.processing = i64::try_from(
        scoped::<payment_in_flight::Entity>(tx)
            .filter(payment_in_flight::Column::SettledAt.is_null())
            .all(tx.conn())
            .await?
            .len(),
    )
    .unwrap_or(i64::MAX);
    s.mail_failed = i64::try_from(
        scoped::<notification::Entity>(tx)
            .filter(notification::Column::Status.eq("failed_permanent"))
            .filter(notification::Column::UpdatedAt.gte(from))
            .filter(notification::Column::UpdatedAt.lt(to))
            .all(tx.conn())
            .await?
            .len(),
    )
    .unwrap_or(i64::MAX);
    let mut by_account: HashMap<uuid::Uuid, Vec<ledger_entry::Model>> = HashMap::new();
    for e in scoped::<ledger_entry::Entity>(tx).all(tx.conn()).await? {
        by_account.entry(e.account_id).or_default().push(e);
    }
    s.past_due_accounts = i64::try_from(
        by_account
            .values()
            .filter(|entries| {
                let a = aging::aging(entries, today);
                a.days_30 + a.days_60 + a.days_90_plus > 0
            })
            .count(),
    )
    .unwrap_or(i64::MAX);
    Ok(s)
}

/// Records yesterday's summary for the association's staff when it asked
/// for one (`None` when it did not, or has no staff address).
pub async fn record(
    tx: &TenantTx,
    clock: &dyn aqueduct_core::Clock,
    today: NaiveDate,
    time_zone: &str,
) -> Result<Option<Recorded>, BillingError> {
    let settings = aqueduct_notify::prefs::settings(tx)
        .await
        .map_err(|e| BillingError::Invalid(e.to_string()))?;
    let Some(to) = settings
        .filter(|s| s.daily_summary)
        .and_then(|s| s.staff_address)
    else {
        return Ok(None);
    };
    let day = today - Duration::days(1);
    let (from, until) = aqueduct_notify::format::local_day_bounds(day, time_zone);
    let figures = figures(tx, from, until, today).await?;
    let recorded = aqueduct_notify::outbox::record(
        tx,
        clock,
        NewNotification {
            kind: Kind::DailySummary,
            subject_id: format!("summary:{day}"),
            recipient: to,
            account: None,
            data: serde_json::json!({ "date": day.to_string(), "summary": figures }),
        },
    )
    .await
    .map_err(|e| BillingError::Invalid(e.to_string()))?;
    Ok(Some(recorded))
}
