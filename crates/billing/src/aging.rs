//! Balances, aging and the trial balance, derived from ledger entries
//! (pure functions: the entries are the only truth).

use crate::entity::ledger_entry;
use crate::error::BillingError;
use crate::ledger::gl;
use aqueduct_tenant::TenantTx;
use chrono::{Days, NaiveDate};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the receivable account holds for these entries: debits minus
/// credits, in cents (negative is a credit balance).
pub fn receivable(entries: &[ledger_entry::Model]) -> i64 {
    entries.iter().map(receivable_delta).sum()
}

fn receivable_delta(e: &ledger_entry::Model) -> i64 {
    let mut d = 0;
    if e.debit == gl::RECEIVABLE {
        d += e.amount_cents;
    }
    if e.credit == gl::RECEIVABLE {
        d -= e.amount_cents;
    }
    d
}

/// A balance split by age, in cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Aging {
    /// Less than 30 days old (or a credit balance, negative).
    pub current: i64,
    /// 30–59 days.
    pub days_30: i64,
    /// 60–89 days.
    pub days_60: i64,
    /// 90 days and older.
    pub days_90_plus: i64,
    /// The whole balance.
    pub total: i64,
}

/// Ages a balance on `as_of`: payments and credits settle the oldest
/// charges first; what remains of each charge falls in the bucket of its
/// age (days since its effective date).
pub fn aging(entries: &[ledger_entry::Model], as_of: NaiveDate) -> Aging {
    let mut debits: Vec<(NaiveDate, i64)> = Vec::new();
    let mut credits: i64 = 0;
    for e in entries.iter().filter(|e| e.effective_on <= as_of) {
        let d = receivable_delta(e);
        if d > 0 {
            debits.push((e.effective_on, d));
        } else {
            credits -= d;
        }
    }
    debits.sort_by_key(|(date, _)| *date);
    let mut a = Aging::default();
    for (date, amount) in debits {
        let applied = credits.min(amount);
        credits -= applied;
        let left = amount - applied;
        let bucket = match (as_of - date).num_days() {
            ..30 => &mut a.current,
            30..60 => &mut a.days_30,
            60..90 => &mut a.days_60,
            _ => &mut a.days_90_plus,
        };
        *bucket += left;
    }
    a.current -= credits;
    a.total = a.current + a.days_30 + a.days_60 + a.days_90_plus;
    a
}

/// The association's receivables and their aging on `as_of`, computed by
/// the database (one aggregate query, nothing loaded per entry), so a
/// dashboard stays fast for an association of any size.
///
/// The figures are exactly those of [`aging`] applied to each customer
/// account's entries and summed: within an account, payments and credits
/// settle its oldest charges first, and an account with more credits than
/// charges counts as a negative `current` amount (a credit balance). One
/// customer's credit never settles another customer's charges. Entries
/// dated after `as_of` are left out, as in [`aging`]. Works on SQLite and
/// PostgreSQL (plain aggregates; dates compared as dates).
pub async fn totals(tx: &TenantTx, as_of: NaiveDate) -> Result<Aging, BillingError> {
    let backend = tx.conn().get_database_backend();
    // Bucket bounds as dates: an amount is `n` days old when its date is
    // `as_of - n`, so "under 30 days" is "dated after as_of - 30".
    let ago = |n: u64| {
        as_of
            .checked_sub_days(Days::new(n))
            .unwrap_or(NaiveDate::MIN)
    };
    let sql = AGING_SQL;
    let sql = if backend == DbBackend::Postgres {
        sql.to_owned()
    } else {
        // SQLite numbers its parameters `?1`…
        sql.replace('$', "?")
    };
    let row = tx
        .conn()
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                tx.tenant_id().uuid().into(),
                gl::RECEIVABLE.into(),
                as_of.into(),
                ago(30).into(),
                ago(60).into(),
                ago(90).into(),
            ],
        ))
        .await?
        .ok_or_else(|| BillingError::Invalid("the aging query returned no row".into()))?;
    let get = |c: &str| row.try_get::<i64>("", c);
    let mut a = Aging {
        current: get("current_cents")? - get("credit_cents")?,
        days_30: get("days_30_cents")?,
        days_60: get("days_60_cents")?,
        days_90_plus: get("days_90_cents")?,
        total: 0,
    };
    a.total = a.current + a.days_30 + a.days_60 + a.days_90_plus;
    Ok(a)
}

/// The aging of [`totals`]. Parameters: $1 tenant, $2 the receivable
/// account's name, $3 as-of date, $4/$5/$6 the dates 30/60/90 days before.
///
/// Payments and credits settle an account's oldest charges first, so what
/// is left of its charges dated on or before a day X is
/// `max(0, charged through X − paid)`: one pass over the entries, grouped by
/// account (`per_account`: charges through each bucket edge, and all that
/// lowered the receivable), gives each bucket as the difference of two such
/// amounts. `spare` is what was paid beyond every charge (a credit
/// balance). An entry moves the receivable by `amount_cents` one way or the
/// other: the database guarantees amounts are positive and that no entry
/// debits and credits the same account.
const AGING_SQL: &str = "\
WITH per_account AS (
  SELECT
    SUM(CASE WHEN debit = $2 THEN amount_cents ELSE 0 END) AS charged,
    SUM(CASE WHEN debit = $2 AND effective_on <= $4 THEN amount_cents ELSE 0 END) AS charged_30,
    SUM(CASE WHEN debit = $2 AND effective_on <= $5 THEN amount_cents ELSE 0 END) AS charged_60,
    SUM(CASE WHEN debit = $2 AND effective_on <= $6 THEN amount_cents ELSE 0 END) AS charged_90,
    SUM(CASE WHEN credit = $2 THEN amount_cents ELSE 0 END) AS paid
  FROM ledger_entries
  WHERE tenant_id = $1 AND effective_on <= $3 AND (debit = $2 OR credit = $2)
  GROUP BY account_id
),
unpaid AS (
  SELECT
    CASE WHEN charged > paid THEN charged - paid ELSE 0 END AS owed,
    CASE WHEN charged_30 > paid THEN charged_30 - paid ELSE 0 END AS owed_30,
    CASE WHEN charged_60 > paid THEN charged_60 - paid ELSE 0 END AS owed_60,
    CASE WHEN charged_90 > paid THEN charged_90 - paid ELSE 0 END AS owed_90,
    CASE WHEN paid > charged THEN paid - charged ELSE 0 END AS spare
  FROM per_account
)
SELECT
  CAST(COALESCE(SUM(owed - owed_30), 0) AS BIGINT) AS current_cents,
  CAST(COALESCE(SUM(owed_30 - owed_60), 0) AS BIGINT) AS days_30_cents,
  CAST(COALESCE(SUM(owed_60 - owed_90), 0) AS BIGINT) AS days_60_cents,
  CAST(COALESCE(SUM(owed_90), 0) AS BIGINT) AS days_90_cents,
  CAST(COALESCE(SUM(spare), 0) AS BIGINT) AS credit_cents
FROM unpaid
";

/// What is still unpaid, on `today`, of the charges dated on or before
/// `cutoff` (payments and credits settle the oldest charges first).
pub fn unpaid_through(entries: &[ledger_entry::Model], cutoff: NaiveDate, today: NaiveDate) -> i64 {
    let mut debits: Vec<(NaiveDate, i64)> = Vec::new();
    let mut credits: i64 = 0;
    for e in entries.iter().filter(|e| e.effective_on <= today) {
        let d = receivable_delta(e);
        if d > 0 {
            debits.push((e.effective_on, d));
        } else {
            credits -= d;
        }
    }
    debits.sort_by_key(|(date, _)| *date);
    let mut unpaid = 0;
    for (date, amount) in debits {
        let applied = credits.min(amount);
        credits -= applied;
        if date <= cutoff {
            unpaid += amount - applied;
        }
    }
    unpaid
}

/// Debits minus credits per general-ledger account; the values always sum
/// to zero.
pub fn trial_balance(entries: &[ledger_entry::Model]) -> BTreeMap<&'static str, i64> {
    let mut out: BTreeMap<&'static str, i64> = gl::ALL.iter().map(|a| (*a, 0)).collect();
    for e in entries {
        for (name, slot) in out.iter_mut() {
            if e.debit == *name {
                *slot += e.amount_cents;
            }
            if e.credit == *name {
                *slot -= e.amount_cents;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn entry(debit: &str, credit: &str, cents: i64, on: &str) -> ledger_entry::Model {
        ledger_entry::Model {
            tenant_id: Uuid::nil(),
            id: Uuid::now_v7(),
            account_id: Uuid::nil(),
            kind: "x".into(),
            debit: debit.into(),
            credit: credit.into(),
            amount_cents: cents,
            effective_on: on.parse().unwrap(),
            posted_at: chrono::DateTime::UNIX_EPOCH,
            external_id: None,
            reverses_id: None,
            bill_id: None,
            memo: String::new(),
        }
    }

    #[test]
    fn payments_settle_the_oldest_charges_first() {
        let es = vec![
            entry(gl::RECEIVABLE, gl::REVENUE, 5_000, "2026-06-01"),
            entry(gl::RECEIVABLE, gl::REVENUE, 4_000, "2026-08-01"),
            entry(gl::RECEIVABLE, gl::REVENUE, 3_000, "2026-09-15"),
            entry(gl::RECEIVABLE, gl::REVENUE, 2_000, "2026-10-20"),
            entry(gl::CASH, gl::RECEIVABLE, 6_000, "2026-10-25"),
        ];
        let a = aging(&es, "2026-11-01".parse().unwrap());
        assert_eq!(
            a,
            Aging {
                current: 2_000,
                days_30: 3_000,
                days_60: 0,
                // June is paid in full; August keeps 3,000 of its 4,000.
                days_90_plus: 3_000,
                total: 8_000
            }
        );
        assert_eq!(receivable(&es), 8_000);
        assert_eq!(trial_balance(&es).values().sum::<i64>(), 0);
    }

    #[test]
    fn overpayment_is_a_credit_balance() {
        let es = vec![
            entry(gl::RECEIVABLE, gl::REVENUE, 1_000, "2026-01-01"),
            entry(gl::CASH, gl::RECEIVABLE, 1_500, "2026-01-10"),
        ];
        let a = aging(&es, "2026-06-01".parse().unwrap());
        assert_eq!(a.current, -500);
        assert_eq!(a.days_90_plus, 0);
        assert_eq!(a.total, -500);
    }
}
