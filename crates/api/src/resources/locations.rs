//! Service locations.

use super::parse_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_billing::locations;
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::get;
use serde::Serialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::GET,
        "/api/v1/locations/{location_id}",
        Role::Viewer,
        get(show),
    )
}

#[derive(Serialize)]
struct LocationDto {
    id: String,
    address_line1: String,
    address_line2: Option<String>,
    city: String,
    state: String,
    postal_code: String,
    route: Option<String>,
    sequence: Option<i32>,
    status: String,
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(location_id): Path<String>,
) -> Result<Json<LocationDto>, ApiError> {
    let id = parse_id(&location_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let l = locations::get(&tx, id).await?;
    tx.commit().await?;
    Ok(Json(LocationDto {
        id: l.id.to_string(),
        address_line1: l.address_line1,
        address_line2: l.address_line2,
        city: l.city,
        state: l.state,
        postal_code: l.postal_code,
        route: l.route,
        sequence: l.sequence,
        status: l.status,
    }))
}
