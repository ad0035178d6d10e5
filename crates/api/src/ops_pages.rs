//! More of the operator console (`/ops/…`, operators only, every read on
//! the audited platform path): job queue health, backups, the audit log
//! across associations and the platform's settings.

use crate::auth::Operator;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::signin::Ctx;
use crate::state::AppState;
use crate::web::{self, Chrome, StaffChrome};
use aqueduct_tenant::audit::{self, AuditFilter};
use aqueduct_tenant::{PlatformAccess, PlatformTx, directory};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Statement};
use serde::Deserialize;
use std::collections::HashMap;

pub(crate) fn routes(r: Routes) -> Routes {
    r.operator(Method::GET, "/ops/jobs", get(jobs))
        .operator(Method::GET, "/ops/backups", get(backups))
        .operator(Method::GET, "/ops/audit", get(audit_log))
        .operator(Method::GET, "/ops/settings", get(settings))
}

fn ops_chrome(ctx: &Ctx, title: &str, section: &'static str) -> Chrome {
    let csrf = ctx.session.as_ref().map_or_else(String::new, |s| {
        format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            crate::session::CSRF_FIELD,
            crate::pages::escape(&s.csrf_token)
        )
    });
    Chrome {
        staff: Some(StaffChrome {
            tenant_name: "Aqueduct operations".into(),
            csrf,
            section,
        }),
        ..Chrome::plain(crate::i18n::Lang::En, title)
    }
}

async fn platform(
    state: &AppState,
    op: &Operator,
    ctx: &Ctx,
    reason: &'static str,
) -> Result<PlatformTx, ApiError> {
    Ok(state
        .db()
        .platform(
            PlatformAccess {
                actor: op.actor.clone(),
                reason,
                request_id: ctx.request_id.clone(),
            },
            state.clock(),
        )
        .await?)
}

fn age(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds().max(0);
    match secs {
        0..120 => format!("{secs} seconds"),
        120..7_200 => format!("{} minutes", secs / 60),
        7_200..172_800 => format!("{} hours", secs / 3_600),
        _ => format!("{} days", secs / 86_400),
    }
}

#[derive(Template)]
#[template(path = "ops_jobs.html")]
struct JobsPage {
    page: Chrome,
    queued: i64,
    running: i64,
    dead: i64,
    oldest: String,
    by_kind: Vec<[String; 5]>,
    failed: Vec<[String; 5]>,
}

/// Queue depth, the oldest due job's age, failures by kind and the most
/// recent jobs that gave up (with their error).
async fn jobs(State(state): State<AppState>, op: Operator, ctx: Ctx) -> Result<Response, ApiError> {
    let stats = aqueduct_jobs::stats(state.db(), state.clock()).await?;
    let tx = platform(&state, &op, &ctx, "jobs.health").await?;
    let conn = tx.conn();
    let backend = conn.get_database_backend();
    let mut kinds: Vec<(String, [i64; 4])> = Vec::new();
    for r in conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT kind, status, COUNT(*) AS n FROM jobs GROUP BY kind, status ORDER BY kind",
        ))
        .await?
    {
        let kind: String = r.try_get("", "kind")?;
        let status: String = r.try_get("", "status")?;
        let n: i64 = r.try_get("", "n")?;
        let i = match status.as_str() {
            "queued" => 0,
            "running" => 1,
            "done" => 2,
            _ => 3,
        };
        match kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, c)) => c[i] += n,
            None => {
                let mut c = [0; 4];
                c[i] = n;
                kinds.push((kind, c));
            }
        }
    }
    let failed = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT kind, tenant_id, attempts, updated_at, last_error FROM jobs \
             WHERE status = 'dead' ORDER BY updated_at DESC LIMIT 25",
        ))
        .await?;
    let slugs: HashMap<uuid::Uuid, String> = directory::list(&tx)
        .await?
        .into_iter()
        .map(|t| (t.id().uuid(), t.slug().to_string()))
        .collect();
    let mut failed_rows = Vec::new();
    for r in failed {
        let tenant: Option<uuid::Uuid> = r.try_get("", "tenant_id")?;
        let at: DateTime<Utc> = r.try_get("", "updated_at")?;
        let attempts: i32 = r.try_get("", "attempts")?;
        let err: Option<String> = r.try_get("", "last_error")?;
        failed_rows.push([
            r.try_get("", "kind")?,
            tenant
                .and_then(|t| slugs.get(&t).cloned())
                .unwrap_or_else(|| "platform".into()),
            attempts.to_string(),
            at.format("%Y-%m-%d %H:%M UTC").to_string(),
            err.unwrap_or_default().chars().take(300).collect(),
        ]);
    }
    tx.commit().await?;
    Ok(web::render(&JobsPage {
        page: ops_chrome(&ctx, "Job queue", "ops-jobs"),
        queued: stats.queued,
        running: stats.running,
        dead: stats.dead,
        oldest: if stats.oldest_due_age_secs > 0 {
            format!("{} s", stats.oldest_due_age_secs)
        } else {
            "none waiting".into()
        },
        by_kind: kinds
            .into_iter()
            .map(|(k, c)| {
                [
                    k,
                    c[0].to_string(),
                    c[1].to_string(),
                    c[2].to_string(),
                    c[3].to_string(),
                ]
            })
            .collect(),
        failed: failed_rows,
    }))
}

#[derive(Template)]
#[template(path = "ops_backups.html")]
struct BackupsPage {
    page: Chrome,
    last_ok: Option<(String, String)>,
    last_size: Option<String>,
    failing: bool,
    last_error: Option<String>,
    next_run: Option<String>,
    runs: Vec<[String; 5]>,
}

/// Backups as the scheduled `backup.run` jobs recorded them: the last good
/// one and its age, whether the newest is failing, and how to verify and
/// restore (the bucket itself is read by `aqueduct backup list|verify`).
async fn backups(
    State(state): State<AppState>,
    op: Operator,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    let now = state.clock().now();
    let tx = platform(&state, &op, &ctx, "backups.status").await?;
    let conn = tx.conn();
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT status, attempts, created_at, updated_at, last_error FROM jobs \
             WHERE kind = 'backup.run' ORDER BY created_at DESC LIMIT 30",
        ))
        .await?;
    let next: Option<DateTime<Utc>> = conn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT MIN(next_run_at) AS t FROM schedules WHERE name = 'platform.backup'",
        ))
        .await?
        .and_then(|r| r.try_get::<Option<DateTime<Utc>>>("", "t").ok().flatten());
    let last_size = aqueduct_retention::backup::records::latest(conn).await?;
    tx.commit().await?;
    let mut runs = Vec::new();
    let mut last_ok = None;
    let mut newest: Option<(String, Option<String>)> = None;
    for r in rows {
        let status: String = r.try_get("", "status")?;
        let attempts: i32 = r.try_get("", "attempts")?;
        let created: DateTime<Utc> = r.try_get("", "created_at")?;
        let updated: DateTime<Utc> = r.try_get("", "updated_at")?;
        let err: Option<String> = r.try_get("", "last_error")?;
        if newest.is_none() {
            newest = Some((status.clone(), err.clone()));
        }
        if last_ok.is_none() && status == "done" {
            last_ok = Some((
                updated.format("%Y-%m-%d %H:%M UTC").to_string(),
                age(now, updated),
            ));
        }
        runs.push([
            created.format("%Y-%m-%d %H:%M UTC").to_string(),
            status,
            attempts.to_string(),
            updated.format("%Y-%m-%d %H:%M UTC").to_string(),
            err.unwrap_or_default().chars().take(300).collect(),
        ]);
    }
    let (failing, last_error) = match newest {
        Some((status, err)) if status != "done" && err.is_some() => (true, err),
        _ => (false, None),
    };
    Ok(web::render(&BackupsPage {
        page: ops_chrome(&ctx, "Backups", "ops-backups"),
        last_ok,
        last_size: last_size.map(|(id, bytes, at)| {
            format!(
                "{id}: {} ({}), {} ago",
                human_bytes(bytes),
                at.format("%Y-%m-%d %H:%M UTC"),
                age(now, at)
            )
        }),
        failing,
        last_error,
        next_run: next.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
        runs,
    }))
}

/// `1.5 MiB`: one decimal, integers only (no floats in this codebase).
fn human_bytes(n: i64) -> String {
    let (unit, size) = match n {
        n if n >= 1 << 30 => ("GiB", 1_i64 << 30),
        n if n >= 1 << 20 => ("MiB", 1 << 20),
        n if n >= 1 << 10 => ("KiB", 1 << 10),
        _ => return format!("{n} bytes"),
    };
    let tenths = n * 10 / size;
    format!("{}.{} {unit}", tenths / 10, tenths % 10)
}

#[derive(Deserialize)]
struct AuditQuery {
    tenant: Option<String>,
    action: Option<String>,
    actor: Option<String>,
}

#[derive(Template)]
#[template(path = "app_audit.html")]
struct AuditPage {
    page: Chrome,
    action: String,
    actor: String,
    tenant: String,
    show_tenant: bool,
    rows: Vec<[String; 6]>,
}

/// The audit log across associations (filter by one association's slug).
async fn audit_log(
    State(state): State<AppState>,
    op: Operator,
    ctx: Ctx,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    let tenant = q.tenant.unwrap_or_default().trim().to_owned();
    let action = q.action.unwrap_or_default().trim().to_owned();
    let actor = q.actor.unwrap_or_default().trim().to_owned();
    let mut f = AuditFilter {
        action: Some(action.clone()).filter(|a| !a.is_empty()),
        actor: Some(actor.clone()).filter(|a| !a.is_empty()),
        since: None,
        until: None,
        before: None,
        tenant: None,
        limit: 100,
    };
    let mut unknown = false;
    if !tenant.is_empty() {
        match directory::by_slug(state.db(), &tenant).await? {
            Some(t) => f.tenant = Some(t.id()),
            None => unknown = true,
        }
    }
    let tx = platform(&state, &op, &ctx, "audit.read").await?;
    let rows = if unknown {
        Vec::new()
    } else {
        audit::search_all(&tx, &f).await?
    };
    let slugs: HashMap<uuid::Uuid, String> = directory::list(&tx)
        .await?
        .into_iter()
        .map(|t| (t.id().uuid(), t.slug().to_string()))
        .collect();
    tx.commit().await?;
    Ok(web::render(&AuditPage {
        page: ops_chrome(&ctx, "Audit log", "ops-audit"),
        action,
        actor,
        tenant,
        show_tenant: true,
        rows: crate::settings_pages::audit_rows(rows, |t| {
            t.and_then(|t| slugs.get(&t).cloned())
                .unwrap_or_else(|| "platform".into())
        }),
    }))
}

#[derive(Template)]
#[template(path = "ops_settings.html")]
struct SettingsPage {
    page: Chrome,
    rows: Vec<(&'static str, String)>,
}

/// The platform's settings as this server runs them (read-only: they come
/// from the configuration file and the environment).
async fn settings(
    State(state): State<AppState>,
    _op: Operator,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    let s = state.settings();
    let a = state.auth();
    let yes = |b: bool| if b { "yes" } else { "no" }.to_owned();
    let rows = vec![
        ("Public URL", s.public_url.clone()),
        ("TLS served by Aqueduct", yes(s.tls)),
        ("Behind a trusted proxy", yes(s.trusted_proxy)),
        ("Online payments (Stripe)", yes(state.stripe().is_some())),
        ("Single sign-on", yes(state.sso().is_some())),
        (
            "Session idle timeout",
            format!("{} minutes", a.sessions.idle.num_minutes()),
        ),
        (
            "Session absolute limit",
            format!("{} hours", a.sessions.absolute.num_hours()),
        ),
        ("Insecure development cookie", yes(a.dev_insecure_cookie)),
    ];
    Ok(web::render(&SettingsPage {
        page: ops_chrome(&ctx, "Platform settings", "ops-settings"),
        rows,
    }))
}
