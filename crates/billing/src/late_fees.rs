//! Late fees: the association's rule and the daily job.
//!
//! A bill past its due date plus the grace days, with a past-due amount of
//! at least the rule's minimum, gets one late fee: flat cents plus a
//! percentage of the past-due amount. The fee's external id is
//! `late_fee:<bill id>`, so the job can run any number of times a day and
//! each bill is charged at most once. An account with a payment in flight
//! (see [`crate::ledger::payment_processing`]) is skipped until it settles,
//! and so is one keeping a payment plan (see [`crate::payment_plans`]).

use crate::aging;
use crate::entity::{bill, late_fee_rule};
use crate::error::BillingError;
use crate::ledger::{self, EntryKind, NewEntry};
use aqueduct_core::{AccountId, BillId, Clock, Money};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};

/// A late-fee rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Flat fee in cents.
    pub flat_cents: i64,
    /// Percentage of the past-due amount in basis points (150 = 1.5 %).
    pub percent_bp: i32,
    /// Days after the due date before a fee.
    pub grace_days: i32,
    /// No fee below this past-due amount (cents).
    pub min_balance_cents: i64,
}

impl Rule {
    /// Checks the numbers are sensible.
    pub fn validate(&self) -> Result<(), BillingError> {
        let ok = (0..=100_000).contains(&self.flat_cents)
            && (0..=2_500).contains(&self.percent_bp)
            && (0..=120).contains(&self.grace_days)
            && self.min_balance_cents >= 0
            && (self.flat_cents > 0 || self.percent_bp > 0);
        if ok {
            Ok(())
        } else {
            Err(BillingError::Invalid(
                "a late fee is 0–$1,000 flat plus 0–25 %, with 0–120 grace days".into(),
            ))
        }
    }

    /// The fee on `past_due` cents: flat plus the percentage, rounded half
    /// up to the cent.
    pub fn fee(&self, past_due: i64) -> i64 {
        let pct = (past_due * i64::from(self.percent_bp) + 5_000) / 10_000;
        self.flat_cents + pct
    }
}

/// The association's rule, if it has one.
pub async fn rule(tx: &TenantTx) -> Result<Option<Rule>, BillingError> {
    Ok(scoped::<late_fee_rule::Entity>(tx)
        .one(tx.conn())
        .await?
        .map(|r| Rule {
            flat_cents: r.flat_cents,
            percent_bp: r.percent_bp,
            grace_days: r.grace_days,
            min_balance_cents: r.min_balance_cents,
        }))
}

/// Sets the association's rule.
pub async fn set_rule(tx: &TenantTx, clock: &dyn Clock, r: Rule) -> Result<Rule, BillingError> {
    r.validate()?;
    let exists = rule(tx).await?.is_some();
    let row = late_fee_rule::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        flat_cents: Set(r.flat_cents),
        percent_bp: Set(r.percent_bp),
        grace_days: Set(r.grace_days),
        min_balance_cents: Set(r.min_balance_cents),
        updated_at: Set(clock.now()),
    };
    if exists {
        row.update(tx.conn()).await?;
    } else {
        row.insert(tx.conn()).await?;
    }
    Ok(r)
}

/// What a run of the job did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LateFeeReport {
    /// Bills past due (after grace) looked at.
    pub past_due_bills: u64,
    /// Fees posted by this run.
    pub assessed: u64,
    /// Total of those fees in cents.
    pub assessed_cents: i64,
    /// Bills already charged a fee.
    pub already_assessed: u64,
    /// Skipped: a payment is in flight.
    pub payment_in_flight: u64,
    /// Skipped: past-due amount below the minimum (or paid).
    pub below_minimum: u64,
    /// Skipped: the account is keeping a payment plan.
    pub on_payment_plan: u64,
}

/// The daily job: assesses late fees as of `today`. Idempotent.
pub async fn assess(
    tx: &TenantTx,
    clock: &dyn Clock,
    today: NaiveDate,
) -> Result<LateFeeReport, BillingError> {
    let mut report = LateFeeReport::default();
    let Some(rule) = rule(tx).await? else {
        return Ok(report);
    };
    let last_due = today - chrono::Duration::days(i64::from(rule.grace_days) + 1);
    let bills = scoped::<bill::Entity>(tx)
        .filter(bill::Column::DueOn.lte(last_due))
        .order_by_asc(bill::Column::Number)
        .all(tx.conn())
        .await?;
    for b in bills {
        let id = BillId::from_uuid(b.id);
        if crate::bills::is_voided(tx, id).await? {
            continue;
        }
        report.past_due_bills += 1;
        let external = format!("late_fee:{id}");
        if ledger::by_external_id(tx, &external).await?.is_some() {
            report.already_assessed += 1;
            continue;
        }
        let account = AccountId::from_uuid(b.account_id);
        if ledger::has_payment_in_flight(tx, account).await? {
            report.payment_in_flight += 1;
            continue;
        }
        let entries = ledger::for_account(tx, account).await?;
        if crate::payment_plans::kept(
            &crate::payment_plans::active(tx, account).await?,
            &entries,
            today,
        ) {
            report.on_payment_plan += 1;
            continue;
        }
        let past_due = aging::unpaid_through(&entries, b.period_end, today);
        if past_due <= 0 || past_due < rule.min_balance_cents {
            report.below_minimum += 1;
            continue;
        }
        let fee = rule.fee(past_due);
        let posted = ledger::post(
            tx,
            clock,
            NewEntry {
                account,
                kind: EntryKind::LateFee,
                amount: Money::usd(fee),
                effective_on: today,
                external_id: Some(external),
                bill: Some(id),
                memo: format!("Late fee on bill {}", b.number),
            },
        )
        .await?;
        if posted.created {
            report.assessed += 1;
            report.assessed_cents += fee;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_is_flat_plus_rounded_percentage() {
        let r = Rule {
            flat_cents: 500,
            percent_bp: 150,
            grace_days: 5,
            min_balance_cents: 100,
        };
        // 1.5 % of $38.85 = $0.58275 → $0.58.
        assert_eq!(r.fee(3_885), 558);
        // 1.5 % of $10.00 = $0.15 exactly.
        assert_eq!(r.fee(1_000), 515);
        assert!(r.validate().is_ok());
        let none = Rule {
            flat_cents: 0,
            percent_bp: 0,
            ..r
        };
        assert!(none.validate().is_err());
    }
}
