//! Operator routes under `/api/v1/operator/…`: platform-wide views and
//! tenant lifecycle actions that only a signed-in operator (second factor
//! done) reaches, each audited through the platform path.

use crate::auth::Operator;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::signin::Ctx;
use crate::state::AppState;
use aqueduct_core::TenantId;
use aqueduct_tenant::audit::{self, Outcome};
use aqueduct_tenant::entity::{membership, user};
use aqueduct_tenant::{PlatformAccess, TenantStatus, directory};
use axum::extract::{Json, Path, Query, State};
use axum::http::Method;
use axum::routing::{get, post};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub(crate) fn routes(r: Routes) -> Routes {
    r.operator(Method::GET, "/api/v1/operator/tenants", get(list_tenants))
        .operator(Method::GET, "/api/v1/operator/users", get(list_users))
        .operator(
            Method::POST,
            "/api/v1/operator/tenants/{slug}/suspend",
            post(suspend),
        )
        .operator(
            Method::POST,
            "/api/v1/operator/tenants/{slug}/reactivate",
            post(reactivate),
        )
        .operator(
            Method::POST,
            "/api/v1/operator/tenants/{slug}/close",
            post(close),
        )
        .operator(Method::GET, "/ops", get(console))
        .operator(
            Method::POST,
            "/ops/tenants/{slug}/suspend",
            post(console_suspend),
        )
        .operator(
            Method::POST,
            "/ops/tenants/{slug}/reactivate",
            post(console_reactivate),
        )
}

/// The operator console's tenants page.
#[derive(askama::Template)]
#[template(path = "ops_tenants.html")]
struct Console {
    page: crate::web::Chrome,
    rows: Vec<TenantRow>,
    q: String,
    status: String,
    csrf: String,
    message: Option<String>,
    error: Option<String>,
}

fn console_chrome(ctx: &Ctx) -> (crate::web::Chrome, String) {
    let csrf = ctx.session.as_ref().map_or_else(String::new, |s| {
        format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            crate::session::CSRF_FIELD,
            crate::pages::escape(&s.csrf_token)
        )
    });
    let page = crate::web::Chrome {
        staff: Some(crate::web::StaffChrome {
            tenant_name: "Aqueduct operations".into(),
            csrf: csrf.clone(),
            section: "ops",
        }),
        ..crate::web::Chrome::plain(crate::i18n::Lang::En, "Tenants")
    };
    (page, csrf)
}

async fn console_page(
    state: &AppState,
    op: &Operator,
    ctx: Ctx,
    search: Search,
    message: Option<String>,
    error: Option<String>,
) -> Result<axum::response::Response, ApiError> {
    let (page, csrf) = console_chrome(&ctx);
    let q = search.q.clone().unwrap_or_default();
    let status = search.status.clone().unwrap_or_default();
    let rows = tenant_rows(state, op, ctx, search).await?;
    Ok(crate::web::render(&Console {
        page,
        rows,
        q,
        status,
        csrf,
        message,
        error,
    }))
}

async fn console(
    State(state): State<AppState>,
    op: Operator,
    ctx: Ctx,
    Query(search): Query<Search>,
) -> Result<axum::response::Response, ApiError> {
    console_page(&state, &op, ctx, search, None, None).await
}

/// A console action: the same transition as the JSON route; the page is
/// shown again with what happened (the body is read as text, so a JSON
/// client gets the page too).
async fn console_action(
    state: &AppState,
    op: &Operator,
    ctx: Ctx,
    slug: &str,
    reason: &'static str,
    change: (&[TenantStatus], TenantStatus),
) -> Result<axum::response::Response, ApiError> {
    let (message, error) =
        match transition(state, op, ctx.clone(), slug, reason, change, None).await {
            Ok(_) => (Some(format!("{slug} is now {}.", change.1)), None),
            Err(ApiError::Conflict(m)) => (None, Some(format!("{slug}: {m}."))),
            Err(e) => return Err(e),
        };
    console_page(state, op, ctx, Search::default(), message, error).await
}

async fn console_suspend(
    State(state): State<AppState>,
    op: Operator,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use TenantStatus::{Active, Onboarding};
    console_action(
        &state,
        &op,
        ctx,
        &slug,
        "tenant.suspend",
        (&[Active, Onboarding], TenantStatus::Suspended),
    )
    .await
}

async fn console_reactivate(
    State(state): State<AppState>,
    op: Operator,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    console_action(
        &state,
        &op,
        ctx,
        &slug,
        "tenant.reactivate",
        (&[TenantStatus::Suspended], TenantStatus::Active),
    )
    .await
}

/// One association as operators see it.
#[derive(Debug, Serialize)]
struct TenantRow {
    id: String,
    slug: String,
    name: String,
    status: String,
    accounts: u64,
    staff: u64,
}

/// `?q=` (slug or name contains, any case) and `?status=`.
#[derive(Debug, Default, Deserialize)]
struct Search {
    q: Option<String>,
    status: Option<String>,
}

async fn list_tenants(
    State(state): State<AppState>,
    op: Operator,
    ctx: Ctx,
    Query(search): Query<Search>,
) -> Result<Json<Vec<TenantRow>>, ApiError> {
    Ok(Json(tenant_rows(&state, &op, ctx, search).await?))
}

async fn tenant_rows(
    state: &AppState,
    op: &Operator,
    ctx: Ctx,
    search: Search,
) -> Result<Vec<TenantRow>, ApiError> {
    let status: Option<TenantStatus> = search
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .transpose()
        .map_err(ApiError::Invalid)?;
    let q = search.q.map(|q| q.trim().to_lowercase());
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
    let mut staff: HashMap<TenantId, u64> = HashMap::new();
    for m in membership::Entity::find().all(tx.conn()).await? {
        *staff.entry(TenantId::from_uuid(m.tenant_id)).or_default() += 1;
    }
    tx.commit().await?;
    Ok(tenants
        .into_iter()
        .filter(|t| status.is_none_or(|s| t.status() == s))
        .filter(|t| {
            q.as_deref().is_none_or(|q| {
                t.slug().as_str().contains(q) || t.name().to_lowercase().contains(q)
            })
        })
        .map(|t| TenantRow {
            id: t.id().to_string(),
            slug: t.slug().to_string(),
            name: t.name().to_owned(),
            status: t.status().to_string(),
            accounts: counts.get(&t.id()).copied().unwrap_or(0),
            staff: staff.get(&t.id()).copied().unwrap_or(0),
        })
        .collect())
}

/// Optional note for the audit log.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: Option<String>,
}

/// Moves an association to `to` if its status is one of `from`; audited in
/// the same platform transaction. Data is untouched.
async fn transition(
    state: &AppState,
    op: &Operator,
    ctx: Ctx,
    slug: &str,
    reason: &'static str,
    (from, to): (&[TenantStatus], TenantStatus),
    note: Option<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tenant = directory::by_slug(state.db(), slug)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !from.contains(&tenant.status()) && tenant.status() != to {
        return Err(ApiError::Conflict(format!(
            "the association is {}",
            tenant.status()
        )));
    }
    let tx = state
        .db()
        .platform(
            PlatformAccess {
                actor: op.actor.clone(),
                reason,
                request_id: ctx.request_id.clone(),
            },
            state.clock(),
        )
        .await?;
    directory::set_status(&tx, state.clock(), tenant.id(), to).await?;
    let mut e = ctx.entry(op.actor.clone(), reason, Outcome::Success);
    e.target = Some(format!("tenant:{}", tenant.id()));
    e.details = Some(serde_json::json!({
        "from": tenant.status().as_str(),
        "to": to.as_str(),
        "note": note.map(|n| n.chars().take(500).collect::<String>()),
    }));
    audit::record_platform(&tx, state.clock(), e).await?;
    tx.commit().await?;
    Ok(Json(
        serde_json::json!({ "slug": tenant.slug().as_str(), "status": to.as_str() }),
    ))
}

async fn suspend(
    State(state): State<AppState>,
    op: Operator,
    ctx: Ctx,
    Path(slug): Path<String>,
    Json(body): Json<Reason>,
) -> Result<Json<serde_json::Value>, ApiError> {
    use TenantStatus::{Active, Onboarding};
    transition(
        &state,
        &op,
        ctx,
        &slug,
        "tenant.suspend",
        (&[Active, Onboarding], TenantStatus::Suspended),
        body.reason,
    )
    .await
}

async fn reactivate(
    State(state): State<AppState>,
    op: Operator,
    ctx: Ctx,
    Path(slug): Path<String>,
    Json(body): Json<Reason>,
) -> Result<Json<serde_json::Value>, ApiError> {
    transition(
        &state,
        &op,
        ctx,
        &slug,
        "tenant.reactivate",
        (&[TenantStatus::Suspended], TenantStatus::Active),
        body.reason,
    )
    .await
}

async fn close(
    State(state): State<AppState>,
    op: Operator,
    ctx: Ctx,
    Path(slug): Path<String>,
    Json(body): Json<Reason>,
) -> Result<Json<serde_json::Value>, ApiError> {
    use TenantStatus::{Active, Onboarding, Suspended};
    transition(
        &state,
        &op,
        ctx,
        &slug,
        "tenant.close",
        (&[Active, Onboarding, Suspended], TenantStatus::Closed),
        body.reason,
    )
    .await
}

/// A person as operators see them, with their memberships.
#[derive(Debug, Serialize)]
struct UserRow {
    id: String,
    email: String,
    display_name: String,
    is_operator: bool,
    disabled: bool,
    memberships: Vec<UserMembership>,
}

/// One association a person belongs to.
#[derive(Debug, Serialize)]
struct UserMembership {
    slug: String,
    role: String,
}

/// `?q=` (email contains, any case).
#[derive(Debug, Deserialize)]
struct UserSearch {
    q: Option<String>,
}

async fn list_users(
    State(state): State<AppState>,
    op: Operator,
    ctx: Ctx,
    Query(search): Query<UserSearch>,
) -> Result<Json<Vec<UserRow>>, ApiError> {
    let q = search.q.map(|q| q.trim().to_lowercase());
    let tx = state
        .db()
        .platform(
            PlatformAccess {
                actor: op.actor.clone(),
                reason: "user.list",
                request_id: ctx.request_id,
            },
            state.clock(),
        )
        .await?;
    let people = user::Entity::find().all(tx.conn()).await?;
    let memberships = membership::Entity::find().all(tx.conn()).await?;
    let slugs: HashMap<_, _> = directory::list(&tx)
        .await?
        .into_iter()
        .map(|t| (t.id().uuid(), t.slug().to_string()))
        .collect();
    tx.commit().await?;
    let mut rows: Vec<UserRow> = people
        .into_iter()
        .filter(|u| q.as_deref().is_none_or(|q| u.email.contains(q)))
        .map(|u| UserRow {
            memberships: memberships
                .iter()
                .filter(|m| m.user_id == u.id)
                .map(|m| UserMembership {
                    slug: slugs.get(&m.tenant_id).cloned().unwrap_or_default(),
                    role: m.role.clone(),
                })
                .collect(),
            id: u.id.to_string(),
            email: u.email,
            display_name: u.display_name,
            is_operator: u.is_operator,
            disabled: u.disabled_at.is_some(),
        })
        .collect();
    rows.sort_by(|a, b| a.email.cmp(&b.email));
    Ok(Json(rows))
}
