//! Reports as CSV: AR aging, the billing register of a run, and the
//! general-ledger export for the association's accountant.
//!
//! Text cells that a spreadsheet would read as a formula (starting with
//! `=`, `+`, `-`, `@`, a tab or a carriage return) are prefixed with `'`,
//! so a customer named `=HYPERLINK(…)` stays text. Amounts are written by
//! us as plain decimal numbers (`-12.50`) and stay numbers.

use crate::aging;
use crate::entity::{account, bill};
use crate::error::BillingError;
use crate::{bill_runs, bills, ledger};
use aqueduct_core::{BillId, BillRunId};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::NaiveDate;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;

/// Makes a text cell safe from formula injection.
pub fn escape_cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

/// Cents as a plain decimal number: `1234.50`, `-0.05`.
pub fn dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

struct Csv(csv::Writer<Vec<u8>>);

impl Csv {
    fn new(header: &[&str]) -> Result<Self, BillingError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(header).map_err(io)?;
        Ok(Self(w))
    }
    fn row(&mut self, cells: &[String]) -> Result<(), BillingError> {
        self.0.write_record(cells).map_err(io)
    }
    fn finish(self) -> Result<String, BillingError> {
        let bytes = self.0.into_inner().map_err(|e| io(e.into_error()))?;
        String::from_utf8(bytes).map_err(|e| BillingError::Invalid(e.to_string()))
    }
}

fn io(e: impl std::fmt::Display) -> BillingError {
    BillingError::Invalid(format!("writing CSV: {e}"))
}

async fn accounts_by_id(
    tx: &TenantTx,
) -> Result<HashMap<uuid::Uuid, account::Model>, BillingError> {
    Ok(scoped::<account::Entity>(tx)
        .order_by_asc(account::Column::AccountNumber)
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect())
}

/// AR aging on `as_of`: one row per account with a balance.
pub async fn aging_csv(tx: &TenantTx, as_of: NaiveDate) -> Result<String, BillingError> {
    let accounts = accounts_by_id(tx).await?;
    let mut by_account: HashMap<uuid::Uuid, Vec<_>> = HashMap::new();
    for e in ledger::all(tx).await? {
        by_account.entry(e.account_id).or_default().push(e);
    }
    let mut rows: Vec<(&account::Model, aging::Aging)> = by_account
        .iter()
        .filter_map(|(id, es)| accounts.get(id).map(|a| (a, aging::aging(es, as_of))))
        .filter(|(_, a)| a.total != 0)
        .collect();
    rows.sort_by(|x, y| x.0.account_number.cmp(&y.0.account_number));
    let mut out = Csv::new(&[
        "account_number",
        "holder_name",
        "current",
        "days_30",
        "days_60",
        "days_90_plus",
        "total",
    ])?;
    for (a, g) in rows {
        out.row(&[
            escape_cell(&a.account_number),
            escape_cell(&a.holder_name),
            dollars(g.current),
            dollars(g.days_30),
            dollars(g.days_60),
            dollars(g.days_90_plus),
            dollars(g.total),
        ])?;
    }
    out.finish()
}

/// The billing register of a run: every bill it issued.
pub async fn register_csv(tx: &TenantTx, run: BillRunId) -> Result<String, BillingError> {
    bill_runs::get(tx, run).await?;
    let accounts = accounts_by_id(tx).await?;
    let list = scoped::<bill::Entity>(tx)
        .filter(bill::Column::BillRunId.eq(run.uuid()))
        .order_by_asc(bill::Column::Number)
        .all(tx.conn())
        .await?;
    let mut out = Csv::new(&[
        "bill_number",
        "account_number",
        "holder_name",
        "read_from",
        "read_to",
        "usage",
        "unit",
        "estimated",
        "total",
        "due_on",
        "voided",
    ])?;
    for b in list {
        let (number, holder) = accounts
            .get(&b.account_id)
            .map(|a| (a.account_number.as_str(), a.holder_name.as_str()))
            .unwrap_or(("", ""));
        let voided = bills::is_voided(tx, BillId::from_uuid(b.id)).await?;
        out.row(&[
            b.number.to_string(),
            escape_cell(number),
            escape_cell(holder),
            b.read_from.to_string(),
            b.read_to.to_string(),
            b.usage_units.to_string(),
            b.usage_unit.clone(),
            b.estimated.to_string(),
            dollars(b.total_cents),
            b.due_on.to_string(),
            voided.to_string(),
        ])?;
    }
    out.finish()
}

/// The general ledger: two lines per entry (its debit and its credit).
pub async fn general_ledger_csv(tx: &TenantTx) -> Result<String, BillingError> {
    let accounts = accounts_by_id(tx).await?;
    let mut out = Csv::new(&[
        "date",
        "entry_id",
        "gl_account",
        "debit",
        "credit",
        "customer_account",
        "kind",
        "memo",
    ])?;
    for e in ledger::all(tx).await? {
        let customer = accounts
            .get(&e.account_id)
            .map(|a| escape_cell(&a.account_number))
            .unwrap_or_default();
        for (gl, debit, credit) in [
            (&e.debit, dollars(e.amount_cents), String::new()),
            (&e.credit, String::new(), dollars(e.amount_cents)),
        ] {
            out.row(&[
                e.effective_on.to_string(),
                e.id.to_string(),
                gl.clone(),
                debit,
                credit,
                customer.clone(),
                e.kind.clone(),
                escape_cell(&e.memo),
            ])?;
        }
    }
    out.finish()
}

/// The payments journal: payments, refunds, dispute holds and their
/// reversals, in posting order.
pub async fn payments_csv(tx: &TenantTx) -> Result<String, BillingError> {
    let accounts = accounts_by_id(tx).await?;
    let mut out = Csv::new(&[
        "date",
        "entry_id",
        "customer_account",
        "kind",
        "amount",
        "external_id",
        "memo",
    ])?;
    for e in ledger::all(tx).await? {
        let money_moved = e.debit == ledger::gl::CASH || e.credit == ledger::gl::CASH;
        if !money_moved {
            continue;
        }
        // Money in is positive, money out (refunds, holds) negative.
        let signed = if e.debit == ledger::gl::CASH {
            e.amount_cents
        } else {
            -e.amount_cents
        };
        out.row(&[
            e.effective_on.to_string(),
            e.id.to_string(),
            accounts
                .get(&e.account_id)
                .map(|a| escape_cell(&a.account_number))
                .unwrap_or_default(),
            e.kind.clone(),
            dollars(signed),
            escape_cell(e.external_id.as_deref().unwrap_or("")),
            escape_cell(&e.memo),
        ])?;
    }
    out.finish()
}

/// Consumption by month (of the read that closed each bill) and meter
/// size: bills, use and billed amount; voided bills left out. Accounts
/// whose usage data passed its retention period are counted from
/// `usage_aggregates` (the retention job's anonymised totals) instead of
/// their bills, so the totals stay the same after aggregation.
pub async fn consumption_csv(tx: &TenantTx) -> Result<String, BillingError> {
    use std::collections::BTreeMap;
    let meters: HashMap<uuid::Uuid, String> = scoped::<crate::entity::meter::Entity>(tx)
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|m| (m.id, m.size))
        .collect();
    let voided: std::collections::HashSet<uuid::Uuid> =
        scoped::<crate::entity::bill_void::Entity>(tx)
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|v| v.bill_id)
            .collect();
    let aggregated: std::collections::HashSet<uuid::Uuid> =
        scoped::<crate::entity::usage_aggregated_account::Entity>(tx)
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|a| a.account_id)
            .collect();
    let mut groups: BTreeMap<(String, String, String), (i64, i64, i64)> = BTreeMap::new();
    for a in scoped::<crate::entity::usage_aggregate::Entity>(tx)
        .all(tx.conn())
        .await?
    {
        let g = groups.entry((a.month, a.meter_size, a.unit)).or_default();
        g.0 += i64::from(a.bills);
        g.1 += a.usage_units;
        g.2 += a.billed_cents;
    }
    for b in scoped::<bill::Entity>(tx).all(tx.conn()).await? {
        if voided.contains(&b.id) || aggregated.contains(&b.account_id) {
            continue;
        }
        let key = (
            b.read_to.format("%Y-%m").to_string(),
            meters.get(&b.meter_id).cloned().unwrap_or_default(),
            b.usage_unit.clone(),
        );
        let g = groups.entry(key).or_default();
        g.0 += 1;
        g.1 += b.usage_units;
        g.2 += b.total_cents;
    }
    let mut out = Csv::new(&["month", "meter_size", "bills", "usage", "unit", "billed"])?;
    for ((month, size, unit), (n, usage, billed)) in groups {
        out.row(&[
            month,
            escape_cell(&size),
            n.to_string(),
            usage.to_string(),
            unit,
            dollars(billed),
        ])?;
    }
    out.finish()
}

/// The deposit register: every account that ever held a deposit, with
/// what was received, applied to its balance, refunded, carried to or from
/// another account by a transfer, and what is held now; and of the
/// refunds, what is still owed to the customer and what was paid out
/// (see [`crate::deposit_refunds`]).
pub async fn deposit_register_csv(tx: &TenantTx) -> Result<String, BillingError> {
    let accounts = accounts_by_id(tx).await?;
    let mut by_account: HashMap<uuid::Uuid, Vec<_>> = HashMap::new();
    for e in ledger::all(tx).await? {
        if e.debit == ledger::gl::DEPOSITS || e.credit == ledger::gl::DEPOSITS {
            by_account.entry(e.account_id).or_default().push(e);
        }
    }
    let mut rows: Vec<(&account::Model, &Vec<_>)> = by_account
        .iter()
        .filter_map(|(id, es)| accounts.get(id).map(|a| (a, es)))
        .collect();
    rows.sort_by(|x, y| x.0.account_number.cmp(&y.0.account_number));
    let mut out = Csv::new(&[
        "account_number",
        "holder_name",
        "status",
        "received",
        "applied",
        "refunded",
        "transferred",
        "held",
        "refund_owed",
        "refund_paid",
    ])?;
    let refunds = crate::deposit_refunds::totals_by_account(tx).await?;
    for (a, es) in rows {
        let v = crate::lifecycle::deposit_view(es);
        let transferred: i64 = es
            .iter()
            .filter(|e| e.kind == ledger::EntryKind::Transfer.as_str())
            .map(|e| {
                if e.credit == ledger::gl::DEPOSITS {
                    e.amount_cents
                } else {
                    -e.amount_cents
                }
            })
            .sum();
        out.row(&[
            escape_cell(&a.account_number),
            escape_cell(&a.holder_name),
            a.status.clone(),
            dollars(v.received_cents),
            dollars(v.applied_cents),
            dollars(v.refunded_cents),
            dollars(transferred),
            dollars(v.held_cents),
            dollars(refunds.get(&a.id).map_or(0, |r| r.0)),
            dollars(refunds.get(&a.id).map_or(0, |r| r.1)),
        ])?;
    }
    out.finish()
}

/// Estimated reads in `from..=to` (an exceptions report): account, meter,
/// day, value, and whether an actual read has trued it up since.
pub async fn estimated_reads_csv(
    tx: &TenantTx,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<String, BillingError> {
    let mut out = Csv::new(&[
        "account_number",
        "meter_serial",
        "read_on",
        "estimated_value",
        "trued_up",
    ])?;
    for r in crate::estimates::estimated_reads(tx, from, to).await? {
        out.row(&[
            escape_cell(&r.account_number),
            escape_cell(&r.serial),
            r.read_on.to_string(),
            r.value.to_string(),
            r.trued_up.to_string(),
        ])?;
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_escaped() {
        assert_eq!(escape_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(escape_cell("+1"), "'+1");
        assert_eq!(escape_cell("-2+3"), "'-2+3");
        assert_eq!(escape_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(escape_cell("\tx"), "'\tx");
        assert_eq!(escape_cell("Maria Garcia"), "Maria Garcia");
        assert_eq!(escape_cell(""), "");
    }

    #[test]
    fn amounts_are_plain_numbers() {
        assert_eq!(dollars(123_450), "1234.50");
        assert_eq!(dollars(-5), "-0.05");
        assert_eq!(dollars(0), "0.00");
    }
}
