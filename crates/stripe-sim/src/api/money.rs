//! Charges, refunds, disputes, payouts, balance, balance transactions, events.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::{list, matches, retrieve};
use crate::Shared;
use crate::ctx::Ctx;
use crate::domain;
use crate::error::{ApiError, ApiResult};
use crate::store::paginate;

/// `GET /v1/charges` (filter: `payment_intent`, `customer`).
pub async fn list_charges(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    list(&shared, &ctx, "charge", "/v1/charges", |_, v| {
        matches(&ctx, "payment_intent", v, "payment_intent")
            && matches(&ctx, "customer", v, "customer")
    })
}

/// `GET /v1/charges/:id`.
pub async fn retrieve_charge(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    retrieve(&shared, &ctx, "charge", &id, "charge", "charge")
}

/// `POST /v1/refunds` (`payment_intent` or `charge`, optional `amount`, `reason`, `metadata`).
pub async fn create_refund(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    let amount = ctx.int("amount")?;
    let metadata = ctx.metadata("metadata")?;
    let req = ctx.req();
    shared.with_store(|s| {
        let charge = domain::charge_for(
            s,
            ctx.owner(),
            ctx.str("payment_intent").as_deref(),
            ctx.str("charge").as_deref(),
        )?;
        domain::refund(
            s,
            ctx.owner(),
            &charge,
            amount,
            ctx.str("reason"),
            metadata,
            &req,
        )
        .map(Json)
    })
}

/// `GET /v1/refunds` (filter: `payment_intent`, `charge`).
pub async fn list_refunds(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    list(&shared, &ctx, "refund", "/v1/refunds", |_, v| {
        matches(&ctx, "payment_intent", v, "payment_intent") && matches(&ctx, "charge", v, "charge")
    })
}

/// `GET /v1/refunds/:id`.
pub async fn retrieve_refund(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    retrieve(&shared, &ctx, "refund", &id, "refund", "refund")
}

/// `GET /v1/disputes` (filter: `payment_intent`, `charge`).
pub async fn list_disputes(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    list(&shared, &ctx, "dispute", "/v1/disputes", |_, v| {
        matches(&ctx, "payment_intent", v, "payment_intent") && matches(&ctx, "charge", v, "charge")
    })
}

/// `GET /v1/disputes/:id`.
pub async fn retrieve_dispute(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    retrieve(&shared, &ctx, "dispute", &id, "dispute", "dispute")
}

/// `GET /v1/payouts` (filter: `status`).
pub async fn list_payouts(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    list(&shared, &ctx, "payout", "/v1/payouts", |_, v| {
        matches(&ctx, "status", v, "status")
    })
}

/// `GET /v1/payouts/:id`.
pub async fn retrieve_payout(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    retrieve(&shared, &ctx, "payout", &id, "payout", "payout")
}

/// `GET /v1/balance`.
pub async fn balance(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    let avail = shared.with_store(|s| domain::available(s, ctx.owner()));
    let available: Vec<Value> = avail
        .iter()
        .map(|(c, a)| json!({"amount": a, "currency": c, "source_types": {"card": a}}))
        .collect();
    let pending: Vec<Value> = avail
        .iter()
        .map(|(c, _)| json!({"amount": 0, "currency": c, "source_types": {"card": 0}}))
        .collect();
    Ok(Json(
        json!({"object": "balance", "available": available, "livemode": false, "pending": pending}),
    ))
}

/// `GET /v1/balance_transactions` (filter: `payout`, `type`, `source`).
pub async fn list_balance_transactions(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    let payout = ctx.str("payout");
    if let Some(po) = &payout {
        shared.with_store(|s| {
            s.get(ctx.owner(), "payout", po, "payout", "payout")
                .map(|_| ())
        })?;
    }
    list(
        &shared,
        &ctx,
        "balance_transaction",
        "/v1/balance_transactions",
        |s, v| {
            let in_payout = payout.as_deref().is_none_or(|po| {
                v["id"]
                    .as_str()
                    .and_then(|id| s.payout_of.get(id))
                    .is_some_and(|p| p == po)
            });
            in_payout && matches(&ctx, "type", v, "type") && matches(&ctx, "source", v, "source")
        },
    )
}

/// `GET /v1/balance_transactions/:id`.
pub async fn retrieve_balance_transaction(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    retrieve(
        &shared,
        &ctx,
        "balance_transaction",
        &id,
        "balance transaction",
        "id",
    )
}

/// `GET /v1/events` (filter: `type`, with `*` wildcards like `payment_intent.*`): the
/// request's account's events (Connect events when `Stripe-Account` is set).
pub async fn list_events(State(shared): State<Arc<Shared>>, ctx: Ctx) -> ApiResult {
    let want = ctx.str("type");
    let types = ctx.strings("types");
    let items: Vec<Value> = shared.with_store(|s| {
        s.events
            .iter()
            .rev()
            .filter(|e| e.get("account").and_then(Value::as_str) == ctx.owner())
            .filter(|e| {
                let t = e["type"].as_str().unwrap_or_default();
                let ok_type = want.as_deref().is_none_or(|w| match w.strip_suffix('*') {
                    Some(prefix) => t.starts_with(prefix),
                    None => t == w,
                });
                ok_type && (types.is_empty() || types.iter().any(|x| x == t))
            })
            .cloned()
            .collect()
    });
    paginate(items, &ctx.params, "/v1/events").map(Json)
}

/// `GET /v1/events/:id`.
pub async fn retrieve_event(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> ApiResult {
    shared.with_store(|s| {
        s.events
            .iter()
            .find(|e| {
                e["id"] == id.as_str() && e.get("account").and_then(Value::as_str) == ctx.owner()
            })
            .cloned()
            .map(Json)
            .ok_or_else(|| ApiError::no_such("event", &id, "id"))
    })
}
