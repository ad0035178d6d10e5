//! PaymentIntents: creation, confirmation, success, bank processing, failure, settling.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::*;
use crate::Shared;
use crate::error::ApiError;
use crate::ids::{new_id, now};
use crate::store::{ReqInfo, Store};

/// Fields of a new PaymentIntent.
#[derive(Debug, Default)]
pub struct NewIntent {
    /// Minor units.
    pub amount: i64,
    /// Lowercase ISO code.
    pub currency: String,
    /// `cus_…`.
    pub customer: Option<String>,
    /// `pm_…` (already resolved).
    pub payment_method: Option<String>,
    /// e.g. `["card"]`.
    pub payment_method_types: Vec<String>,
    /// Metadata.
    pub metadata: Map<String, Value>,
    /// Platform fee on a direct charge.
    pub application_fee_amount: Option<i64>,
    /// Description.
    pub description: Option<String>,
    /// `off_session` / `on_session`.
    pub setup_future_usage: Option<String>,
    /// Receipt email.
    pub receipt_email: Option<String>,
    /// Statement descriptor.
    pub statement_descriptor: Option<String>,
}

/// Stores a PaymentIntent and emits `payment_intent.created`.
pub fn new_intent(store: &mut Store, owner: Option<&str>, n: NewIntent, req: &ReqInfo) -> Value {
    let id = new_id("pi");
    let status = if n.payment_method.is_some() {
        "requires_confirmation"
    } else {
        "requires_payment_method"
    };
    let pi = json!({
        "id": id,
        "object": "payment_intent",
        "amount": n.amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": null,
        "application_fee_amount": n.application_fee_amount,
        "automatic_payment_methods": null,
        "canceled_at": null,
        "cancellation_reason": null,
        "capture_method": "automatic",
        "client_secret": format!("{id}_secret_{}", &new_id("x")[2..]),
        "confirmation_method": "automatic",
        "created": now(),
        "currency": n.currency,
        "customer": n.customer,
        "description": n.description,
        "last_payment_error": null,
        "latest_charge": null,
        "livemode": false,
        "metadata": n.metadata,
        "next_action": null,
        "on_behalf_of": null,
        "payment_method": n.payment_method,
        "payment_method_configuration_details": null,
        "payment_method_options": {},
        "payment_method_types": n.payment_method_types,
        "processing": null,
        "receipt_email": n.receipt_email,
        "review": null,
        "setup_future_usage": n.setup_future_usage,
        "shipping": null,
        "source": null,
        "statement_descriptor": n.statement_descriptor,
        "statement_descriptor_suffix": null,
        "status": status,
        "transfer_data": null,
        "transfer_group": null,
    });
    let pi = store.insert(owner, pi);
    store.emit(owner, "payment_intent.created", &pi, None, req);
    pi
}

fn unexpected_state(pi: &Value, action: &str) -> ApiError {
    let mut e = ApiError::invalid(
        Some("payment_intent_unexpected_state"),
        format!(
            "You cannot {action} this PaymentIntent because it has a status of {}.",
            text(&pi["status"])
        ),
        None,
    );
    e.extra.insert("payment_intent".into(), pi.clone());
    e
}

/// Confirms a PaymentIntent: charges its payment method. A decline is Stripe's 402
/// `card_error` carrying the PaymentIntent; a bank debit goes to `processing`.
pub fn confirm(
    store: &mut Store,
    owner: Option<&str>,
    pi_id: &str,
    req: &ReqInfo,
) -> Result<Value, ApiError> {
    confirm_as(store, owner, pi_id, None, req)
}

/// [`confirm`], with the payment method behaving as `forced` (when given)
/// instead of as it was saved.
pub fn confirm_as(
    store: &mut Store,
    owner: Option<&str>,
    pi_id: &str,
    forced: Option<Behavior>,
    req: &ReqInfo,
) -> Result<Value, ApiError> {
    let pi = store.get(owner, "payment_intent", pi_id, "payment_intent", "intent")?;
    let status = text(&pi["status"]);
    if status != "requires_payment_method" && status != "requires_confirmation" {
        return Err(unexpected_state(&pi, "confirm"));
    }
    let Some(pm) = s(&pi["payment_method"]).map(str::to_owned) else {
        let mut e = ApiError::invalid(
            Some("payment_intent_unexpected_state"),
            "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with a customer, please provide a payment method.",
            Some("payment_method"),
        );
        e.extra.insert("payment_intent".into(), pi);
        return Err(e);
    };
    let behavior = forced.unwrap_or_else(|| behavior_of(store, &pm));
    match behavior {
        Behavior::Succeed => Ok(succeed(store, owner, pi_id, req)),
        Behavior::BankSucceed | Behavior::BankFail => Ok(processing(store, owner, pi_id, req)),
        Behavior::Decline | Behavior::InsufficientFunds | Behavior::AuthenticationRequired => {
            let pi = fail(store, owner, pi_id, behavior, req);
            let lpe = pi["last_payment_error"].clone();
            let mut e = ApiError {
                status: StatusCode::PAYMENT_REQUIRED,
                kind: "card_error",
                code: Some(text(&lpe["code"])),
                message: text(&lpe["message"]),
                param: None,
                extra: Map::new(),
            };
            e.extra
                .insert("decline_code".into(), lpe["decline_code"].clone());
            e.extra.insert("charge".into(), lpe["charge"].clone());
            e.extra
                .insert("payment_method".into(), lpe["payment_method"].clone());
            e.extra.insert("payment_intent".into(), pi);
            Err(e)
        }
    }
}

fn new_charge(store: &Store, owner_pi: &Value, status: &str) -> Value {
    let pi = owner_pi;
    let pm = s(&pi["payment_method"])
        .and_then(|id| store.raw(id))
        .map(|o| o.json.clone())
        .unwrap_or(Value::Null);
    let pm_type = pm["type"].as_str().unwrap_or("card").to_owned();
    let mut details = json!({"type": pm_type});
    if pm_type == "card" {
        details["card"] = json!({
            "brand": "visa", "country": "US", "exp_month": 12, "exp_year": 2034,
            "funding": "credit", "last4": pm["card"]["last4"], "network": "visa",
        });
    } else {
        details["us_bank_account"] = json!({
            "account_holder_type": "individual", "account_type": "checking",
            "bank_name": "STRIPE TEST BANK", "last4": pm["us_bank_account"]["last4"],
            "routing_number": "110000000",
        });
    }
    json!({
        "id": new_id("ch"),
        "object": "charge",
        "amount": pi["amount"],
        "amount_captured": 0,
        "amount_refunded": 0,
        "application": null,
        "application_fee": null,
        "application_fee_amount": pi["application_fee_amount"],
        "balance_transaction": null,
        "billing_details": billing_details(s(&pi["receipt_email"])),
        "calculated_statement_descriptor": "AQUEDUCT SIM",
        "captured": false,
        "created": now(),
        "currency": pi["currency"],
        "customer": pi["customer"],
        "description": pi["description"],
        "disputed": false,
        "failure_balance_transaction": null,
        "failure_code": null,
        "failure_message": null,
        "fraud_details": {},
        "livemode": false,
        "metadata": pi["metadata"],
        "on_behalf_of": null,
        "outcome": null,
        "paid": false,
        "payment_intent": pi["id"],
        "payment_method": pi["payment_method"],
        "payment_method_details": details,
        "receipt_email": pi["receipt_email"],
        "receipt_url": null,
        "refunded": false,
        "review": null,
        "shipping": null,
        "source_transfer": null,
        "statement_descriptor": pi["statement_descriptor"],
        "statement_descriptor_suffix": null,
        "status": status,
        "transfer_data": null,
        "transfer_group": null,
    })
}

/// Marks the PaymentIntent paid: charge, balance transactions, application fee, events.
pub fn succeed(store: &mut Store, owner: Option<&str>, pi_id: &str, req: &ReqInfo) -> Value {
    let Some(pi) = store.raw(pi_id).map(|o| o.json.clone()) else {
        return Value::Null;
    };
    let amount = pi["amount"].as_i64().unwrap_or(0);
    let currency = text(&pi["currency"]);
    let app_fee = pi["application_fee_amount"]
        .as_i64()
        .filter(|_| owner.is_some());
    let pending_charge = s(&pi["latest_charge"])
        .and_then(|id| store.raw(id))
        .filter(|o| o.json["status"] == "pending")
        .map(|o| o.json.clone());
    let charge = pending_charge.unwrap_or_else(|| {
        let c = new_charge(store, &pi, "pending");
        store.insert(owner, c)
    });
    let ch_id = text(&charge["id"]);
    let bank = charge["payment_method_details"]["type"] == "us_bank_account";
    let stripe_fee = if bank {
        ach_fee(amount)
    } else {
        card_fee(amount)
    };
    let mut fees = vec![("stripe_fee", stripe_fee, "Stripe processing fees")];
    if let Some(f) = app_fee.filter(|f| *f > 0) {
        fees.push(("application_fee", f, "Application fee"));
    }
    let (kind, category) = if bank {
        ("payment", "charge")
    } else {
        ("charge", "charge")
    };
    let txn = new_txn(
        store,
        owner,
        kind,
        category,
        amount,
        &fees,
        &currency,
        Some(&ch_id),
        pi["description"].as_str(),
    );
    let mut fee_id = Value::Null;
    if let (Some(acct), Some(f)) = (owner, app_fee.filter(|f| *f > 0)) {
        let fid = new_id("fee");
        let ptxn = new_txn(
            store,
            None,
            "application_fee",
            "platform_earning",
            f,
            &[],
            &currency,
            Some(&fid),
            Some("Application fee"),
        );
        let fee_obj = json!({
            "id": fid, "object": "application_fee", "account": acct, "amount": f,
            "amount_refunded": 0, "application": "ca_aqueduct_sim", "balance_transaction": ptxn["id"],
            "charge": ch_id, "created": now(), "currency": currency, "fee_source": {"charge": ch_id, "type": "charge"},
            "livemode": false, "originating_transaction": null, "refunded": false,
            "refunds": {"object": "list", "data": [], "has_more": false, "url": format!("/v1/application_fees/{fid}/refunds")},
        });
        store.insert(None, fee_obj);
        fee_id = json!(fid);
    }
    let charge = store.update(&ch_id, |c| {
        c.insert("status".into(), json!("succeeded"));
        c.insert("paid".into(), json!(true));
        c.insert("captured".into(), json!(true));
        c.insert("amount_captured".into(), json!(amount));
        c.insert("balance_transaction".into(), txn["id"].clone());
        c.insert("application_fee".into(), fee_id);
        c.insert(
            "outcome".into(),
            json!({
                "network_status": "approved_by_network", "reason": null, "risk_level": "normal",
                "risk_score": 12, "seller_message": "Payment complete.", "type": "authorized",
            }),
        );
    });
    store.emit(owner, "charge.succeeded", &charge, None, req);
    let pi = store.update(pi_id, |p| {
        p.insert("status".into(), json!("succeeded"));
        p.insert("amount_received".into(), json!(amount));
        p.insert("latest_charge".into(), json!(ch_id));
        p.insert("last_payment_error".into(), Value::Null);
        p.insert("processing".into(), Value::Null);
    });
    store.emit(owner, "payment_intent.succeeded", &pi, None, req);
    pi
}

/// Puts a bank debit in `processing` with a pending charge.
pub fn processing(store: &mut Store, owner: Option<&str>, pi_id: &str, req: &ReqInfo) -> Value {
    let Some(pi) = store.raw(pi_id).map(|o| o.json.clone()) else {
        return Value::Null;
    };
    let charge = new_charge(store, &pi, "pending");
    let charge = store.insert(owner, charge);
    store.emit(owner, "charge.pending", &charge, None, req);
    let pi = store.update(pi_id, |p| {
        p.insert("status".into(), json!("processing"));
        p.insert("latest_charge".into(), charge["id"].clone());
    });
    store.emit(owner, "payment_intent.processing", &pi, None, req);
    pi
}

/// Fails the attempt: failed charge, `last_payment_error`, back to `requires_payment_method`.
pub fn fail(
    store: &mut Store,
    owner: Option<&str>,
    pi_id: &str,
    behavior: Behavior,
    req: &ReqInfo,
) -> Value {
    let Some(pi) = store.raw(pi_id).map(|o| o.json.clone()) else {
        return Value::Null;
    };
    let (kind, code, decline, message) = match behavior {
        Behavior::InsufficientFunds => (
            "card_error",
            "card_declined",
            Some("insufficient_funds"),
            "Your card has insufficient funds.",
        ),
        Behavior::AuthenticationRequired => (
            "card_error",
            "authentication_required",
            Some("authentication_required"),
            "Your card was declined. This transaction requires authentication.",
        ),
        Behavior::BankFail => (
            "invalid_request_error",
            "insufficient_funds",
            None,
            "The customer's bank account has insufficient funds to cover this payment.",
        ),
        _ => (
            "card_error",
            "card_declined",
            Some("generic_decline"),
            "Your card was declined.",
        ),
    };
    let existing = s(&pi["latest_charge"])
        .and_then(|id| store.raw(id))
        .filter(|o| o.json["status"] == "pending")
        .map(|o| o.json.clone());
    let charge = existing.unwrap_or_else(|| {
        let c = new_charge(store, &pi, "pending");
        store.insert(owner, c)
    });
    let ch_id = text(&charge["id"]);
    let charge = store.update(&ch_id, |c| {
        c.insert("status".into(), json!("failed"));
        c.insert("failure_code".into(), json!(decline.unwrap_or(code)));
        c.insert("failure_message".into(), json!(message));
        c.insert("outcome".into(), json!({
            "network_status": "declined_by_network", "reason": decline.unwrap_or(code), "risk_level": "normal",
            "risk_score": 12, "seller_message": "The bank did not return any further details with this decline.",
            "type": "issuer_declined",
        }));
    });
    store.emit(owner, "charge.failed", &charge, None, req);
    let pm = s(&pi["payment_method"])
        .and_then(|id| store.raw(id))
        .map_or(Value::Null, |o| o.json.clone());
    let lpe = json!({
        "type": kind, "code": code, "decline_code": decline, "message": message,
        "charge": ch_id, "payment_method": pm,
        "doc_url": format!("https://docs.stripe.com/error-codes/{}", code.replace('_', "-")),
    });
    let pi = store.update(pi_id, |p| {
        p.insert("status".into(), json!("requires_payment_method"));
        p.insert("latest_charge".into(), json!(ch_id));
        p.insert("last_payment_error".into(), lpe);
    });
    store.emit(owner, "payment_intent.payment_failed", &pi, None, req);
    pi
}

/// Finishes a `processing` bank debit according to its payment method, and the
/// Checkout Session that started it (`async_payment_succeeded` / `_failed`).
pub fn settle(store: &mut Store, pi_id: &str) {
    let Some(obj) = store.raw(pi_id).cloned() else {
        return;
    };
    if obj.json["status"] != "processing" {
        return;
    }
    let owner = obj.owner.as_deref();
    let req = ReqInfo::default();
    let behavior =
        s(&obj.json["payment_method"]).map_or(Behavior::BankSucceed, |pm| behavior_of(store, pm));
    let ok = behavior != Behavior::BankFail;
    if ok {
        succeed(store, owner, pi_id, &req);
    } else {
        fail(store, owner, pi_id, Behavior::BankFail, &req);
    }
    let session = store
        .all(owner, "checkout.session")
        .into_iter()
        .find(|cs| cs["payment_intent"] == pi_id);
    if let Some(cs) = session {
        let cs_id = text(&cs["id"]);
        let cs = store.update(&cs_id, |c| {
            if ok {
                c.insert("payment_status".into(), json!("paid"));
            }
        });
        let kind = if ok {
            "checkout.session.async_payment_succeeded"
        } else {
            "checkout.session.async_payment_failed"
        };
        store.emit(owner, kind, &cs, None, &req);
    }
}

/// Settles a processing bank debit after the configured delay.
pub fn schedule_settle(shared: &Arc<Shared>, pi_id: String) {
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let delay = shared.config().ach_settle_delay_ms;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        shared.with_store(|s| settle(s, &pi_id));
    });
}
