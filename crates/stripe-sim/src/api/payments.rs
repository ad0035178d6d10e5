//! Customers, payment methods, setup intents and PaymentIntents.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::{list, matches, retrieve};
use crate::Shared;
use crate::ctx::Ctx;
use crate::domain::{self, NewIntent};
use crate::error::{ApiError, ApiResult};
use crate::ids::{new_id, now};

/// `POST /v1/customers`.
pub async fn create_customer(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    let metadata = ctx.metadata("metadata")?;
    let cus = json!({
        "id": new_id("cus"),
        "object": "customer",
        "address": null,
        "balance": 0,
        "created": now(),
        "currency": null,
        "default_source": null,
        "delinquent": false,
        "description": ctx.str("description"),
        "email": ctx.str("email"),
        "invoice_prefix": new_id("x")[2..10].to_uppercase(),
        "invoice_settings": {"custom_fields": null, "default_payment_method": null, "footer": null, "rendering_options": null},
        "livemode": false,
        "metadata": metadata,
        "name": ctx.str("name"),
        "phone": ctx.str("phone"),
        "preferred_locales": [],
        "shipping": null,
        "tax_exempt": "none",
        "test_clock": null,
    });
    let req = ctx.req();
    Ok(Json(shared.with_store(|s| {
        let cus = s.insert(ctx.owner(), cus);
        s.emit(ctx.owner(), "customer.created", &cus, None, &req);
        cus
    })))
}

/// `GET /v1/customers` (filter: `email`).
pub async fn list_customers(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    list(&shared, &ctx, "customer", "/v1/customers", |_, v| {
        matches(&ctx, "email", v, "email")
    })
}

/// `GET /v1/customers/:id`.
pub async fn retrieve_customer(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    retrieve(&shared, &ctx, "customer", &id, "customer", "id")
}

/// `POST /v1/customers/:id` (email, name, phone, description, metadata,
/// `invoice_settings[default_payment_method]`).
pub async fn update_customer(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    let metadata = ctx.metadata("metadata")?;
    let req = ctx.req();
    shared.with_store(|s| {
        s.get(ctx.owner(), "customer", &id, "customer", "id")?;
        if let Some(pm) = ctx.str("invoice_settings.default_payment_method") {
            s.get(
                ctx.owner(),
                "payment_method",
                &pm,
                "PaymentMethod",
                "invoice_settings[default_payment_method]",
            )?;
        }
        let v = s.update(&id, |c| {
            for f in ["email", "name", "phone", "description"] {
                if let Some(v) = ctx.str(f) {
                    c.insert(f.into(), json!(v));
                }
            }
            if let Some(Value::Object(m)) = c.get_mut("metadata") {
                m.extend(metadata);
            }
            if let Some(pm) = ctx.str("invoice_settings.default_payment_method") {
                c["invoice_settings"]["default_payment_method"] = json!(pm);
            }
        });
        s.emit(ctx.owner(), "customer.updated", &v, None, &req);
        Ok(Json(v))
    })
}

/// `GET /v1/customers/:id/payment_methods`.
pub async fn customer_payment_methods(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    shared.with_store(|s| {
        s.get(ctx.owner(), "customer", &id, "customer", "customer")
            .map(|_| ())
    })?;
    let url = format!("/v1/customers/{id}/payment_methods");
    list(&shared, &ctx, "payment_method", &url, |_, v| {
        v["customer"] == id.as_str() && matches(&ctx, "type", v, "type")
    })
}

/// `GET /v1/payment_methods?customer=…&type=…`.
pub async fn list_payment_methods(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    list(
        &shared,
        &ctx,
        "payment_method",
        "/v1/payment_methods",
        |_, v| matches(&ctx, "customer", v, "customer") && matches(&ctx, "type", v, "type"),
    )
}

/// `GET /v1/payment_methods/:id`.
pub async fn retrieve_payment_method(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    retrieve(
        &shared,
        &ctx,
        "payment_method",
        &id,
        "PaymentMethod",
        "payment_method",
    )
}

/// `POST /v1/payment_methods/:id/detach`: the method leaves its Customer
/// (`customer` becomes null, `payment_method.detached` is emitted) and can
/// never be used again; detaching one that is not attached is Stripe's 400.
pub async fn detach_payment_method(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    let req = ctx.req();
    shared.with_store(|s| {
        let pm = s.get(ctx.owner(), "payment_method", &id, "PaymentMethod", "payment_method")?;
        if !pm["customer"].is_string() {
            return Err(ApiError::invalid(
                None,
                "The payment method you provided is not attached to a customer so detachment is impossible.",
                None,
            ));
        }
        let previous = json!({"customer": pm["customer"].clone()});
        let v = s.update(&id, |p| {
            p.insert("customer".into(), Value::Null);
        });
        domain::mark_detached(s, &id);
        s.emit(ctx.owner(), "payment_method.detached", &v, Some(previous), &req);
        Ok(Json(v))
    })
}

/// `GET /v1/setup_intents/:id`.
pub async fn retrieve_setup_intent(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    retrieve(&shared, &ctx, "setup_intent", &id, "setup_intent", "intent")
}

fn currency(ctx: &Ctx) -> Result<String, ApiError> {
    let c = ctx.req_str("currency")?.to_lowercase();
    if c.len() != 3 || !c.chars().all(|ch| ch.is_ascii_lowercase()) {
        return Err(ApiError::invalid(
            Some("parameter_invalid_string"),
            format!("Invalid currency: {c}."),
            Some("currency"),
        ));
    }
    Ok(c)
}

/// Checks amount ≥ 50 minor units and the application fee ≤ amount.
pub fn check_amounts(
    amount: i64,
    currency: &str,
    fee: Option<i64>,
    fee_param: &str,
) -> Result<(), ApiError> {
    if amount < 50 {
        return Err(ApiError::invalid(
            Some("amount_too_small"),
            format!("Amount must be at least $0.50 {currency}"),
            Some("amount"),
        ));
    }
    if let Some(f) = fee
        && (f < 0 || f > amount)
    {
        return Err(ApiError::invalid(
            Some("parameter_invalid_integer"),
            "The application fee amount must be between 0 and the amount of the payment.",
            Some(fee_param),
        ));
    }
    Ok(())
}

/// `POST /v1/payment_intents` (`confirm=true` and `off_session` supported).
pub async fn create_intent(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    let amount = ctx.req_int("amount")?;
    let currency = currency(&ctx)?;
    let fee = ctx.int("application_fee_amount")?;
    check_amounts(amount, &currency, fee, "application_fee_amount")?;
    if fee.is_some() && ctx.owner.is_none() {
        return Err(ApiError::invalid(
            None,
            "Can only apply an application_fee_amount when the PaymentIntent is attempting a direct payment (using an OAuth key or Stripe-Account header) or destination payment (using `transfer_data[destination]`).",
            Some("application_fee_amount"),
        ));
    }
    if let Some(cm) = ctx.str("capture_method")
        && cm != "automatic"
        && cm != "automatic_async"
    {
        return Err(ApiError::invalid(
            None,
            "aqueduct-stripe-sim: only capture_method=automatic is simulated.",
            Some("capture_method"),
        ));
    }
    let confirm = ctx.bool("confirm")?.unwrap_or(false);
    let off_session = ctx.str("off_session").is_some_and(|v| v != "false");
    if off_session && !confirm {
        return Err(ApiError::invalid(
            None,
            "You can only pass `off_session` when `confirm` is true.",
            Some("off_session"),
        ));
    }
    let metadata = ctx.metadata("metadata")?;
    let mut types = ctx.strings("payment_method_types");
    let req = ctx.req();
    let owner = ctx.owner.clone();
    let result = shared.with_store(|s| {
        let customer = ctx.str("customer");
        if let Some(c) = &customer {
            s.get(owner.as_deref(), "customer", c, "customer", "customer")?;
        }
        let pm = ctx.str("payment_method").map(|p| domain::resolve_payment_method(s, owner.as_deref(), &p)).transpose()?;
        if let Some(pm_id) = &pm {
            if domain::is_detached(s, pm_id) {
                return Err(ApiError::invalid(None, "The provided PaymentMethod was previously used without being attached to a Customer or was detached from a Customer, and may not be used again.", Some("payment_method")));
            }
            let attached = s.raw(pm_id).and_then(|o| o.json["customer"].as_str().map(str::to_owned));
            match (attached, &customer) {
                (Some(a), Some(c)) if a != *c => {
                    return Err(ApiError::invalid(None, format!("The provided PaymentMethod {pm_id} is attached to a different Customer ({a})."), Some("payment_method")));
                }
                (Some(_), None) => {
                    return Err(ApiError::invalid(None, format!("The provided PaymentMethod {pm_id} was previously attached to a Customer. To use a PaymentMethod that is attached to a Customer, you must also pass the ID of that Customer in the `customer` parameter."), Some("customer")));
                }
                _ => {}
            }
        }
        if types.is_empty() {
            let bank = pm.as_deref().and_then(|p| s.raw(p)).is_some_and(|o| o.json["type"] == "us_bank_account");
            types.push(if bank { "us_bank_account".into() } else { "card".into() });
        }
        let pi = domain::new_intent(s, owner.as_deref(), NewIntent {
            amount,
            currency: currency.clone(),
            customer,
            payment_method: pm,
            payment_method_types: types,
            metadata,
            application_fee_amount: fee,
            description: ctx.str("description"),
            setup_future_usage: ctx.str("setup_future_usage"),
            receipt_email: ctx.str("receipt_email"),
            statement_descriptor: ctx.str("statement_descriptor"),
        }, &req);
        if confirm {
            let id = pi["id"].as_str().unwrap_or_default().to_owned();
            // A test asked for the next off-session charge on this account to fail.
            let forced = if off_session {
                s.internal
                    .remove(&domain::fail_next_key(owner.as_deref()))
                    .and_then(|v| v.as_str().and_then(domain::Behavior::forced_failure))
            } else {
                None
            };
            domain::confirm_as(s, owner.as_deref(), &id, forced, &req)
        } else {
            Ok(pi)
        }
    });
    after_confirm(&shared, result)
}

fn after_confirm(shared: &Arc<Shared>, result: Result<Value, ApiError>) -> ApiResult {
    let pi = result?;
    if pi["status"] == "processing"
        && let Some(id) = pi["id"].as_str()
    {
        domain::schedule_settle(shared, id.to_owned());
    }
    Ok(Json(pi))
}

/// `GET /v1/payment_intents` (filter: `customer`).
pub async fn list_intents(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    list(
        &shared,
        &ctx,
        "payment_intent",
        "/v1/payment_intents",
        |_, v| matches(&ctx, "customer", v, "customer"),
    )
}

/// `GET /v1/payment_intents/:id`.
pub async fn retrieve_intent(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    retrieve(
        &shared,
        &ctx,
        "payment_intent",
        &id,
        "payment_intent",
        "intent",
    )
}

/// `POST /v1/payment_intents/:id` (metadata, description, payment_method while unconfirmed).
pub async fn update_intent(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    let metadata = ctx.metadata("metadata")?;
    let owner = ctx.owner.clone();
    shared.with_store(|s| {
        let pi = s.get(owner.as_deref(), "payment_intent", &id, "payment_intent", "intent")?;
        let pm = ctx.str("payment_method").map(|p| domain::resolve_payment_method(s, owner.as_deref(), &p)).transpose()?;
        let open = pi["status"] == "requires_payment_method" || pi["status"] == "requires_confirmation";
        if pm.is_some() && !open {
            return Err(ApiError::invalid(Some("payment_intent_unexpected_state"), "This PaymentIntent's payment_method could not be updated because it has a status of succeeded.", Some("payment_method")));
        }
        let v = s.update(&id, |p| {
            if let Some(Value::Object(m)) = p.get_mut("metadata") {
                m.extend(metadata);
            }
            if let Some(d) = ctx.str("description") {
                p.insert("description".into(), json!(d));
            }
            if let Some(pm) = pm {
                p.insert("payment_method".into(), json!(pm));
                p.insert("status".into(), json!("requires_confirmation"));
            }
        });
        Ok(Json(v))
    })
}

/// `POST /v1/payment_intents/:id/confirm` (optionally with `payment_method`).
pub async fn confirm_intent(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    let req = ctx.req();
    let owner = ctx.owner.clone();
    let result = shared.with_store(|s| {
        s.get(
            owner.as_deref(),
            "payment_intent",
            &id,
            "payment_intent",
            "intent",
        )?;
        if let Some(p) = ctx.str("payment_method") {
            let pm = domain::resolve_payment_method(s, owner.as_deref(), &p)?;
            s.update(&id, |pi| {
                pi.insert("payment_method".into(), json!(pm));
            });
        }
        domain::confirm(s, owner.as_deref(), &id, &req)
    });
    after_confirm(&shared, result)
}

/// `POST /v1/payment_intents/:id/cancel`.
pub async fn cancel_intent(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    let req = ctx.req();
    let reason = ctx.str("cancellation_reason");
    shared.with_store(|s| {
        let pi = s.get(ctx.owner(), "payment_intent", &id, "payment_intent", "intent")?;
        let st = pi["status"].as_str().unwrap_or_default();
        if !["requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"].contains(&st) {
            return Err(ApiError::invalid(
                Some("payment_intent_unexpected_state"),
                format!("You cannot cancel this PaymentIntent because it has a status of {st}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing."),
                None,
            ));
        }
        let v = s.update(&id, |p| {
            p.insert("status".into(), json!("canceled"));
            p.insert("canceled_at".into(), json!(now()));
            p.insert("cancellation_reason".into(), json!(reason));
        });
        s.emit(ctx.owner(), "payment_intent.canceled", &v, None, &req);
        Ok(Json(v))
    })
}
