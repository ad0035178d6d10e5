//! Payment plans and the shut-off notice list.
//!
//! A plan splits an account's balance into monthly installments. It is
//! *kept* while the money received since it started (payments less
//! refunds, dispute holds and reversed payments, from the ledger) covers
//! every installment due so far; while kept, the late-fee job skips the
//! account and the account is left off the shut-off notice list. A plan
//! that falls behind is *broken* (late fees and notices apply again); one
//! paid in full is *completed*. Nothing here posts to the ledger: a plan is
//! an arrangement about money already owed.

use crate::aging;
use crate::entity::{account, ledger_entry, payment_plan};
use crate::error::BillingError;
use crate::ledger::{self, gl};
use aqueduct_core::{AccountId, Clock};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::{Months, NaiveDate};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;

/// One installment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Installment {
    /// 1-based.
    pub number: i32,
    /// Due date.
    pub due_on: NaiveDate,
    /// Amount in cents.
    pub amount_cents: i64,
}

/// `total` in `n` monthly installments from `first`: equal parts, the last
/// taking the remainder, so they sum to the total exactly.
pub fn installments(total: i64, n: i32, first: NaiveDate) -> Vec<Installment> {
    let count = i64::from(n.max(1));
    let part = total / count;
    (0..n.max(1))
        .map(|i| Installment {
            number: i + 1,
            due_on: first
                .checked_add_months(Months::new(u32::try_from(i).unwrap_or(0)))
                .unwrap_or(first),
            amount_cents: if i64::from(i) == count - 1 {
                total - part * (count - 1)
            } else {
                part
            },
        })
        .collect()
}

/// Money received toward the account on or after `since`: what came into
/// cash from its receivable, less what went back.
pub fn received_since(entries: &[ledger_entry::Model], since: NaiveDate) -> i64 {
    entries
        .iter()
        .filter(|e| e.effective_on >= since)
        .map(|e| {
            if e.debit == gl::CASH && e.credit == gl::RECEIVABLE {
                e.amount_cents
            } else if e.debit == gl::RECEIVABLE && e.credit == gl::CASH {
                -e.amount_cents
            } else {
                0
            }
        })
        .sum()
}

/// A plan with where it stands.
#[derive(Debug, Clone, Serialize)]
pub struct PlanView {
    /// Plan id.
    pub id: uuid::Uuid,
    /// The balance covered, in cents.
    pub total_cents: i64,
    /// `kept`, `broken`, `completed` or `cancelled`.
    pub state: &'static str,
    /// Received since the plan started, in cents.
    pub paid_cents: i64,
    /// Installments due up to today, in cents.
    pub due_so_far_cents: i64,
    /// The installments.
    pub installments: Vec<Installment>,
    /// First day counted.
    pub starts_on: NaiveDate,
}

/// Where `plan` stands on `today` given the account's entries.
pub fn view(
    plan: &payment_plan::Model,
    entries: &[ledger_entry::Model],
    today: NaiveDate,
) -> PlanView {
    let list = installments(plan.total_cents, plan.installments, plan.first_due_on);
    let paid = received_since(entries, plan.starts_on);
    let due: i64 = list
        .iter()
        .filter(|i| i.due_on <= today)
        .map(|i| i.amount_cents)
        .sum();
    let state = if plan.status == "cancelled" {
        "cancelled"
    } else if paid >= plan.total_cents {
        "completed"
    } else if paid >= due {
        "kept"
    } else {
        "broken"
    };
    PlanView {
        id: plan.id,
        total_cents: plan.total_cents,
        state,
        paid_cents: paid,
        due_so_far_cents: due,
        installments: list,
        starts_on: plan.starts_on,
    }
}

async fn plans_of(
    tx: &TenantTx,
    account: AccountId,
) -> Result<Vec<payment_plan::Model>, BillingError> {
    Ok(scoped::<payment_plan::Entity>(tx)
        .filter(payment_plan::Column::AccountId.eq(account.uuid()))
        .order_by_desc(payment_plan::Column::CreatedAt)
        .all(tx.conn())
        .await?)
}

/// The account's plans, newest first, with where each stands.
pub async fn for_account(
    tx: &TenantTx,
    account: AccountId,
    today: NaiveDate,
) -> Result<Vec<PlanView>, BillingError> {
    let plans = plans_of(tx, account).await?;
    if plans.is_empty() {
        return Ok(Vec::new());
    }
    let entries = ledger::for_account(tx, account).await?;
    Ok(plans.iter().map(|p| view(p, &entries, today)).collect())
}

/// Whether the account has a plan that is being kept on `today`.
pub fn kept(
    plans: &[payment_plan::Model],
    entries: &[ledger_entry::Model],
    today: NaiveDate,
) -> bool {
    plans
        .iter()
        .any(|p| view(p, entries, today).state == "kept")
}

/// The account's active (not cancelled) plans.
pub async fn active(
    tx: &TenantTx,
    account: AccountId,
) -> Result<Vec<payment_plan::Model>, BillingError> {
    Ok(plans_of(tx, account)
        .await?
        .into_iter()
        .filter(|p| p.status == "active")
        .collect())
}

/// Arranges the account's whole balance in `count` (2–24) monthly
/// installments, the first due on `first_due_on`. One open plan per account
/// (409 while one is kept or broken).
pub async fn create(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    count: i32,
    first_due_on: NaiveDate,
) -> Result<PlanView, BillingError> {
    let today = clock.now().date_naive();
    if !(2..=24).contains(&count) || first_due_on < today {
        return Err(BillingError::Invalid(
            "a plan has 2 to 24 installments, the first due today or later".into(),
        ));
    }
    crate::accounts::get(tx, account).await?;
    let entries = ledger::for_account(tx, account).await?;
    let open = active(tx, account)
        .await?
        .iter()
        .any(|p| matches!(view(p, &entries, today).state, "kept" | "broken"));
    if open {
        return Err(BillingError::Conflict(
            "the account has an open payment plan".into(),
        ));
    }
    let balance = aging::receivable(&entries);
    if balance <= 0 {
        return Err(BillingError::Invalid(
            "the account owes nothing to arrange".into(),
        ));
    }
    let row = payment_plan::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(uuid::Uuid::now_v7()),
        account_id: Set(account.uuid()),
        total_cents: Set(balance),
        installments: Set(count),
        first_due_on: Set(first_due_on),
        starts_on: Set(today),
        status: Set("active".into()),
        created_at: Set(clock.now()),
        ended_at: Set(None),
    }
    .insert(tx.conn())
    .await?;
    Ok(view(&row, &entries, today))
}

/// Cancels the account's active plans (idempotent); returns how many.
pub async fn cancel(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
) -> Result<u64, BillingError> {
    let mut n = 0;
    for p in active(tx, account).await? {
        let mut row: payment_plan::ActiveModel = p.into();
        row.status = Set("cancelled".into());
        row.ended_at = Set(Some(clock.now()));
        row.update(tx.conn()).await?;
        n += 1;
    }
    Ok(n)
}

/// An account on the shut-off notice list.
#[derive(Debug, Clone, Serialize)]
pub struct ShutOffNotice {
    /// Account number.
    pub account_number: String,
    /// Holder.
    pub holder_name: String,
    /// The whole balance, in cents.
    pub balance_cents: i64,
    /// What is 60 days old or older, in cents.
    pub overdue_cents: i64,
    /// Of which 90 days or older.
    pub days_90_plus_cents: i64,
}

/// Active accounts owing at least `min_overdue_cents` that is 60 days old
/// or older on `today`, leaving out accounts keeping a payment plan or with
/// a payment still processing. By account number.
pub async fn shut_off_notices(
    tx: &TenantTx,
    today: NaiveDate,
    min_overdue_cents: i64,
) -> Result<Vec<ShutOffNotice>, BillingError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut q = scoped::<account::Entity>(tx).filter(account::Column::Status.eq("active"));
        if let Some(a) = &after {
            q = q.filter(account::Column::AccountNumber.gt(a.as_str()));
        }
        let batch = q
            .order_by_asc(account::Column::AccountNumber)
            .limit(500)
            .all(tx.conn())
            .await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.account_number.clone());
        for a in batch {
            let id = AccountId::from_uuid(a.id);
            let entries = ledger::for_account(tx, id).await?;
            let aged = aging::aging(&entries, today);
            let overdue = aged.days_60 + aged.days_90_plus;
            if overdue <= 0 || overdue < min_overdue_cents {
                continue;
            }
            if ledger::has_payment_in_flight(tx, id).await? {
                continue;
            }
            if kept(&active(tx, id).await?, &entries, today) {
                continue;
            }
            out.push(ShutOffNotice {
                account_number: a.account_number,
                holder_name: a.holder_name,
                balance_cents: aged.total,
                overdue_cents: overdue,
                days_90_plus_cents: aged.days_90_plus,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installments_sum_to_the_total_monthly() {
        let first = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap();
        let list = installments(10_000, 3, first);
        assert_eq!(
            list.iter().map(|i| i.amount_cents).collect::<Vec<_>>(),
            vec![3_333, 3_333, 3_334]
        );
        assert_eq!(
            list[1].due_on,
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
        );
        assert_eq!(
            list[2].due_on,
            NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()
        );
    }
}
