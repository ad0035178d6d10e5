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
use aqueduct_payments::autopay::{self, AutopayView, MoveOffer, SetupLink, TurnedOff, Via};
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
        "/api/v1/accounts/{account_id}/autopay/move",
        Role::Viewer,
        get(move_offers),
    )
    .tenant(
        Method::POST,
        "/api/v1/accounts/{account_id}/autopay/move",
        Role::Clerk,
        post(keep_on_new_account),
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
    let view = autopay::view(&tx, account, state.clock().now().date_naive()).await?;
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
    record(&state, &caller, "autopay.start", account, None).await?;
    Ok((StatusCode::CREATED, Json(link)))
}

/// Turns autopay off: the mandate ends and the saved method is detached
/// at Stripe → `{was_on, detached, detach_pending}`.
async fn turn_off(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<TurnedOff>, ApiError> {
    let account: AccountId = parse_id(&account_id)?;
    let done = turn_off_and_audit(&state, &caller, account).await?;
    Ok(Json(done))
}

/// The one way staff turn autopay off (JSON and the workspace form).
pub(crate) async fn turn_off_and_audit(
    state: &AppState,
    caller: &Caller,
    account: AccountId,
) -> Result<TurnedOff, ApiError> {
    let done = autopay::turn_off(
        state.db(),
        &caller.tenant,
        state.clock(),
        state.stripe(),
        account,
    )
    .await?;
    record(
        state,
        caller,
        "autopay.off",
        account,
        Some(serde_json::json!({
            "was_on": done.was_on,
            "detached": done.detached,
            "detach_pending": done.detach_pending,
        })),
    )
    .await?;
    Ok(done)
}

#[derive(Serialize)]
struct OffersDto {
    /// Saved methods of the customer's closed accounts that can move here.
    offers: Vec<MoveOffer>,
}

async fn move_offers(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<OffersDto>, ApiError> {
    let account: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let offers = autopay::move_offers(&tx, account, Via::Staff).await?;
    tx.commit().await?;
    Ok(Json(OffersDto { offers }))
}

/// `{"from_account_id": "…", "consent": true}`: the customer agreed (by
/// phone, in writing) to keep autopay with the same method here.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveDto {
    from_account_id: String,
    consent: bool,
}

async fn keep_on_new_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<AutopayView>, ApiError> {
    let account: AccountId = parse_id(&account_id)?;
    {
        let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
        aqueduct_billing::accounts::get(&tx, account).await?;
        tx.commit().await?;
    }
    let dto: MoveDto = serde_json::from_slice(&body).map_err(|e| {
        ApiError::Invalid(format!(
            "send {{\"from_account_id\": \"…\", \"consent\": true}}: {e}"
        ))
    })?;
    let from: AccountId = parse_id(&dto.from_account_id)?;
    keep_and_audit(
        &state,
        &caller.tenant,
        &caller.actor,
        account,
        from,
        dto.consent,
        Via::Staff,
    )
    .await?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let view = autopay::view(&tx, account, state.clock().now().date_naive()).await?;
    tx.commit().await?;
    Ok(Json(view))
}

/// Moves autopay with consent and audits it (staff and customer pages).
pub(crate) async fn keep_and_audit(
    state: &AppState,
    tenant: &aqueduct_tenant::TenantCtx,
    actor: &str,
    to: AccountId,
    from: AccountId,
    consent: bool,
    via: Via<'_>,
) -> Result<(), ApiError> {
    let tx = state.db().tenant(tenant).await?;
    let moved =
        match autopay::keep_on_new_account(&tx, state.clock(), to, from, actor, consent, via).await
        {
            Ok(m) => m,
            Err(e) => {
                tx.rollback().await?;
                return Err(e.into());
            }
        };
    audit::record_in(
        &tx,
        state.clock(),
        AuditEntry {
            tenant: None,
            actor: actor.to_owned(),
            action: "autopay.moved".into(),
            target: Some(format!("account:{to}")),
            outcome: Outcome::Success,
            request_id: None,
            ip: None,
            details: Some(serde_json::json!({
                "from_account": from.to_string(),
                "from_mandate": moved.moved_from.map(|u| u.to_string()),
                "consented_at": moved.consented_at,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn record(
    state: &AppState,
    caller: &Caller,
    action: &str,
    account: AccountId,
    details: Option<serde_json::Value>,
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
            details,
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
