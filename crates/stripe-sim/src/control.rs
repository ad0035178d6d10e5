//! `/_sim/…`: test controls (no API key; the sim only listens on loopback).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::api::checkout::{self, Action, Outcome};
use crate::config::SimConfig;
use crate::error::ApiError;
use crate::{Shared, domain, form, lock, pages};

/// The control routes.
pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/config", get(get_config).post(set_config))
        .route("/events", get(events))
        .route("/events/{id}/resend", post(resend))
        .route("/deliveries", get(deliveries))
        .route("/webhooks/flush", post(flush))
        .route("/accounts/{id}/onboard", post(onboard))
        .route("/checkout/sessions/{id}/complete", post(complete_session))
        .route("/payment_intents/{id}/settle", post(settle))
        .route("/disputes", post(open_dispute))
        .route("/disputes/{id}/win", post(win))
        .route("/disputes/{id}/lose", post(lose))
        .route("/payouts", post(payout))
        .route("/accounts/{id}/requirements", post(require))
        .route(
            "/accounts/{id}/fail_next_off_session",
            post(fail_next_off_session),
        )
}

/// A JSON or form body as a JSON object.
fn body(raw: &str) -> Value {
    serde_json::from_str::<Value>(raw)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| form::parse(raw))
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    match &v[key] {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn int_of(v: &Value, key: &str) -> Result<Option<i64>, ApiError> {
    str_of(v, key)
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| ApiError::invalid(None, format!("Invalid integer: {s}"), Some(key)))
        })
        .transpose()
}

async fn get_config(State(shared): State<Arc<Shared>>) -> Json<SimConfig> {
    Json(shared.config())
}

/// Merges a partial JSON config (e.g. `{"delivery":{"deliver_twice":true}}`).
async fn set_config(State(shared): State<Arc<Shared>>, raw: String) -> Response {
    let patch: Value = match serde_json::from_str(&raw) {
        Ok(v) => v,
        Err(e) => {
            return ApiError::invalid(None, format!("config must be JSON: {e}"), None)
                .into_response();
        }
    };
    let mut current = serde_json::to_value(shared.config()).unwrap_or(Value::Null);
    merge(&mut current, patch);
    match serde_json::from_value::<SimConfig>(current) {
        Ok(cfg) => {
            *lock(&shared.config) = cfg.clone();
            Json(cfg).into_response()
        }
        Err(e) => ApiError::invalid(None, format!("invalid config: {e}"), None).into_response(),
    }
}

fn merge(into: &mut Value, patch: Value) {
    match (into, patch) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

async fn events(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(Value::Array(lock(&shared.store).events.clone()))
}

async fn resend(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let ev = lock(&shared.store)
        .events
        .iter()
        .find(|e| e["id"] == id.as_str())
        .cloned();
    match ev {
        Some(ev) if shared.config().webhook_url.is_some() => {
            shared.delivery.enqueue(vec![ev.clone()]);
            Json(ev).into_response()
        }
        Some(_) => ApiError::invalid(None, "No webhook_url configured.", None).into_response(),
        None => ApiError::no_such("event", &id, "id").into_response(),
    }
}

async fn deliveries(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(serde_json::to_value(lock(&shared.delivery.log).clone()).unwrap_or(Value::Null))
}

#[derive(Debug, serde::Deserialize)]
struct FlushQuery {
    timeout_ms: Option<u64>,
}

/// Waits until every queued delivery is done (or `timeout_ms`, default 30 s).
async fn flush(State(shared): State<Arc<Shared>>, Query(q): Query<FlushQuery>) -> Response {
    let wait = Duration::from_millis(q.timeout_ms.unwrap_or(30_000));
    let done = tokio::time::timeout(wait, shared.delivery.wait_idle())
        .await
        .is_ok();
    let status = if done {
        StatusCode::OK
    } else {
        StatusCode::GATEWAY_TIMEOUT
    };
    (
        status,
        Json(json!({"idle": done, "pending": shared.delivery.pending()})),
    )
        .into_response()
}

async fn onboard(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match pages::complete_onboarding(&shared, &id) {
        Some(acct) => Json(acct).into_response(),
        None => ApiError::no_such("account", &id, "account").into_response(),
    }
}

/// `{"currently_due": [...], "past_due": [...], "disabled_reason": "..."}`
/// (JSON): Stripe asks the account for more and emits `account.updated`.
async fn require(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    raw: String,
) -> Response {
    let b = body(&raw);
    let list = |k: &str| -> Vec<String> {
        b[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let reason = str_of(&b, "disabled_reason");
    match pages::require(
        &shared,
        &id,
        &list("currently_due"),
        &list("past_due"),
        reason.as_deref(),
    ) {
        Some(acct) => Json(acct).into_response(),
        None => ApiError::no_such("account", &id, "account").into_response(),
    }
}

async fn complete_session(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    raw: String,
) -> Response {
    let b = body(&raw);
    let action =
        match str_of(&b, "action").as_deref() {
            Some("pay") => Action::Pay,
            Some("decline") => Action::Decline,
            Some("bank_succeed") => Action::BankSucceed,
            Some("bank_fail") => Action::BankFail,
            Some("save") => Action::Save,
            Some("save_declining") => Action::SaveDeclining,
            Some("save_bank") => Action::SaveBank,
            _ => return ApiError::invalid(
                None,
                "action must be one of pay, decline, bank_succeed, bank_fail, save, save_declining, save_bank",
                Some("action"),
            )
            .into_response(),
        };
    let outcome = checkout::complete(&shared, &id, action);
    let session = lock(&shared.store).raw(&id).map(|o| o.json.clone());
    match outcome {
        Outcome::Redirect(url) => {
            Json(json!({"redirect": url, "session": session})).into_response()
        }
        Outcome::Message(m) => (
            StatusCode::PAYMENT_REQUIRED,
            Json(json!({"message": m, "session": session})),
        )
            .into_response(),
    }
}

async fn settle(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    shared.with_store(|s| domain::settle(s, &id));
    match lock(&shared.store).raw(&id) {
        Some(o) => Json(o.json.clone()).into_response(),
        None => ApiError::no_such("payment_intent", &id, "intent").into_response(),
    }
}

/// Opens a dispute: `charge` or `payment_intent`, optional `reason` (default `fraudulent`).
async fn open_dispute(State(shared): State<Arc<Shared>>, raw: String) -> Response {
    let b = body(&raw);
    let reason = str_of(&b, "reason").unwrap_or_else(|| "fraudulent".into());
    let result = shared.with_store(|s| {
        let charge = match (str_of(&b, "charge"), str_of(&b, "payment_intent")) {
            (Some(c), _) => c,
            (None, Some(pi)) => s
                .raw(&pi)
                .and_then(|o| o.json["latest_charge"].as_str().map(str::to_owned))
                .ok_or_else(|| ApiError::no_such("payment_intent", &pi, "payment_intent"))?,
            _ => return Err(ApiError::missing("charge")),
        };
        domain::open_dispute(s, &charge, &reason)
    });
    respond(result)
}

async fn win(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    respond(shared.with_store(|s| domain::close_dispute(s, &id, true)))
}

async fn lose(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    respond(shared.with_store(|s| domain::close_dispute(s, &id, false)))
}

/// Pays out the available balance: `account` (omit for the platform), optional
/// `amount`, `fail=true` for a failed payout.
async fn payout(State(shared): State<Arc<Shared>>, raw: String) -> Response {
    let b = body(&raw);
    let amount = match int_of(&b, "amount") {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let fail = str_of(&b, "fail").is_some_and(|f| f == "true");
    let account = str_of(&b, "account");
    respond(shared.with_store(|s| {
        if let Some(a) = &account {
            s.get(None, "account", a, "account", "account")?;
        }
        domain::payout(s, account.as_deref(), amount, fail)
    }))
}

/// `code=card_declined|insufficient_funds|authentication_required`: the
/// next off-session PaymentIntent confirmed on connected account `id` fails
/// with that code (Stripe's 402), whatever payment method it uses.
async fn fail_next_off_session(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    raw: String,
) -> Response {
    let b = body(&raw);
    let code = str_of(&b, "code").unwrap_or_else(|| "card_declined".into());
    if domain::Behavior::forced_failure(&code).is_none() {
        return ApiError::invalid(
            None,
            "code must be one of card_declined, insufficient_funds, authentication_required",
            Some("code"),
        )
        .into_response();
    }
    respond(shared.with_store(|s| {
        s.get(None, "account", &id, "account", "account")?;
        s.internal
            .insert(domain::fail_next_key(Some(&id)), json!(code.clone()));
        Ok(json!({"account": id, "fail_next_off_session": code}))
    }))
}

fn respond(r: Result<Value, ApiError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}
