//! Connect onboarding for association admins.

use super::stripe;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_payments::connect::{self, ConnectStatus};
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::{get, post};
use serde::Serialize;

pub(super) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::GET,
        "/api/v1/stripe/account",
        Role::Admin,
        get(status),
    )
    .tenant(
        Method::POST,
        "/api/v1/stripe/connect",
        Role::Admin,
        post(start),
    )
    .tenant(
        Method::POST,
        "/api/v1/stripe/dashboard",
        Role::Admin,
        post(dashboard),
    )
}

#[derive(Serialize)]
struct LinkDto {
    url: String,
}

/// The association's connected account, requirements and platform fee.
/// Stripe's `refresh_url` and `return_url` lead here.
async fn status(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ConnectStatus>, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let st = ConnectStatus::load(&tx).await?;
    tx.commit().await?;
    Ok(Json(st))
}

/// "Connect with Stripe": creates the connected account once and returns a
/// fresh onboarding link (call again for a new one).
async fn start(State(state): State<AppState>, caller: Caller) -> Result<Json<LinkDto>, ApiError> {
    let stripe = stripe(&state)?;
    let url = connect::onboarding_link(state.db(), &caller.tenant, state.clock(), stripe).await?;
    Ok(Json(LinkDto { url }))
}

/// A one-time link to the association's Stripe dashboard.
async fn dashboard(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<LinkDto>, ApiError> {
    let stripe = stripe(&state)?;
    let url = connect::dashboard_link(state.db(), &caller.tenant, stripe).await?;
    Ok(Json(LinkDto { url }))
}
