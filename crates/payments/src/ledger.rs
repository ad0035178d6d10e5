//! The one place payments touch the ledger (`aqueduct_billing::ledger`).
//! Every function is idempotent on its external id, so a repeated event
//! never posts twice. Amounts are integer cents; the accounting date is the
//! UTC date of the clock.

use crate::PaymentsError;
use aqueduct_billing::ledger;
use aqueduct_core::{AccountId, Clock, Money};
use aqueduct_tenant::TenantTx;

/// Posts a payment received (external id: ours, `payment:<id>`).
pub async fn post_payment(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    amount: Money,
    external_id: &str,
) -> Result<(), PaymentsError> {
    let today = clock.now().date_naive();
    ledger::post_payment(tx, clock, account, amount, today, external_id).await?;
    Ok(())
}

/// Posts a payment's convenience fee as its own line (a charge, receivable
/// ← revenue; external id `payment:<id>:convenience_fee`).
pub async fn post_convenience_fee(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    amount: Money,
    external_id: &str,
) -> Result<(), PaymentsError> {
    ledger::post(
        tx,
        clock,
        ledger::NewEntry {
            account,
            kind: ledger::EntryKind::Charge,
            amount,
            effective_on: clock.now().date_naive(),
            external_id: Some(external_id.to_owned()),
            bill: None,
            memo: "Convenience fee for paying online".into(),
        },
    )
    .await?;
    Ok(())
}

/// Gives back the convenience fee part of a refund (a credit, revenue ←
/// receivable; external id `<refund id>:convenience_fee`).
pub async fn refund_convenience_fee(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    amount: Money,
    external_id: &str,
) -> Result<(), PaymentsError> {
    ledger::post(
        tx,
        clock,
        ledger::NewEntry {
            account,
            kind: ledger::EntryKind::Credit,
            amount,
            effective_on: clock.now().date_naive(),
            external_id: Some(external_id.to_owned()),
            bill: None,
            memo: "Convenience fee refunded".into(),
        },
    )
    .await?;
    Ok(())
}

/// Marks a payment as in flight (ACH processing): late fees skip the account.
pub async fn payment_processing(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    external_id: &str,
) -> Result<(), PaymentsError> {
    ledger::payment_processing(tx, clock, account, external_id).await?;
    Ok(())
}

/// A payment in flight failed: nothing was posted; clear the flag.
pub async fn payment_failed(
    tx: &TenantTx,
    clock: &dyn Clock,
    external_id: &str,
) -> Result<(), PaymentsError> {
    ledger::payment_settled(tx, clock, external_id).await?;
    Ok(())
}

/// Posts a refund (external id: the Stripe refund id).
pub async fn post_refund(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    amount: Money,
    external_id: &str,
) -> Result<(), PaymentsError> {
    let today = clock.now().date_naive();
    ledger::post_refund(tx, clock, account, amount, today, external_id).await?;
    Ok(())
}

/// Posts a dispute hold (external id: the Stripe dispute id).
pub async fn post_dispute_hold(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    amount: Money,
    external_id: &str,
) -> Result<(), PaymentsError> {
    let today = clock.now().date_naive();
    ledger::post_dispute_hold(tx, clock, account, amount, today, external_id).await?;
    Ok(())
}

/// Releases the hold of a won dispute.
pub async fn release_dispute_hold(
    tx: &TenantTx,
    clock: &dyn Clock,
    hold_external_id: &str,
) -> Result<(), PaymentsError> {
    let today = clock.now().date_naive();
    ledger::release_dispute_hold(tx, clock, hold_external_id, today).await?;
    Ok(())
}

/// What the account owes now (zero or less: nothing due).
pub async fn amount_due(tx: &TenantTx, account: AccountId) -> Result<Money, PaymentsError> {
    Ok(ledger::balance(tx, account).await?)
}
