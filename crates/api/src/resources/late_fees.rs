//! The late-fee rule and the late-fee job.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_billing::late_fees::{self, LateFeeReport, Rule};
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::{get, post, put};

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
