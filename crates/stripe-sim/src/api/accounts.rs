//! Connect: accounts, account links (onboarding), login links.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::{list as list_of, retrieve as retrieve_one};
use crate::Shared;
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::ids::{new_id, now};

/// Requirements still due before onboarding.
const DUE: [&str; 5] = [
    "business_profile.url",
    "external_account",
    "individual.dob.day",
    "individual.ssn_last_4",
    "tos_acceptance.date",
];

fn requirements(done: bool) -> Value {
    let due: Vec<&str> = if done { Vec::new() } else { DUE.to_vec() };
    json!({
        "alternatives": [], "current_deadline": null, "currently_due": due, "disabled_reason": if done { Value::Null } else { json!("requirements.past_due") },
        "errors": [], "eventually_due": due, "past_due": due, "pending_verification": [],
    })
}

/// The JSON of a (connected) account in a given onboarding state.
pub fn onboarding_fields(done: bool) -> Value {
    let cap = if done { "active" } else { "inactive" };
    json!({
        "charges_enabled": done,
        "payouts_enabled": done,
        "details_submitted": done,
        "capabilities": {"card_payments": cap, "transfers": cap, "us_bank_account_ach_payments": cap},
        "requirements": requirements(done),
        "future_requirements": requirements(true),
    })
}

/// `POST /v1/accounts`.
pub async fn create(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    if ctx.owner.is_some() {
        return Err(ApiError::invalid(
            None,
            "Connected accounts cannot create accounts (the Stripe-Account header is not allowed here).",
            None,
        ));
    }
    let kind = ctx.str("type").unwrap_or_else(|| {
        if ctx.get("controller").is_some() {
            "none".into()
        } else {
            "standard".into()
        }
    });
    if !["standard", "express", "custom", "none"].contains(&kind.as_str()) {
        return Err(ApiError::invalid(
            Some("parameter_invalid_string"),
            "Invalid type: must be one of custom, express, or standard",
            Some("type"),
        ));
    }
    let metadata = ctx.metadata("metadata")?;
    let mut acct = json!({
        "id": new_id("acct"),
        "object": "account",
        "business_profile": {"mcc": null, "name": ctx.str("business_profile.name"), "product_description": null, "support_email": null, "support_phone": null, "support_url": null, "url": ctx.str("business_profile.url")},
        "business_type": ctx.str("business_type"),
        "country": ctx.str("country").unwrap_or_else(|| "US".into()),
        "created": now(),
        "default_currency": ctx.str("default_currency").unwrap_or_else(|| "usd".into()),
        "email": ctx.str("email"),
        "metadata": metadata,
        "settings": {
            "branding": {"icon": null, "logo": null, "primary_color": null, "secondary_color": null},
            "card_payments": {"decline_on": {"avs_failure": false, "cvc_failure": false}, "statement_descriptor_prefix": null, "statement_descriptor_prefix_kana": null, "statement_descriptor_prefix_kanji": null},
            "dashboard": {"display_name": ctx.str("business_profile.name"), "timezone": "America/Chicago"},
            "payments": {"statement_descriptor": null, "statement_descriptor_kana": null, "statement_descriptor_kanji": null},
            "payouts": {"debit_negative_balances": true, "schedule": {"delay_days": 2, "interval": "daily"}, "statement_descriptor": null},
        },
        "tos_acceptance": {"date": null, "ip": null, "user_agent": null},
        "type": kind,
    });
    if let (Value::Object(a), Value::Object(f)) = (&mut acct, onboarding_fields(false)) {
        a.extend(f);
    }
    let created = shared.with_store(|s| s.insert(None, acct));
    if shared.config().instant_onboarding
        && let Some(id) = created["id"].as_str()
        && let Some(done) = crate::pages::complete_onboarding(&shared, id)
    {
        return Ok(Json(done));
    }
    Ok(Json(created))
}

/// `GET /v1/accounts`.
pub async fn list(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    if ctx.owner.is_some() {
        return Ok(Json(
            json!({"object": "list", "data": [], "has_more": false, "url": "/v1/accounts"}),
        ));
    }
    list_of(&shared, &ctx, "account", "/v1/accounts", |_, _| true)
}

fn visible(ctx: &Ctx, id: &str) -> Result<(), ApiError> {
    match ctx.owner() {
        Some(me) if me != id => Err(ApiError::no_such("account", id, "account")),
        _ => Ok(()),
    }
}

/// `GET /v1/accounts/:id`.
pub async fn retrieve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    visible(&ctx, &id)?;
    let ctx = Ctx { owner: None, ..ctx };
    retrieve_one(&shared, &ctx, "account", &id, "account", "account")
}

/// `GET /v1/account`: the connected account named by `Stripe-Account`, or the platform.
pub async fn retrieve_own(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    match ctx.owner.clone() {
        Some(id) => retrieve(State(shared), Path(id), ctx).await,
        None => {
            let mut platform = json!({"id": "acct_aqueduct_platform", "object": "account", "business_type": "company", "country": "US", "created": 0, "default_currency": "usd", "email": null, "metadata": {}, "type": "standard"});
            if let (Value::Object(a), Value::Object(f)) = (&mut platform, onboarding_fields(true)) {
                a.extend(f);
            }
            Ok(Json(platform))
        }
    }
}

/// `POST /v1/accounts/:id` (metadata, email, business_profile[name|url]).
pub async fn update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    visible(&ctx, &id)?;
    shared.with_store(|s| {
        s.get(None, "account", &id, "account", "account")?;
        let metadata = ctx.metadata("metadata")?;
        let v = s.update(&id, |a| {
            if let Some(Value::Object(m)) = a.get_mut("metadata") {
                m.extend(metadata);
            }
            if let Some(email) = ctx.str("email") {
                a.insert("email".into(), json!(email));
            }
            for f in ["name", "url"] {
                if let Some(v) = ctx.str(&format!("business_profile.{f}")) {
                    a["business_profile"][f] = json!(v);
                }
            }
        });
        Ok(Json(v))
    })
}

/// `POST /v1/account_links`: a one-time onboarding URL served by the sim.
pub async fn account_link(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    let account = ctx.req_str("account")?;
    let return_url = ctx.req_str("return_url")?;
    let refresh_url = ctx.req_str("refresh_url")?;
    let kind = ctx.req_str("type")?;
    if kind != "account_onboarding" && kind != "account_update" {
        return Err(ApiError::invalid(
            Some("parameter_invalid_string"),
            "Invalid type: must be one of account_onboarding or account_update",
            Some("type"),
        ));
    }
    shared.with_store(|s| {
        s.get(None, "account", &account, "account", "account")?;
        let token = new_id("al").replace("al_", "");
        let created = now();
        s.internal.insert(
            format!("link:{token}"),
            json!({"account": account, "return_url": return_url, "refresh_url": refresh_url, "expires_at": created + 300, "used": false}),
        );
        Ok(Json(json!({
            "object": "account_link",
            "created": created,
            "expires_at": created + 300,
            "url": format!("{}/connect/onboarding/{token}", shared.origin),
        })))
    })
}

/// `POST /v1/accounts/:id/login_links`: an Express dashboard stand-in page.
pub async fn login_link(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    visible(&ctx, &id)?;
    shared.with_store(|s| {
        let acct = s.get(None, "account", &id, "account", "account")?;
        if acct["type"] != "express" {
            return Err(ApiError::invalid(None, format!("Cannot create a login link for an account that is not an Express account ({id})."), Some("account")));
        }
        Ok(Json(json!({
            "object": "login_link",
            "created": now(),
            "url": format!("{}/connect/express/{id}", shared.origin),
        })))
    })
}
