//! Balance and payouts.

use serde_json::{Value, json};

use super::*;
use crate::error::ApiError;
use crate::ids::{new_id, now};
use crate::store::{ReqInfo, Store};

/// Available balance (sum of all balance transactions' `net`) per currency.
pub fn available(store: &Store, owner: Option<&str>) -> Vec<(String, i64)> {
    let mut by_currency: Vec<(String, i64)> = Vec::new();
    for t in store.all(owner, "balance_transaction") {
        let cur = text(&t["currency"]);
        let net = t["net"].as_i64().unwrap_or(0);
        match by_currency.iter_mut().find(|(c, _)| *c == cur) {
            Some(entry) => entry.1 += net,
            None => by_currency.push((cur, net)),
        }
    }
    if by_currency.is_empty() {
        by_currency.push(("usd".into(), 0));
    }
    by_currency
}

/// Pays out `amount` (default: the whole available USD balance) to the owner's bank:
/// the paid-out balance transactions are tied to the payout; `fail` makes it `failed`
/// and returns the money to the balance.
pub fn payout(
    store: &mut Store,
    owner: Option<&str>,
    amount: Option<i64>,
    fail: bool,
) -> Result<Value, ApiError> {
    let avail = available(store, owner)
        .into_iter()
        .find(|(c, _)| c == "usd")
        .map_or(0, |(_, a)| a);
    let amount = amount.unwrap_or(avail);
    if amount <= 0 || amount > avail {
        return Err(ApiError::invalid(
            Some("balance_insufficient"),
            format!(
                "You have insufficient funds in your Stripe account for this transfer. Your card balance is too low. You can use the /v1/balance endpoint to view your Stripe balance (for more details, see stripe.com/docs/api#balance). Available: {}.",
                dollars(avail)
            ),
            Some("amount"),
        ));
    }
    let po_id = new_id("po");
    let included: Vec<String> = store
        .all(owner, "balance_transaction")
        .into_iter()
        .filter_map(|t| t["id"].as_str().map(str::to_owned))
        .filter(|id| !store.payout_of.contains_key(id))
        .collect();
    let txn = new_txn(
        store,
        owner,
        "payout",
        "payout",
        -amount,
        &[],
        "usd",
        Some(&po_id),
        Some("STRIPE PAYOUT"),
    );
    let txn_id = text(&txn["id"]);
    for id in included.iter().chain(std::iter::once(&txn_id)) {
        store.payout_of.insert(id.clone(), po_id.clone());
    }
    let created = now();
    let po = json!({
        "id": po_id,
        "object": "payout",
        "amount": amount,
        "application_fee": null,
        "application_fee_amount": null,
        "arrival_date": created + 2 * 86_400,
        "automatic": true,
        "balance_transaction": txn_id,
        "created": created,
        "currency": "usd",
        "description": "STRIPE PAYOUT",
        "destination": "ba_aqueduct_sim",
        "failure_balance_transaction": null,
        "failure_code": null,
        "failure_message": null,
        "livemode": false,
        "metadata": {},
        "method": "standard",
        "original_payout": null,
        "payout_method": null,
        "reconciliation_status": "completed",
        "reversed_by": null,
        "source_type": "card",
        "statement_descriptor": null,
        "status": "in_transit",
        "trace_id": null,
        "type": "bank_account",
    });
    let po = store.insert(owner, po);
    let req = ReqInfo::default();
    store.emit(owner, "payout.created", &po, None, &req);
    let po = if fail {
        let ftxn = new_txn(
            store,
            owner,
            "payout_failure",
            "payout_reversal",
            amount,
            &[],
            "usd",
            Some(&po_id),
            Some("Payout failure"),
        );
        let fid = text(&ftxn["id"]);
        for id in &included {
            store.payout_of.remove(id);
        }
        store.payout_of.insert(fid.clone(), po_id.clone());
        store.update(&po_id, |p| {
            p.insert("status".into(), json!("failed"));
            p.insert("failure_balance_transaction".into(), json!(fid));
            p.insert("failure_code".into(), json!("account_closed"));
            p.insert(
                "failure_message".into(),
                json!("The bank account has been closed."),
            );
        })
    } else {
        store.update(&po_id, |p| {
            p.insert("status".into(), json!("paid"));
        })
    };
    let kind = if fail { "payout.failed" } else { "payout.paid" };
    store.emit(
        owner,
        kind,
        &po,
        Some(json!({"status": "in_transit"})),
        &req,
    );
    Ok(po)
}
