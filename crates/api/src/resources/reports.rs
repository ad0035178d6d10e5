//! Reports as CSV downloads.

use super::parse_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_billing::reports;
use aqueduct_core::BillRunId;
use aqueduct_tenant::{Access, Role};
use axum::extract::{Path, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

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
