//! The late-fee rule and the late-fee job.

use super::parse_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_billing::accounts;
use aqueduct_billing::late_fees::{self, LateFeeReport, Rule};
use aqueduct_billing::payment_plans::{self, PlanView, ShutOffNotice};
use aqueduct_core::AccountId;
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post, put};
use chrono::NaiveDate;
use serde::Deserialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::GET,
        "/api/v1/late-fee-rule",
        Role::Viewer,
        get(show),
    )
    .tenant(Method::PUT, "/api/v1/late-fee-rule", Role::Admin, put(set))
    .tenant(
        Method::POST,
        "/api/v1/jobs/late-fees",
        Role::Admin,
        post(run),
    )
    .tenant(
        Method::GET,
        "/api/v1/accounts/{account_id}/payment-plans",
        Role::Viewer,
        get(list_plans),
    )
    .tenant(
        Method::POST,
        "/api/v1/accounts/{account_id}/payment-plans",
        Role::Clerk,
        post(create_plan),
    )
    .tenant(
        Method::POST,
        "/api/v1/accounts/{account_id}/payment-plans/cancel",
        Role::Clerk,
        post(cancel_plans),
    )
    .tenant(
        Method::GET,
        "/api/v1/reports/shut-off-notices",
        Role::Viewer,
        get(shut_off_notices),
    )
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Option<Rule>>, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let r = late_fees::rule(&tx).await?;
    tx.commit().await?;
    Ok(Json(r))
}

async fn set(
    State(state): State<AppState>,
    caller: Caller,
    Json(rule): Json<Rule>,
) -> Result<Json<Rule>, ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    let r = late_fees::set_rule(&tx, state.clock(), rule).await?;
    tx.commit().await?;
    Ok(Json(r))
}

/// Runs the daily late-fee job now (it is idempotent).
async fn run(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<LateFeeReport>, ApiError> {
    let today = state.clock().now().date_naive();
    let tx = state.db().tenant(&caller.tenant).await?;
    let report = late_fees::assess(&tx, state.clock(), today).await?;
    tx.commit().await?;
    Ok(Json(report))
}

async fn list_plans(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<Vec<PlanView>>, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    let today = state.clock().now().date_naive();
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    accounts::get(&tx, id).await?;
    let plans = payment_plans::for_account(&tx, id, today).await?;
    tx.commit().await?;
    Ok(Json(plans))
}

/// `{"installments": 2–24, "first_due_on": "2026-12-15"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPlan {
    installments: Option<i32>,
    first_due_on: Option<NaiveDate>,
}

async fn create_plan(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
    Json(body): Json<NewPlan>,
) -> Result<(StatusCode, Json<PlanView>), ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    accounts::get(&tx, id).await?;
    let (Some(n), Some(first)) = (body.installments, body.first_due_on) else {
        return Err(ApiError::Invalid(
            "send installments and first_due_on".into(),
        ));
    };
    let plan = payment_plans::create(&tx, state.clock(), id, n, first).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(plan)))
}

#[derive(serde::Serialize)]
struct Cancelled {
    cancelled: u64,
}

async fn cancel_plans(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<Cancelled>, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    accounts::get(&tx, id).await?;
    let cancelled = payment_plans::cancel(&tx, state.clock(), id).await?;
    tx.commit().await?;
    Ok(Json(Cancelled { cancelled }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeParams {
    /// Leave out accounts owing less than this (60+ days old), in cents.
    min_overdue_cents: Option<i64>,
}

/// `GET /api/v1/reports/shut-off-notices`: active accounts with a balance
/// 60 days old or older, not keeping a payment plan, no payment processing.
async fn shut_off_notices(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<NoticeParams>,
) -> Result<Json<Vec<ShutOffNotice>>, ApiError> {
    let today = state.clock().now().date_naive();
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let list = payment_plans::shut_off_notices(&tx, today, p.min_overdue_cents.unwrap_or(1).max(1))
        .await?;
    tx.commit().await?;
    Ok(Json(list))
}
