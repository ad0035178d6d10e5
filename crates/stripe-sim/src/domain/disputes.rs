//! Disputes: opened, then won or lost.

use serde_json::{Value, json};

use super::*;
use crate::error::ApiError;
use crate::ids::{new_id, now};
use crate::store::{ReqInfo, Store};

/// Opens a dispute on a succeeded charge: funds and the $15 fee are withdrawn.
pub fn open_dispute(store: &mut Store, charge_id: &str, reason: &str) -> Result<Value, ApiError> {
    let Some(obj) = store.raw(charge_id).cloned() else {
        return Err(ApiError::no_such("charge", charge_id, "charge"));
    };
    let (owner, ch) = (obj.owner.as_deref(), obj.json);
    if ch["status"] != "succeeded" || ch["disputed"] == true {
        return Err(ApiError::invalid(
            None,
            "Charge is not succeeded or is already disputed.",
            Some("charge"),
        ));
    }
    let amount =
        ch["amount_captured"].as_i64().unwrap_or(0) - ch["amount_refunded"].as_i64().unwrap_or(0);
    let currency = text(&ch["currency"]);
    let du_id = new_id("du");
    let txn = new_txn(
        store,
        owner,
        "adjustment",
        "dispute",
        -amount,
        &[("stripe_fee", DISPUTE_FEE, "Dispute fee")],
        &currency,
        Some(&du_id),
        Some("Chargeback withdrawal"),
    );
    let created = now();
    let dispute = json!({
        "id": du_id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [txn],
        "charge": ch["id"],
        "created": created,
        "currency": currency,
        "enhanced_eligibility_types": [],
        "evidence": {"enhanced_evidence": {}},
        "evidence_details": {"due_by": created + 7 * 86_400, "enhanced_eligibility": {}, "has_evidence": false, "past_due": false, "submission_count": 0},
        "is_charge_refundable": false,
        "livemode": false,
        "metadata": {},
        "payment_intent": ch["payment_intent"],
        "payment_method_details": {"type": "card", "card": {"brand": "visa", "case_type": "chargeback", "network": "visa", "network_reason_code": "10.4"}},
        "reason": reason,
        "status": "needs_response",
    });
    let dispute = store.insert(owner, dispute);
    store.update(charge_id, |c| {
        c.insert("disputed".into(), json!(true));
        c.insert("dispute".into(), json!(du_id));
    });
    let req = ReqInfo::default();
    store.emit(owner, "charge.dispute.created", &dispute, None, &req);
    store.emit(
        owner,
        "charge.dispute.funds_withdrawn",
        &dispute,
        None,
        &req,
    );
    Ok(dispute)
}

/// Closes a dispute: `under_review` (an update event), then `won` (funds reinstated) or `lost`.
pub fn close_dispute(store: &mut Store, du_id: &str, won: bool) -> Result<Value, ApiError> {
    let Some(obj) = store.raw(du_id).cloned() else {
        return Err(ApiError::no_such("dispute", du_id, "dispute"));
    };
    let owner = obj.owner.as_deref();
    let status = text(&obj.json["status"]);
    if status == "won" || status == "lost" {
        return Err(ApiError::invalid(
            None,
            format!("Dispute {du_id} is already closed ({status})."),
            None,
        ));
    }
    let req = ReqInfo::default();
    let d = store.update(du_id, |d| {
        d.insert("status".into(), json!("under_review"));
        d.insert("evidence_details".into(), json!({"due_by": obj.json["evidence_details"]["due_by"], "enhanced_eligibility": {}, "has_evidence": true, "past_due": false, "submission_count": 1}));
    });
    store.emit(
        owner,
        "charge.dispute.updated",
        &d,
        Some(json!({"status": status})),
        &req,
    );
    if won {
        let amount = obj.json["amount"].as_i64().unwrap_or(0);
        let currency = text(&obj.json["currency"]);
        let txn = new_txn(
            store,
            owner,
            "adjustment",
            "dispute_reversal",
            amount,
            &[],
            &currency,
            Some(du_id),
            Some("Chargeback reversal"),
        );
        store.update(du_id, |d| {
            if let Some(list) = d
                .get_mut("balance_transactions")
                .and_then(Value::as_array_mut)
            {
                list.push(txn);
            }
        });
    }
    let d = store.update(du_id, |d| {
        d.insert("status".into(), json!(if won { "won" } else { "lost" }));
    });
    if won {
        store.emit(owner, "charge.dispute.funds_reinstated", &d, None, &req);
    }
    store.emit(owner, "charge.dispute.closed", &d, None, &req);
    Ok(d)
}
