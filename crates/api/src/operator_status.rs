//! `GET /api/v1/operator/schedules`: the platform's recurring jobs as
//! operators see them — every schedule's next and last tick, the recent
//! retention and backup runs with their state and last error, and whether
//! backups are failing (the operator-visible status of a backup failure).

use crate::auth::Operator;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::signin::Ctx;
use crate::state::AppState;
use aqueduct_tenant::PlatformAccess;
use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::get;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Statement};
use serde::Serialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.operator(Method::GET, "/api/v1/operator/schedules", get(status))
}

#[derive(Debug, Serialize)]
struct ScheduleRow {
    name: String,
    next_run_at: DateTime<Utc>,
    last_run_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
struct RunRow {
    kind: String,
    tick: Option<String>,
    status: String,
    attempts: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    last_error: Option<String>,
}

#[derive(Debug, Serialize)]
struct BackupStatus {
    /// When the newest successful backup run finished.
    last_ok_at: Option<DateTime<Utc>>,
    /// The newest backup run failed (dead, or waiting to retry).
    failing: bool,
    /// Its error.
    last_error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Status {
    schedules: Vec<ScheduleRow>,
    runs: Vec<RunRow>,
    backup: BackupStatus,
}

const KINDS: &str = "('retention.run', 'backup.run')";

async fn status(
    State(state): State<AppState>,
    op: Operator,
    ctx: Ctx,
) -> Result<Json<Status>, ApiError> {
    let tx = state
        .db()
        .platform(
            PlatformAccess {
                actor: op.actor.clone(),
                reason: "schedules.status",
                request_id: ctx.request_id,
            },
            state.clock(),
        )
        .await?;
    let conn = tx.conn();
    let backend = conn.get_database_backend();
    let schedules = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT name, next_run_at, last_run_at FROM schedules ORDER BY name",
        ))
        .await?
        .into_iter()
        .map(|r| {
            Ok(ScheduleRow {
                name: r.try_get("", "name")?,
                next_run_at: r.try_get("", "next_run_at")?,
                last_run_at: r.try_get("", "last_run_at")?,
            })
        })
        .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;
    let runs = conn
        .query_all_raw(Statement::from_string(
            backend,
            format!(
                "SELECT kind, dedupe_key, status, attempts, created_at, updated_at, last_error \
                 FROM jobs WHERE kind IN {KINDS} ORDER BY created_at DESC, id DESC LIMIT 50"
            ),
        ))
        .await?
        .into_iter()
        .map(|r| {
            Ok(RunRow {
                kind: r.try_get("", "kind")?,
                tick: r.try_get("", "dedupe_key")?,
                status: r.try_get("", "status")?,
                attempts: r.try_get("", "attempts")?,
                created_at: r.try_get("", "created_at")?,
                updated_at: r.try_get("", "updated_at")?,
                last_error: r.try_get("", "last_error")?,
            })
        })
        .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;
    tx.commit().await?;
    let backups: Vec<&RunRow> = runs.iter().filter(|r| r.kind == "backup.run").collect();
    let newest = backups.first();
    let backup = BackupStatus {
        last_ok_at: backups
            .iter()
            .find(|r| r.status == "done")
            .map(|r| r.updated_at),
        failing: newest.is_some_and(|r| r.status != "done" && r.last_error.is_some()),
        last_error: newest.and_then(|r| r.last_error.clone()),
    };
    Ok(Json(Status {
        schedules,
        runs,
        backup,
    }))
}
