//! Rate schedules and the bill calculator.

use super::parse_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_billing::rates::{self, StoredSchedule};
use aqueduct_core::RateScheduleId;
use aqueduct_rates::{
    BillCalculation, BillInput, BillingPeriod, MeterSize, RateSchedule, Service, Volume, VolumeUnit,
};
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::GET,
        "/api/v1/rate-schedules",
        Role::Viewer,
        get(list),
    )
    .tenant(
        Method::POST,
        "/api/v1/rate-schedules",
        Role::Admin,
        post(create),
    )
    .tenant(
        Method::GET,
        "/api/v1/rate-schedules/{schedule_id}",
        Role::Viewer,
        get(show),
    )
    .tenant(
        Method::POST,
        "/api/v1/rate-schedules/{schedule_id}/versions",
        Role::Admin,
        post(add_version),
    )
    .tenant(
        Method::POST,
        "/api/v1/rate-schedules/{schedule_id}/preview",
        Role::Viewer,
        post(preview),
    )
}

#[derive(Serialize)]
struct ScheduleDto {
    id: String,
    name: String,
    versions: Vec<RateSchedule>,
}

impl From<StoredSchedule> for ScheduleDto {
    fn from(s: StoredSchedule) -> Self {
        Self {
            id: s.schedule.id.to_string(),
            name: s.schedule.name,
            versions: s.history.versions().to_vec(),
        }
    }
}

#[derive(Serialize)]
struct ScheduleSummary {
    id: String,
    name: String,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ScheduleSummary>>, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = rates::list(&tx).await?;
    tx.commit().await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| ScheduleSummary {
                id: r.id.to_string(),
                name: r.name,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateSchedule {
    name: String,
    version: RateSchedule,
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateSchedule>,
) -> Result<(StatusCode, Json<ScheduleDto>), ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    let s = rates::create(&tx, state.clock(), &body.name, body.version).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(s.into())))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(schedule_id): Path<String>,
) -> Result<Json<ScheduleDto>, ApiError> {
    let id: RateScheduleId = parse_id(&schedule_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let s = rates::get(&tx, id).await?;
    tx.commit().await?;
    Ok(Json(s.into()))
}

async fn add_version(
    State(state): State<AppState>,
    caller: Caller,
    Path(schedule_id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<ScheduleDto>), ApiError> {
    let id: RateScheduleId = parse_id(&schedule_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    rates::get(&tx, id).await?;
    let version: RateSchedule =
        serde_json::from_slice(&body).map_err(|e| ApiError::Invalid(e.to_string()))?;
    let s = rates::add_version(&tx, state.clock(), id, version).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(s.into())))
}

/// The calculator's question: this much water, this meter, these days.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    usage: Decimal,
    unit: VolumeUnit,
    meter_size: MeterSize,
    period_start: chrono::NaiveDate,
    period_end: chrono::NaiveDate,
    /// Services to price (default: all the schedule lists).
    services: Option<Vec<Service>>,
    winter_average: Option<Decimal>,
}

async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    Path(schedule_id): Path<String>,
    body: Bytes,
) -> Result<Json<BillCalculation>, ApiError> {
    let id: RateScheduleId = parse_id(&schedule_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let stored = rates::get(&tx, id).await?;
    let b: PreviewBody =
        serde_json::from_slice(&body).map_err(|e| ApiError::Invalid(e.to_string()))?;
    let period = BillingPeriod::new(b.period_start, b.period_end)
        .map_err(|e| ApiError::Invalid(e.to_string()))?;
    let services = b.services.unwrap_or_else(|| {
        stored
            .history
            .in_force(period.last_day())
            .or_else(|| stored.history.versions().first())
            .map(|v| v.services.iter().map(|s| s.service).collect())
            .unwrap_or_default()
    });
    let input = BillInput {
        period,
        meter_size: b.meter_size,
        usage: Volume::new(b.usage, b.unit),
        carried_in: Volume::ZERO,
        winter_average: b.winter_average.map(|w| Volume::new(w, b.unit)),
        services,
    };
    let calc = rates::preview(&tx, id, &input).await?;
    tx.commit().await?;
    Ok(Json(calc))
}
