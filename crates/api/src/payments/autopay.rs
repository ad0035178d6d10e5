//! Autopay, staff side: an account's autopay state and the bills it
//! charged, starting the setup page (Stripe-hosted; the link can be sent
//! to the customer), turning it off, and the association's timing. The
//! customer starts it from the portal (`POST /{slug}/autopay`).

use super::stripe;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::resources::parse_id;
use crate::state::AppState;
use aqueduct_core::AccountId;
use aqueduct_payments::autopay::{self, AutopayView, SetupLink};
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post, put};
use serde::{Deserialize, Serialize};

pub(super) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::GET,
        "/api/v1/accounts/{account_id}/autopay",
        Role::Viewer,
        get(show),
    )
    .tenant(
        Method::POST,
        "/api/v1/accounts/{account_id}/autopay",
        Role::Clerk,
        post(start),
    )
    .tenant(
        Method::DELETE,
        "/api/v1/accounts/{account_id}/autopay",
        Role::Clerk,
        delete(turn_off),
    )
    .tenant(
        Method::GET,
        "/api/v1/stripe/autopay",
        Role::Viewer,
        get(show_timing),
    )
    .tenant(
        Method::PUT,
        "/api/v1/stripe/autopay",
        Role::Admin,
        put(set_timing),
    )
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<AutopayView>, ApiError> {
    let account: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let view = autopay::view(&tx, account).await?;
    tx.commit().await?;
    Ok(Json(view))
}

/// Opens (or returns the open) Stripe setup page for the account.
async fn start(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<(StatusCode, Json<SetupLink>), ApiError> {
    let account: AccountId = parse_id(&account_id)?;
    {
        let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
        aqueduct_billing::accounts::get(&tx, account).await?;
        tx.commit().await?;
    }
    let stripe = stripe(&state)?;
    let link = autopay::start(state.db(), &caller.tenant, state.clock(), stripe, account).await?;
    record(&state, &caller, "autopay.start", account).await?;
    Ok((StatusCode::CREATED, Json(link)))
}

#[derive(Serialize)]
struct OffDto {
    /// Whether autopay was on (or being set up) before.
    was_on: bool,
}

async fn turn_off(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<OffDto>, ApiError> {
    let account: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    let was_on = autopay::turn_off(&tx, state.clock(), account).await?;
    tx.commit().await?;
    record(&state, &caller, "autopay.off", account).await?;
    Ok(Json(OffDto { was_on }))
}

async fn record(
    state: &AppState,
    caller: &Caller,
    action: &str,
    account: AccountId,
) -> Result<(), ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    audit::record_in(
        &tx,
        state.clock(),
        AuditEntry {
            tenant: None,
            actor: caller.actor.clone(),
            action: action.into(),
            target: Some(format!("account:{account}")),
            outcome: Outcome::Success,
            request_id: None,
            ip: None,
            details: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// When autopay charges and when the customer is told.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimingDto {
    /// Days before the due date the bill is charged (0: on the due date).
    days_before_due: i32,
    /// Days before the charge the upcoming notice goes out.
    notice_days: i32,
}

async fn show_timing(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TimingDto>, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let (days_before_due, notice_days) = autopay::timing(&tx).await?;
    tx.commit().await?;
    Ok(Json(TimingDto {
        days_before_due,
        notice_days,
    }))
}

async fn set_timing(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<TimingDto>,
) -> Result<Json<TimingDto>, ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    autopay::set_timing(&tx, state.clock(), body.days_before_due, body.notice_days).await?;
    audit::record_in(
        &tx,
        state.clock(),
        AuditEntry {
            tenant: None,
            actor: caller.actor.clone(),
            action: "autopay.timing".into(),
            target: None,
            outcome: Outcome::Success,
            request_id: None,
            ip: None,
            details: Some(serde_json::json!({
                "days_before_due": body.days_before_due,
                "notice_days": body.notice_days,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(body))
}
