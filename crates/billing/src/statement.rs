//! What a bill document shows: the bill, who and where, the balance
//! carried, payments since the last bill, the amount due and the use of
//! the last 13 bills.

use crate::entity::{account, bill, service_location};
use crate::error::BillingError;
use crate::{accounts, aging, bills, ledger, locations};
use aqueduct_core::{AccountId, BillId, LocationId};
use aqueduct_rates::LineItem;
use aqueduct_tenant::TenantTx;
use chrono::NaiveDate;

/// Everything on one bill document.
#[derive(Debug, Clone)]
pub struct Statement {
    /// The bill.
    pub bill: bill::Model,
    /// Voided since.
    pub voided: bool,
    /// The account billed.
    pub account: account::Model,
    /// Where the water was delivered.
    pub service_address: Option<service_location::Model>,
    /// The bill's line items.
    pub lines: Vec<LineItem>,
    /// Owed at the previous bill (cents).
    pub previous_balance: i64,
    /// Payments and credits since then (cents, positive).
    pub payments_since: i64,
    /// Owed now, this bill included (cents).
    pub amount_due: i64,
    /// (read date, use) of up to 13 bills, oldest first, this one last.
    pub usage_history: Vec<(NaiveDate, i64)>,
    /// A meter change-out inside the bill's reads.
    pub change_out: Option<ChangeOutNote>,
}

/// A meter replaced during the billed period.
#[derive(Debug, Clone)]
pub struct ChangeOutNote {
    /// Day of the change.
    pub changed_on: NaiveDate,
    /// The removed meter's serial.
    pub old_serial: String,
    /// Its final read.
    pub old_final_value: i64,
    /// The new meter's serial.
    pub new_serial: String,
    /// Its initial read.
    pub new_initial_value: i64,
}

/// Builds the statement of a bill.
pub async fn for_bill(tx: &TenantTx, id: BillId) -> Result<Statement, BillingError> {
    let bill = bills::get(tx, id).await?;
    let voided = bills::is_voided(tx, id).await?;
    let account_id = AccountId::from_uuid(bill.account_id);
    let account = accounts::get(tx, account_id).await?;
    let meter = crate::meters::get(tx, aqueduct_core::MeterId::from_uuid(bill.meter_id)).await?;
    let service_address = locations::get(tx, LocationId::from_uuid(meter.location_id))
        .await
        .ok();
    let lines: Vec<LineItem> = serde_json::from_str(&bill.lines)
        .map_err(|e| BillingError::Invalid(format!("bill {id} lines: {e}")))?;
    let mut history: Vec<bill::Model> = bills::for_account(tx, account_id)
        .await?
        .into_iter()
        .filter(|b| b.number <= bill.number && b.meter_id == bill.meter_id)
        .collect();
    history.sort_by_key(|b| b.read_to);
    history.dedup_by_key(|b| b.read_to);
    let previous_end = history
        .iter()
        .rev()
        .find(|b| b.read_to < bill.read_to)
        .map(|b| b.period_end);
    let entries: Vec<_> = ledger::for_account(tx, account_id)
        .await?
        .into_iter()
        .filter(|e| e.effective_on <= bill.period_end && e.bill_id != Some(bill.id))
        .collect();
    let before = aging::receivable(&entries);
    let payments_since: i64 = entries
        .iter()
        .filter(|e| previous_end.is_none_or(|p| e.effective_on > p))
        .filter(|e| e.credit == ledger::gl::RECEIVABLE)
        .map(|e| e.amount_cents)
        .sum();
    let usage_history = history
        .iter()
        .rev()
        .take(13)
        .rev()
        // A true-up bill's use can be negative (a correction): drawn as none.
        .map(|b| (b.read_to, b.usage_units.max(0)))
        .collect();
    let change_out = match crate::lifecycle::change_installing(tx, bill.meter_id).await? {
        Some(c) if c.changed_on > bill.read_from && c.changed_on <= bill.read_to => {
            let old =
                crate::meters::get(tx, aqueduct_core::MeterId::from_uuid(c.old_meter_id)).await?;
            Some(ChangeOutNote {
                changed_on: c.changed_on,
                old_serial: old.serial,
                old_final_value: c.old_final_value,
                new_serial: meter.serial.clone(),
                new_initial_value: c.new_initial_value,
            })
        }
        _ => None,
    };
    Ok(Statement {
        change_out,
        previous_balance: before + payments_since,
        payments_since,
        amount_due: before + bill.total_cents,
        bill,
        voided,
        account,
        service_address,
        lines,
        usage_history,
    })
}
