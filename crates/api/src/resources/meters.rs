//! Meters.

use super::parse_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_billing::{accounts, entity::meter, meters};
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::get;
use serde::Serialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::GET,
        "/api/v1/meters/{meter_id}",
        Role::Viewer,
        get(show),
    )
}

#[derive(Serialize)]
pub(crate) struct MeterDto {
    id: String,
    location_id: String,
    serial: String,
    size: String,
    unit: String,
    register_digits: i16,
    multiplier: i32,
    installed_on: String,
    removed_on: Option<String>,
    status: String,
}

impl From<meter::Model> for MeterDto {
    fn from(m: meter::Model) -> Self {
        Self {
            id: m.id.to_string(),
            location_id: m.location_id.to_string(),
            serial: m.serial,
            size: m.size,
            unit: m.unit,
            register_digits: m.register_digits,
            multiplier: m.multiplier,
            installed_on: m.installed_on.to_string(),
            removed_on: m.removed_on.map(|d| d.to_string()),
            status: m.status,
        }
    }
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(meter_id): Path<String>,
) -> Result<Json<MeterDto>, ApiError> {
    let id = parse_id(&meter_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let m = meters::get(&tx, id).await?;
    tx.commit().await?;
    Ok(Json(m.into()))
}

/// `GET /api/v1/accounts/{account_id}/meters`: the meters the account is
/// currently served by.
pub(crate) async fn for_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<Vec<MeterDto>>, ApiError> {
    let id = parse_id(&account_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    accounts::get(&tx, id).await?;
    let list = meters::for_account(&tx, id).await?;
    tx.commit().await?;
    Ok(Json(list.into_iter().map(MeterDto::from).collect()))
}
