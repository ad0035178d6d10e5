//! Operator routes under `/api/v1/operator/…`: platform-wide views that
//! only a signed-in operator reaches, each access audited.

use crate::auth::Operator;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::signin::Ctx;
use crate::state::AppState;
use aqueduct_tenant::{PlatformAccess, directory};
use axum::extract::{Json, State};
use axum::http::Method;
use axum::routing::get;
use serde::Serialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.operator(Method::GET, "/api/v1/operator/tenants", get(list_tenants))
}

/// One association as operators see it.
#[derive(Debug, Serialize)]
struct TenantRow {
    id: String,
    slug: String,
    name: String,
    status: String,
    accounts: u64,
}

async fn list_tenants(
    State(state): State<AppState>,
    op: Operator,
    ctx: Ctx,
) -> Result<Json<Vec<TenantRow>>, ApiError> {
    let tx = state
        .db()
        .platform(
            PlatformAccess {
                actor: op.actor.clone(),
                reason: "tenant.list",
                request_id: ctx.request_id,
            },
            state.clock(),
        )
        .await?;
    let tenants = directory::list(&tx).await?;
    let counts = aqueduct_billing::accounts::count_by_tenant(&tx).await?;
    tx.commit().await?;
    Ok(Json(
        tenants
            .into_iter()
            .map(|t| TenantRow {
                id: t.id().to_string(),
                slug: t.slug().to_string(),
                name: t.name().to_owned(),
                status: t.status().to_string(),
                accounts: counts.get(&t.id()).copied().unwrap_or(0),
            })
            .collect(),
    ))
}
