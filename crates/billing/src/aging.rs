//! Balances, aging and the trial balance, derived from ledger entries
//! (pure functions: the entries are the only truth).

use crate::entity::ledger_entry;
use crate::ledger::gl;
use chrono::NaiveDate;
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
