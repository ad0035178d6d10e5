//! Reading the audit log: an association's admins see its entries
//! (`GET /api/v1/audit`), operators see everything
//! (`GET /api/v1/operator/audit`, itself audited). Newest first, filtered
//! by action (exact, or a prefix ending in `*`), actor and time, paginated
//! with `before=<last id of the previous page>`.

use crate::auth::{Caller, Operator};
use crate::error::ApiError;
use crate::registry::Routes;
use crate::signin::Ctx;
use crate::state::AppState;
use aqueduct_tenant::audit::{self, AuditFilter};
use aqueduct_tenant::entity::audit_log;
use aqueduct_tenant::{Access, PlatformAccess, Role, directory};
use axum::extract::{Json, Query, State};
use axum::http::Method;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Largest page.
pub const MAX_LIMIT: u64 = 200;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/api/v1/audit", Role::Admin, get(tenant_log))
        .operator(Method::GET, "/api/v1/operator/audit", get(platform_log))
}

/// Query parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    action: Option<String>,
    actor: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    before: Option<uuid::Uuid>,
    limit: Option<u64>,
    /// Operators only: one association's entries (slug).
    tenant: Option<String>,
}

impl LogQuery {
    fn filter(&self) -> AuditFilter {
        AuditFilter {
            action: self.action.clone().filter(|a| !a.is_empty()),
            actor: self.actor.clone().filter(|a| !a.is_empty()),
            since: self.since,
            until: self.until,
            before: self.before,
            tenant: None,
            limit: self.limit.unwrap_or(50).clamp(1, MAX_LIMIT),
        }
    }
}

/// One entry.
#[derive(Debug, Serialize)]
struct EntryView {
    id: uuid::Uuid,
    at: DateTime<Utc>,
    tenant_id: Option<uuid::Uuid>,
    actor: String,
    action: String,
    target: Option<String>,
    outcome: String,
    request_id: Option<String>,
    ip: Option<String>,
    details: Option<serde_json::Value>,
}

/// A page.
#[derive(Debug, Serialize)]
struct Page {
    entries: Vec<EntryView>,
    /// Pass as `before` for the next page; `null` on the last one.
    next_before: Option<uuid::Uuid>,
}

fn page(rows: Vec<audit_log::Model>, limit: u64) -> Page {
    let full = u64::try_from(rows.len()).unwrap_or(u64::MAX) >= limit;
    let next_before = full.then(|| rows.last().map(|r| r.id)).flatten();
    Page {
        entries: rows
            .into_iter()
            .map(|r| EntryView {
                id: r.id,
                at: r.at,
                tenant_id: r.tenant_id,
                actor: r.actor,
                action: r.action,
                target: r.target,
                outcome: r.outcome,
                request_id: r.request_id,
                ip: r.ip,
                details: r.details.and_then(|d| serde_json::from_str(&d).ok()),
            })
            .collect(),
        next_before,
    }
}

async fn tenant_log(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LogQuery>,
) -> Result<Json<Page>, ApiError> {
    if q.tenant.is_some() {
        return Err(ApiError::Invalid("tenant is for operators".into()));
    }
    let f = q.filter();
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = audit::search_in(&tx, &f).await?;
    tx.commit().await?;
    Ok(Json(page(rows, f.limit)))
}

async fn platform_log(
    State(state): State<AppState>,
    op: Operator,
    ctx: Ctx,
    Query(q): Query<LogQuery>,
) -> Result<Json<Page>, ApiError> {
    let mut f = q.filter();
    if let Some(slug) = &q.tenant {
        let t = directory::by_slug(state.db(), slug)
            .await?
            .ok_or(ApiError::NotFound)?;
        f.tenant = Some(t.id());
    }
    let tx = state
        .db()
        .platform(
            PlatformAccess {
                actor: op.actor.clone(),
                reason: "audit.read",
                request_id: ctx.request_id,
            },
            state.clock(),
        )
        .await?;
    let rows = audit::search_all(&tx, &f).await?;
    tx.commit().await?;
    Ok(Json(page(rows, f.limit)))
}
