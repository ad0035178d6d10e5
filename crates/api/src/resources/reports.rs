//! Reports as CSV downloads.

use super::parse_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_billing::impact::{self, Impact};
use aqueduct_billing::reports;
use aqueduct_core::BillRunId;
use aqueduct_rates::RateSchedule;
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::GET,
        "/api/v1/reports/aging.csv",
        Role::Viewer,
        get(aging),
    )
    .tenant(
        Method::GET,
        "/api/v1/reports/general-ledger.csv",
        Role::Viewer,
        get(general_ledger),
    )
    .tenant(
        Method::GET,
        "/api/v1/reports/payments.csv",
        Role::Viewer,
        get(payments),
    )
    .tenant(
        Method::GET,
        "/api/v1/reports/consumption.csv",
        Role::Viewer,
        get(consumption),
    )
    .tenant(
        Method::GET,
        "/api/v1/bill-runs/{run_id}/register.csv",
        Role::Viewer,
        get(register),
    )
    .tenant(
        Method::POST,
        "/api/v1/reports/rate-impact",
        Role::Clerk,
        post(rate_impact),
    )
    .tenant(
        Method::POST,
        "/api/v1/reports/rate-impact.csv",
        Role::Clerk,
        post(rate_impact_csv),
    )
    .tenant(
        Method::GET,
        "/api/v1/reports/deposits.csv",
        Role::Viewer,
        get(deposit_register),
    )
    .tenant(
        Method::GET,
        "/api/v1/reports/estimated-reads.csv",
        Role::Viewer,
        get(estimated_reads),
    )
}

async fn deposit_register(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let body = reports::deposit_register_csv(&tx).await?;
    tx.commit().await?;
    Ok(csv("deposits.csv", body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Window {
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
}

/// Estimated reads from `from` (default: a year ago) to `to` (default:
/// today).
async fn estimated_reads(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Query(w): axum::extract::Query<Window>,
) -> Result<Response, ApiError> {
    let today = state.clock().now().date_naive();
    let to = w.to.unwrap_or(today);
    let from = w.from.unwrap_or_else(|| to - chrono::Days::new(366));
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let body = reports::estimated_reads_csv(&tx, from, to).await?;
    tx.commit().await?;
    Ok(csv("estimated-reads.csv", body))
}

fn csv(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

async fn aging(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let today = state.clock().now().date_naive();
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let body = reports::aging_csv(&tx, today).await?;
    tx.commit().await?;
    Ok(csv(&format!("aging-{today}.csv"), body))
}

async fn general_ledger(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let body = reports::general_ledger_csv(&tx).await?;
    tx.commit().await?;
    Ok(csv("general-ledger.csv", body))
}

async fn payments(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let body = reports::payments_csv(&tx).await?;
    tx.commit().await?;
    Ok(csv("payments.csv", body))
}

async fn consumption(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let body = reports::consumption_csv(&tx).await?;
    tx.commit().await?;
    Ok(csv("consumption.csv", body))
}

async fn register(
    State(state): State<AppState>,
    caller: Caller,
    Path(run_id): Path<String>,
) -> Result<Response, ApiError> {
    let id: BillRunId = parse_id(&run_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let body = reports::register_csv(&tx, id).await?;
    tx.commit().await?;
    Ok(csv(&format!("register-{id}.csv"), body))
}

/// The body of the rate-impact report: the proposed schedule (the same JSON
/// as a rate-schedule version).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImpactBody {
    schedule: RateSchedule,
}

async fn compute_impact(
    state: &AppState,
    caller: &Caller,
    body: &ImpactBody,
) -> Result<Impact, ApiError> {
    let today = state.clock().now().date_naive();
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let out = impact::rate_change_impact(&tx, &body.schedule, today).await?;
    tx.commit().await?;
    Ok(out)
}

/// `POST /api/v1/reports/rate-impact` `{"schedule": …}`: the last twelve
/// months of bills priced with a proposed schedule, by meter size and usage
/// band. Writes nothing.
async fn rate_impact(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ImpactBody>,
) -> Result<Json<Impact>, ApiError> {
    Ok(Json(compute_impact(&state, &caller, &body).await?))
}

/// The same as CSV.
async fn rate_impact_csv(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ImpactBody>,
) -> Result<Response, ApiError> {
    let out = compute_impact(&state, &caller, &body).await?;
    Ok(csv(
        &format!("rate-impact-{}.csv", out.to),
        impact::impact_csv(&out)?,
    ))
}
