//! What happens to money: payment methods, charge attempts, fees, balance transactions,
//! refunds, disputes, payouts. Every function works on the locked [`Store`].

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::Shared;
use crate::error::ApiError;
use crate::ids::{new_id, now};
use crate::store::{ReqInfo, Store};

/// Stripe's card fee: 2.9% + 30¢, rounded half up, in minor units.
pub fn card_fee(amount: i64) -> i64 {
    (amount * 29 + 500) / 1000 + 30
}

/// Stripe's ACH Direct Debit fee: 0.8%, capped at $5.00.
pub fn ach_fee(amount: i64) -> i64 {
    ((amount * 8 + 500) / 1000).min(500)
}

/// Stripe's dispute fee ($15.00).
pub const DISPUTE_FEE: i64 = 1500;

/// `$12.34` for error messages.
pub fn dollars(amount: i64) -> String {
    format!("${}.{:02}", amount / 100, amount % 100)
}

/// What a payment method does when charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// The charge succeeds.
    Succeed,
    /// Declined: `generic_decline`.
    Decline,
    /// Declined: `insufficient_funds`.
    InsufficientFunds,
    /// Bank debit: processing, then succeeds.
    BankSucceed,
    /// Bank debit: processing, then fails.
    BankFail,
}

impl Behavior {
    fn as_str(self) -> &'static str {
        match self {
            Self::Succeed => "succeed",
            Self::Decline => "decline",
            Self::InsufficientFunds => "insufficient_funds",
            Self::BankSucceed => "bank_succeed",
            Self::BankFail => "bank_fail",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "decline" => Self::Decline,
            "insufficient_funds" => Self::InsufficientFunds,
            "bank_succeed" => Self::BankSucceed,
            "bank_fail" => Self::BankFail,
            _ => Self::Succeed,
        }
    }

    fn is_bank(self) -> bool {
        matches!(self, Self::BankSucceed | Self::BankFail)
    }
}

fn billing_details(email: Option<&str>) -> Value {
    json!({"address": null, "email": email, "name": null, "phone": null, "tax_id": null})
}

/// Creates a payment method (card `4242`/`0002`/`9995`, or a test bank account).
pub fn new_payment_method(
    store: &mut Store,
    owner: Option<&str>,
    customer: Option<&str>,
    behavior: Behavior,
) -> Value {
    let id = new_id("pm");
    let mut pm = json!({
        "id": id,
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": billing_details(None),
        "created": now(),
        "customer": customer,
        "livemode": false,
        "metadata": {},
    });
    if behavior.is_bank() {
        pm["type"] = json!("us_bank_account");
        pm["us_bank_account"] = json!({
            "account_holder_type": "individual",
            "account_type": "checking",
            "bank_name": "STRIPE TEST BANK",
            "financial_connections_account": null,
            "fingerprint": new_id("fp"),
            "last4": if behavior == Behavior::BankSucceed { "6789" } else { "1116" },
            "networks": {"preferred": "ach", "supported": ["ach"]},
            "routing_number": "110000000",
            "status_details": null,
        });
    } else {
        let last4 = match behavior {
            Behavior::Decline => "0002",
            Behavior::InsufficientFunds => "9995",
            _ => "4242",
        };
        pm["type"] = json!("card");
        pm["card"] = json!({
            "brand": "visa",
            "checks": {"address_line1_check": null, "address_postal_code_check": null, "cvc_check": "pass"},
            "country": "US",
            "display_brand": "visa",
            "exp_month": 12,
            "exp_year": 2034,
            "fingerprint": new_id("fp"),
            "funding": "credit",
            "generated_from": null,
            "last4": last4,
            "networks": {"available": ["visa"], "preferred": null},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": true},
            "wallet": null,
        });
    }
    store
        .internal
        .insert(id, json!({"behavior": behavior.as_str()}));
    store.insert(owner, pm)
}

/// Resolves a `payment_method` parameter: Stripe's test ids (`pm_card_visa`,
/// `pm_card_chargeDeclined`, `pm_card_visa_chargeDeclined`,
/// `pm_card_chargeDeclinedInsufficientFunds`, `pm_usBankAccount_success`,
/// `pm_usBankAccount_insufficientFunds`) create a fresh method; anything else must exist.
pub fn resolve_payment_method(
    store: &mut Store,
    owner: Option<&str>,
    param: &str,
) -> Result<String, ApiError> {
    let test = match param {
        "pm_card_visa" | "pm_card_mastercard" => Some(Behavior::Succeed),
        "pm_card_chargeDeclined" | "pm_card_visa_chargeDeclined" => Some(Behavior::Decline),
        "pm_card_chargeDeclinedInsufficientFunds" => Some(Behavior::InsufficientFunds),
        "pm_usBankAccount_success" => Some(Behavior::BankSucceed),
        "pm_usBankAccount_insufficientFunds" => Some(Behavior::BankFail),
        _ => None,
    };
    if let Some(b) = test {
        let pm = new_payment_method(store, owner, None, b);
        return Ok(pm["id"].as_str().unwrap_or_default().to_owned());
    }
    store.get(
        owner,
        "payment_method",
        param,
        "PaymentMethod",
        "payment_method",
    )?;
    Ok(param.to_owned())
}

fn behavior_of(store: &Store, pm: &str) -> Behavior {
    store
        .internal
        .get(pm)
        .and_then(|v| v["behavior"].as_str())
        .map_or(Behavior::Succeed, Behavior::parse)
}

fn s(v: &Value) -> Option<&str> {
    v.as_str()
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

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
    let behavior = behavior_of(store, &pm);
    match behavior {
        Behavior::Succeed => Ok(succeed(store, owner, pi_id, req)),
        Behavior::BankSucceed | Behavior::BankFail => Ok(processing(store, owner, pi_id, req)),
        Behavior::Decline | Behavior::InsufficientFunds => {
            let pi = fail(store, owner, pi_id, behavior, req);
            let lpe = pi["last_payment_error"].clone();
            let mut e = ApiError {
                status: StatusCode::PAYMENT_REQUIRED,
                kind: "card_error",
                code: Some("card_declined".into()),
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

/// Adds a balance transaction on `owner`'s balance and returns it.
#[expect(
    clippy::too_many_arguments,
    reason = "a balance transaction has this many parts"
)]
pub fn new_txn(
    store: &mut Store,
    owner: Option<&str>,
    kind: &str,
    category: &str,
    amount: i64,
    fees: &[(&str, i64, &str)],
    currency: &str,
    source: Option<&str>,
    description: Option<&str>,
) -> Value {
    let fee: i64 = fees.iter().map(|f| f.1).sum();
    let created = now();
    let fee_details: Vec<Value> = fees
        .iter()
        .map(|(t, a, d)| json!({"amount": a, "application": null, "currency": currency, "description": d, "type": t}))
        .collect();
    let txn = json!({
        "id": new_id("txn"),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": created,
        "balance_type": "payments",
        "created": created,
        "currency": currency,
        "description": description,
        "exchange_rate": null,
        "fee": fee,
        "fee_details": fee_details,
        "net": amount - fee,
        "reporting_category": category,
        "source": source,
        "status": "available",
        "type": kind,
    });
    store.insert(owner, txn)
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
