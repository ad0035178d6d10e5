//! Liveness and readiness.

use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_migration::{Migrator, MigratorTrait};
use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::get;
use serde_json::{Value, json};

pub(crate) fn routes(r: Routes) -> Routes {
    r.public(Method::GET, "/healthz", get(healthz))
        .public(Method::GET, "/readyz", get(readyz))
}

/// The process is up.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers and every migration this build knows is applied.
async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state
        .db()
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(format!("database: {e}")))?;
    let pending = Migrator::get_pending_migrations_read_only(state.db().maintenance())
        .await
        .map_err(|e| ApiError::Unavailable(format!("migrations: {e}")))?;
    if !pending.is_empty() {
        return Err(ApiError::Unavailable(format!(
            "{} migration(s) pending; run `aqueduct migrate`",
            pending.len()
        )));
    }
    Ok(Json(
        json!({ "status": "ready", "database": "ok", "migrations": "current" }),
    ))
}
