//! Bill runs and bills.

use super::parse_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_billing::bill_runs::{self, FinalizeOptions, FinalizeReport, NewRun, Preview};
use aqueduct_billing::entity::{bill, bill_run};
use aqueduct_billing::{accounts, bills};
use aqueduct_core::{AccountId, BillId, BillRunId};
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(Method::POST, "/api/v1/bill-runs", Role::Admin, post(create))
        .tenant(
            Method::GET,
            "/api/v1/bill-runs/{run_id}",
            Role::Viewer,
            get(show),
        )
        .tenant(
            Method::GET,
            "/api/v1/bill-runs/{run_id}/preview",
            Role::Viewer,
            get(preview),
        )
        .tenant(
            Method::POST,
            "/api/v1/bill-runs/{run_id}/finalize",
            Role::Admin,
            post(finalize),
        )
        .tenant(
            Method::GET,
            "/api/v1/bills/{bill_id}",
            Role::Viewer,
            get(show_bill),
        )
        .tenant(
            Method::POST,
            "/api/v1/bills/{bill_id}/void",
            Role::Admin,
            post(void),
        )
        .tenant(
            Method::GET,
            "/api/v1/accounts/{account_id}/bills",
            Role::Viewer,
            get(for_account),
        )
}

#[derive(Serialize)]
struct RunDto {
    id: String,
    schedule_id: String,
    period_start: String,
    period_end: String,
    due_on: String,
    status: String,
}

impl From<bill_run::Model> for RunDto {
    fn from(r: bill_run::Model) -> Self {
        Self {
            id: r.id.to_string(),
            schedule_id: r.schedule_id.to_string(),
            period_start: r.period_start.to_string(),
            period_end: r.period_end.to_string(),
            due_on: r.due_on.to_string(),
            status: r.status,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRun {
    schedule_id: String,
    period_start: chrono::NaiveDate,
    period_end: chrono::NaiveDate,
    due_on: chrono::NaiveDate,
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateRun>,
) -> Result<(StatusCode, Json<RunDto>), ApiError> {
    let schedule = body
        .schedule_id
        .parse()
        .map_err(|_| ApiError::Invalid("schedule_id is not an id".into()))?;
    let tx = state.db().tenant(&caller.tenant).await?;
    let run = bill_runs::create(
        &tx,
        state.clock(),
        NewRun {
            schedule,
            period_start: body.period_start,
            period_end: body.period_end,
            due_on: body.due_on,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(run.into())))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(run_id): Path<String>,
) -> Result<Json<RunDto>, ApiError> {
    let id: BillRunId = parse_id(&run_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let run = bill_runs::get(&tx, id).await?;
    tx.commit().await?;
    Ok(Json(run.into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewParams {
    estimate_missing: Option<bool>,
}

async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    Path(run_id): Path<String>,
    Query(params): Query<PreviewParams>,
) -> Result<Json<Preview>, ApiError> {
    let id: BillRunId = parse_id(&run_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let p = bill_runs::preview(&tx, id, params.estimate_missing.unwrap_or(false)).await?;
    tx.commit().await?;
    Ok(Json(p))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FinalizeBody {
    batch_size: Option<u64>,
    estimate_missing: Option<bool>,
}

fn optional_body<T: Default + for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        Ok(T::default())
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::Invalid(e.to_string()))
    }
}

async fn finalize(
    State(state): State<AppState>,
    caller: Caller,
    Path(run_id): Path<String>,
    body: Bytes,
) -> Result<Json<FinalizeReport>, ApiError> {
    let id: BillRunId = parse_id(&run_id)?;
    {
        let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
        bill_runs::get(&tx, id).await?;
        tx.commit().await?;
    }
    let body: FinalizeBody = optional_body(&body)?;
    let options = FinalizeOptions {
        batch_size: body.batch_size.unwrap_or(500),
        stop_after_batches: None,
        estimate_missing: body.estimate_missing.unwrap_or(false),
    };
    let report =
        bill_runs::finalize(state.db(), &caller.tenant, state.clock(), id, &options).await?;
    Ok(Json(report))
}

#[derive(Serialize)]
pub(crate) struct BillDto {
    id: String,
    number: i64,
    revision: i32,
    account_id: String,
    bill_run_id: String,
    period_start: String,
    period_end: String,
    read_from: String,
    read_to: String,
    previous_value: i64,
    current_value: i64,
    usage_units: i64,
    usage_unit: String,
    estimated: bool,
    total_cents: i64,
    due_on: String,
    voided: bool,
    lines: serde_json::Value,
}

pub(crate) fn bill_dto(b: bill::Model, voided: bool) -> BillDto {
    BillDto {
        id: b.id.to_string(),
        number: b.number,
        revision: b.revision,
        account_id: b.account_id.to_string(),
        bill_run_id: b.bill_run_id.to_string(),
        period_start: b.period_start.to_string(),
        period_end: b.period_end.to_string(),
        read_from: b.read_from.to_string(),
        read_to: b.read_to.to_string(),
        previous_value: b.previous_value,
        current_value: b.current_value,
        usage_units: b.usage_units,
        usage_unit: b.usage_unit,
        estimated: b.estimated,
        total_cents: b.total_cents,
        due_on: b.due_on.to_string(),
        voided,
        lines: serde_json::from_str(&b.lines).unwrap_or(serde_json::Value::Null),
    }
}

async fn show_bill(
    State(state): State<AppState>,
    caller: Caller,
    Path(bill_id): Path<String>,
) -> Result<Json<BillDto>, ApiError> {
    let id: BillId = parse_id(&bill_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let b = bills::get(&tx, id).await?;
    let voided = bills::is_voided(&tx, id).await?;
    tx.commit().await?;
    Ok(Json(bill_dto(b, voided)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct VoidBody {
    reason: Option<String>,
}

async fn void(
    State(state): State<AppState>,
    caller: Caller,
    Path(bill_id): Path<String>,
    body: Bytes,
) -> Result<Json<BillDto>, ApiError> {
    let id: BillId = parse_id(&bill_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    bills::get(&tx, id).await?;
    let body: VoidBody = optional_body(&body)?;
    let reason = body.reason.unwrap_or_else(|| "voided".into());
    bill_runs::void(&tx, state.clock(), id, &reason).await?;
    let b = bills::get(&tx, id).await?;
    tx.commit().await?;
    Ok(Json(bill_dto(b, true)))
}

async fn for_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<Vec<BillDto>>, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    accounts::get(&tx, id).await?;
    let list = bills::for_account(&tx, id).await?;
    let mut out = Vec::with_capacity(list.len());
    for b in list {
        let voided = bills::is_voided(&tx, BillId::from_uuid(b.id)).await?;
        out.push(bill_dto(b, voided));
    }
    tx.commit().await?;
    Ok(Json(out))
}
