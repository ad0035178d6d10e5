//! Refunds: never more than was captured.

use serde_json::{Map, Value, json};

use super::*;
use crate::error::ApiError;
use crate::ids::{new_id, now};
use crate::store::{ReqInfo, Store};

/// The charge a refund or dispute targets: `payment_intent`'s latest charge, or `charge`.
pub fn charge_for(
    store: &Store,
    owner: Option<&str>,
    payment_intent: Option<&str>,
    charge: Option<&str>,
) -> Result<Value, ApiError> {
    if let Some(pi_id) = payment_intent {
        let pi = store.get(
            owner,
            "payment_intent",
            pi_id,
            "payment_intent",
            "payment_intent",
        )?;
        let ch = s(&pi["latest_charge"])
            .and_then(|id| store.raw(id))
            .map(|o| o.json.clone())
            .filter(|c| c["status"] == "succeeded");
        return ch.ok_or_else(|| {
            ApiError::invalid(
                None,
                format!("PaymentIntent {pi_id} does not have a successful charge to refund."),
                Some("payment_intent"),
            )
        });
    }
    match charge {
        Some(id) => store.get(owner, "charge", id, "charge", "charge"),
        None => Err(ApiError::invalid(
            None,
            "One of the following params should be provided for this request: payment_intent or charge.",
            None,
        )),
    }
}

/// Refunds `amount` (default: all that is left) of a charge, never more than captured.
pub fn refund(
    store: &mut Store,
    owner: Option<&str>,
    charge: &Value,
    amount: Option<i64>,
    reason: Option<String>,
    metadata: Map<String, Value>,
    req: &ReqInfo,
) -> Result<Value, ApiError> {
    let ch_id = text(&charge["id"]);
    let captured = charge["amount_captured"].as_i64().unwrap_or(0);
    let refunded = charge["amount_refunded"].as_i64().unwrap_or(0);
    let left = captured - refunded;
    if left <= 0 {
        return Err(ApiError::invalid(
            Some("charge_already_refunded"),
            format!("Charge {ch_id} has already been refunded."),
            None,
        ));
    }
    let amount = amount.unwrap_or(left);
    if amount <= 0 {
        return Err(ApiError::invalid(
            Some("parameter_invalid_integer"),
            "Invalid positive integer",
            Some("amount"),
        ));
    }
    if amount > left {
        return Err(ApiError::invalid(
            Some("amount_too_large"),
            format!(
                "Refund amount ({}) is greater than unrefunded amount on charge ({})",
                dollars(amount),
                dollars(left)
            ),
            Some("amount"),
        ));
    }
    if let Some(r) = &reason
        && !["duplicate", "fraudulent", "requested_by_customer"].contains(&r.as_str())
    {
        return Err(ApiError::invalid(
            Some("parameter_invalid_string"),
            "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
            Some("reason"),
        ));
    }
    let currency = text(&charge["currency"]);
    let re_id = new_id("re");
    let txn = new_txn(
        store,
        owner,
        "refund",
        "refund",
        -amount,
        &[],
        &currency,
        Some(&re_id),
        Some("REFUND FOR CHARGE"),
    );
    let refund = json!({
        "id": re_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": txn["id"],
        "charge": ch_id,
        "created": now(),
        "currency": currency,
        "destination_details": {"type": "card", "card": {"reference_status": "pending", "reference_type": "acquirer_reference_number", "type": "refund"}},
        "metadata": metadata,
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "receipt_number": null,
        "source_transfer_reversal": null,
        "status": "succeeded",
        "transfer_reversal": null,
    });
    let refund = store.insert(owner, refund);
    store.emit(owner, "refund.created", &refund, None, req);
    let total = refunded + amount;
    let charge = store.update(&ch_id, |c| {
        c.insert("amount_refunded".into(), json!(total));
        c.insert("refunded".into(), json!(total == captured));
    });
    store.emit(
        owner,
        "charge.refunded",
        &charge,
        Some(json!({"amount_refunded": refunded, "refunded": false})),
        req,
    );
    Ok(refund)
}
