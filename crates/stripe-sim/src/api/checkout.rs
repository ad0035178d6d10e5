//! Checkout Sessions (payment and setup mode) and what the hosted page does with them.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Map, Value, json};

use super::payments::check_amounts;
use super::{list as list_of, matches, retrieve as retrieve_one};
use crate::Shared;
use crate::ctx::Ctx;
use crate::domain::{self, Behavior, NewIntent};
use crate::error::{ApiError, ApiResult};
use crate::ids::{new_id, now};
use crate::store::{ReqInfo, Store};

/// `POST /v1/checkout/sessions`.
pub async fn create(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    let mode = ctx.req_str("mode")?;
    if mode != "payment" && mode != "setup" {
        return Err(ApiError::invalid(
            Some("parameter_invalid_string"),
            "aqueduct-stripe-sim simulates mode=payment and mode=setup only.",
            Some("mode"),
        ));
    }
    let success_url = ctx.req_str("success_url")?;
    let cancel_url = ctx.str("cancel_url");
    let mut total: i64 = 0;
    let mut currency = ctx.str("currency").map(|c| c.to_lowercase());
    let items = match ctx.get("line_items") {
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    if mode == "payment" && items.is_empty() {
        return Err(ApiError::missing("line_items"));
    }
    for (i, item) in items.iter().enumerate() {
        if item.get("price").is_some() {
            return Err(ApiError::invalid(
                None,
                "aqueduct-stripe-sim: use line_items[][price_data], stored Prices are not simulated.",
                Some(&format!("line_items[{i}][price]")),
            ));
        }
        let pd = &item["price_data"];
        let unit: i64 = pd["unit_amount"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                ApiError::missing(&format!("line_items[{i}][price_data][unit_amount]"))
            })?;
        let qty: i64 = item["quantity"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ApiError::missing(&format!("line_items[{i}][quantity]")))?;
        if pd["product_data"]["name"].as_str().is_none() && pd["product"].as_str().is_none() {
            return Err(ApiError::missing(&format!(
                "line_items[{i}][price_data][product_data][name]"
            )));
        }
        let cur = pd["currency"]
            .as_str()
            .map(str::to_lowercase)
            .ok_or_else(|| ApiError::missing(&format!("line_items[{i}][price_data][currency]")))?;
        currency.get_or_insert_with(|| cur.clone());
        total = unit
            .checked_mul(qty)
            .and_then(|x| x.checked_add(total))
            .ok_or_else(|| ApiError::invalid(None, "Amount too large.", Some("line_items")))?;
    }
    if mode == "setup"
        && currency.is_none()
        && ctx.strings("payment_method_types").is_empty()
        && ctx.strings("allowed_payment_method_types").is_empty()
    {
        return Err(ApiError::missing("currency"));
    }
    let currency = currency.unwrap_or_else(|| "usd".into());
    let fee = ctx.int("payment_intent_data.application_fee_amount")?;
    if mode == "payment" {
        check_amounts(
            total,
            &currency,
            fee,
            "payment_intent_data[application_fee_amount]",
        )?;
    }
    if fee.is_some() && ctx.owner.is_none() {
        return Err(ApiError::invalid(
            None,
            "Can only apply an application_fee_amount when the Checkout Session is created on a connected account (Stripe-Account header) or with transfer_data.",
            Some("payment_intent_data[application_fee_amount]"),
        ));
    }
    let metadata = ctx.metadata("metadata")?;
    let pi_metadata = ctx.metadata("payment_intent_data.metadata")?;
    let si_metadata = ctx.metadata("setup_intent_data.metadata")?;
    let mut types = ctx.strings("payment_method_types");
    if types.is_empty() {
        // The filter newer API versions use instead.
        types = ctx.strings("allowed_payment_method_types");
    }
    if types.is_empty() {
        types = if mode == "payment" {
            vec!["card".into(), "us_bank_account".into()]
        } else {
            vec!["card".into()]
        };
    }
    let created = now();
    let expires_at = ctx.int("expires_at")?.unwrap_or(created + 86_400);
    let id = new_id("cs_test");
    let owner = ctx.owner.clone();
    shared.with_store(|s| {
        let customer = ctx.str("customer");
        if let Some(c) = &customer {
            s.get(owner.as_deref(), "customer", c, "customer", "customer")?;
        }
        let (amount, status) = if mode == "payment" { (json!(total), "unpaid") } else { (Value::Null, "no_payment_required") };
        let cs = json!({
            "id": id,
            "object": "checkout.session",
            "after_expiration": null,
            "allow_promotion_codes": null,
            "amount_subtotal": amount,
            "amount_total": amount,
            "automatic_tax": {"enabled": false, "liability": null, "provider": null, "status": null},
            "billing_address_collection": null,
            "cancel_url": cancel_url,
            "client_reference_id": ctx.str("client_reference_id"),
            "client_secret": null,
            "created": created,
            "currency": currency,
            "custom_fields": [],
            "custom_text": {"after_submit": null, "shipping_address": null, "submit": null, "terms_of_service_acceptance": null},
            "customer": customer,
            "customer_creation": if customer.is_some() { Value::Null } else { json!("if_required") },
            "customer_details": null,
            "customer_email": ctx.str("customer_email"),
            "expires_at": expires_at,
            "invoice": null,
            "livemode": false,
            "locale": null,
            "metadata": metadata,
            "mode": mode,
            "payment_intent": null,
            "payment_link": null,
            "payment_method_collection": "if_required",
            "payment_method_types": types,
            "payment_status": status,
            "setup_intent": null,
            "shipping_address_collection": null,
            "shipping_options": [],
            "status": "open",
            "submit_type": null,
            "subscription": null,
            "success_url": success_url,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted_page",
            "url": format!("{}/c/pay/{id}", shared.origin),
        });
        s.internal.insert(id.clone(), json!({
            "application_fee_amount": fee,
            "pi_metadata": pi_metadata,
            "si_metadata": si_metadata,
            "description": ctx.str("payment_intent_data.description"),
            "setup_future_usage": ctx.str("payment_intent_data.setup_future_usage"),
            "line_items": items,
        }));
        let cs = s.insert(owner.as_deref(), cs);
        Ok(Json(cs))
    })
}

/// `GET /v1/checkout/sessions/:id`.
pub async fn retrieve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    retrieve_one(
        &shared,
        &ctx,
        "checkout.session",
        &id,
        "checkout.session",
        "session",
    )
}

/// `GET /v1/checkout/sessions` (filter: `payment_intent`, `customer`, `status`).
pub async fn list(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    list_of(
        &shared,
        &ctx,
        "checkout.session",
        "/v1/checkout/sessions",
        |_, v| {
            matches(&ctx, "payment_intent", v, "payment_intent")
                && matches(&ctx, "customer", v, "customer")
                && matches(&ctx, "status", v, "status")
        },
    )
}

/// `POST /v1/checkout/sessions/:id/expire`.
pub async fn expire(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    let req = ctx.req();
    shared.with_store(|s| {
        let cs = s.get(ctx.owner(), "checkout.session", &id, "checkout.session", "session")?;
        if cs["status"] != "open" {
            return Err(ApiError::invalid(None, format!("Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of \"{}\".", cs["status"].as_str().unwrap_or_default()), None));
        }
        Ok(Json(expire_now(s, &id, &req)))
    })
}

/// Marks a session expired and emits `checkout.session.expired`.
pub fn expire_now(s: &mut Store, id: &str, req: &ReqInfo) -> Value {
    let owner = s.raw(id).and_then(|o| o.owner.clone());
    let cs = s.update(id, |c| {
        c.insert("status".into(), json!("expired"));
        c.insert("url".into(), Value::Null);
    });
    s.emit(owner.as_deref(), "checkout.session.expired", &cs, None, req);
    cs
}

/// A button on the hosted page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Card payment that succeeds.
    Pay,
    /// Card payment that is declined.
    Decline,
    /// Bank debit: processing, then succeeds.
    BankSucceed,
    /// Bank debit: processing, then fails.
    BankFail,
    /// Setup mode: save a card that later charges fine.
    Save,
    /// Setup mode: save a card whose later off-session charges are declined.
    SaveDeclining,
    /// Setup mode: save a US bank account (later debits process, then succeed).
    SaveBank,
}

/// What the hosted page should do next.
#[derive(Debug)]
pub enum Outcome {
    /// Redirect the browser (`success_url` with `{CHECKOUT_SESSION_ID}` filled in).
    Redirect(String),
    /// Stay on the page and show this message.
    Message(String),
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// Runs a hosted-page action on a session.
pub fn complete(shared: &Arc<Shared>, cs_id: &str, action: Action) -> Outcome {
    let outcome = shared.with_store(|s| complete_locked(s, cs_id, action));
    match outcome {
        Ok((url, Some(pi))) => {
            domain::schedule_settle(shared, pi);
            Outcome::Redirect(url)
        }
        Ok((url, None)) => Outcome::Redirect(url),
        Err(msg) => Outcome::Message(msg),
    }
}

type Done = Result<(String, Option<String>), String>;

fn complete_locked(s: &mut Store, cs_id: &str, action: Action) -> Done {
    let Some(obj) = s.raw(cs_id).cloned() else {
        return Err("This Checkout Session does not exist.".into());
    };
    let owner = obj.owner.as_deref();
    let cs = obj.json;
    if cs["status"] != "open" {
        return Err(format!("This Checkout Session is {}.", text(&cs["status"])));
    }
    if cs["expires_at"].as_i64().is_some_and(|e| e <= now()) {
        expire_now(s, cs_id, &ReqInfo::default());
        return Err("This Checkout Session has expired.".into());
    }
    let extra = s.internal.get(cs_id).cloned().unwrap_or(Value::Null);
    let success = text(&cs["success_url"]).replace("{CHECKOUT_SESSION_ID}", cs_id);
    let req = ReqInfo::default();
    let setup = cs["mode"] == "setup";
    match (setup, action) {
        (true, Action::Save | Action::SaveDeclining | Action::SaveBank) => {
            let customer = ensure_customer(s, owner, &cs, &req);
            let behavior = match action {
                Action::Save => Behavior::Succeed,
                Action::SaveBank => Behavior::BankSucceed,
                _ => Behavior::Decline,
            };
            let pm = domain::new_payment_method(s, owner, Some(&customer), behavior);
            s.emit(owner, "payment_method.attached", &pm, None, &req);
            let si = json!({
                "id": new_id("seti"), "object": "setup_intent", "application": null, "automatic_payment_methods": null,
                "cancellation_reason": null, "client_secret": null, "created": now(), "customer": customer,
                "description": null, "flow_directions": null, "last_setup_error": null, "latest_attempt": null,
                "livemode": false, "mandate": null, "metadata": extra["si_metadata"].clone(), "next_action": null,
                "on_behalf_of": null, "payment_method": pm["id"], "payment_method_types": [pm["type"].clone()],
                "single_use_mandate": null, "status": "succeeded", "usage": "off_session",
            });
            let si = s.insert(owner, si);
            s.emit(owner, "setup_intent.created", &si, None, &req);
            s.emit(owner, "setup_intent.succeeded", &si, None, &req);
            let cs = s.update(cs_id, |c| {
                c.insert("status".into(), json!("complete"));
                c.insert("setup_intent".into(), si["id"].clone());
                c.insert("customer".into(), json!(customer));
                c.insert("url".into(), Value::Null);
            });
            s.emit(owner, "checkout.session.completed", &cs, None, &req);
            Ok((success, None))
        }
        (false, Action::Pay | Action::Decline | Action::BankSucceed | Action::BankFail) => {
            let behavior = match action {
                Action::Pay => Behavior::Succeed,
                Action::Decline => Behavior::Decline,
                Action::BankSucceed => Behavior::BankSucceed,
                _ => Behavior::BankFail,
            };
            let sfu = extra["setup_future_usage"].as_str().map(str::to_owned);
            let customer = match (&cs["customer"], &sfu) {
                (Value::String(c), _) => Some(c.clone()),
                (_, Some(_)) => Some(ensure_customer(s, owner, &cs, &req)),
                _ => None,
            };
            let attach = if sfu.is_some() {
                customer.as_deref()
            } else {
                None
            };
            let pm = domain::new_payment_method(s, owner, attach, behavior);
            let pm_id = text(&pm["id"]);
            let bank = matches!(behavior, Behavior::BankSucceed | Behavior::BankFail);
            let pi_id = match cs["payment_intent"].as_str() {
                Some(existing) => {
                    let existing = existing.to_owned();
                    s.update(&existing, |p| {
                        p.insert("payment_method".into(), json!(pm_id));
                        p.insert(
                            "payment_method_types".into(),
                            json!([if bank { "us_bank_account" } else { "card" }]),
                        );
                    });
                    existing
                }
                None => {
                    let metadata: Map<String, Value> = extra["pi_metadata"]
                        .as_object()
                        .cloned()
                        .unwrap_or_default();
                    let pi = domain::new_intent(
                        s,
                        owner,
                        NewIntent {
                            amount: cs["amount_total"].as_i64().unwrap_or(0),
                            currency: text(&cs["currency"]),
                            customer: customer.clone(),
                            payment_method: Some(pm_id.clone()),
                            payment_method_types: vec![if bank {
                                "us_bank_account".into()
                            } else {
                                "card".into()
                            }],
                            metadata,
                            application_fee_amount: extra["application_fee_amount"].as_i64(),
                            description: extra["description"].as_str().map(str::to_owned),
                            setup_future_usage: sfu.clone(),
                            receipt_email: cs["customer_email"].as_str().map(str::to_owned),
                            statement_descriptor: None,
                        },
                        &req,
                    );
                    let id = text(&pi["id"]);
                    s.update(cs_id, |c| {
                        c.insert("payment_intent".into(), json!(id));
                    });
                    id
                }
            };
            let pi = match domain::confirm(s, owner, &pi_id, &req) {
                Ok(pi) => pi,
                Err(e) => return Err(format!("{} Try another payment method.", e.message)),
            };
            let paid = pi["status"] == "succeeded";
            let email = cs["customer_email"].clone();
            let cs = s.update(cs_id, |c| {
                c.insert("status".into(), json!("complete"));
                c.insert("payment_status".into(), json!(if paid { "paid" } else { "unpaid" }));
                c.insert("customer".into(), json!(customer));
                c.insert("url".into(), Value::Null);
                c.insert("customer_details".into(), json!({"address": null, "email": email, "name": null, "phone": null, "tax_exempt": "none", "tax_ids": []}));
            });
            s.emit(owner, "checkout.session.completed", &cs, None, &req);
            Ok((success, (!paid).then_some(pi_id)))
        }
        _ => Err("That button does not apply to this session's mode.".into()),
    }
}

fn ensure_customer(s: &mut Store, owner: Option<&str>, cs: &Value, req: &ReqInfo) -> String {
    if let Some(c) = cs["customer"].as_str() {
        return c.to_owned();
    }
    let cus = json!({
        "id": new_id("cus"), "object": "customer", "address": null, "balance": 0, "created": now(),
        "currency": null, "default_source": null, "delinquent": false, "description": null,
        "email": cs["customer_email"], "invoice_settings": {"custom_fields": null, "default_payment_method": null, "footer": null, "rendering_options": null},
        "livemode": false, "metadata": {}, "name": null, "phone": null, "preferred_locales": [],
        "shipping": null, "tax_exempt": "none", "test_clock": null,
    });
    let cus = s.insert(owner, cus);
    s.emit(owner, "customer.created", &cus, None, req);
    text(&cus["id"])
}
