//! The caller's own association.

use crate::auth::Caller;
use crate::registry::Routes;
use aqueduct_tenant::Role;
use axum::Json;
use axum::http::Method;
use axum::routing::get;
use serde::Serialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/api/v1/association", Role::Viewer, get(show))
}

#[derive(Serialize)]
struct AssociationDto {
    id: String,
    slug: String,
    name: String,
    time_zone: String,
    status: String,
    staff_totp_required: bool,
}

async fn show(caller: Caller) -> Json<AssociationDto> {
    let t = &caller.tenant;
    Json(AssociationDto {
        id: t.id().to_string(),
        slug: t.slug().to_string(),
        name: t.name().to_owned(),
        time_zone: t.time_zone().to_owned(),
        status: t.status().to_string(),
        staff_totp_required: t.staff_totp_required(),
    })
}
