//! Who is calling: authentication of tenant and operator routes and the one
//! permission check. A tenant route accepts an API key (`Authorization:
//! Bearer aqk_…`) or a staff session (cookie) in the association the
//! person selected; operator routes accept only an operator's session.

use crate::error::ApiError;
use crate::middleware::RequestId;
use crate::session::CurrentSession;
use crate::state::AppState;
use aqueduct_core::UserId;
use aqueduct_tenant::api_keys::{self, KeyRejection};
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::second_factor;
use aqueduct_tenant::sessions::Session;
use aqueduct_tenant::{Role, TenantCtx, credentials, directory};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The authenticated caller of a tenant route.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The association the caller acts in.
    pub tenant: TenantCtx,
    /// The caller's role there.
    pub role: Role,
    /// For the audit log: `api_key:<id>` or `user:<id>`.
    pub actor: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::Internal("tenant route without authentication".into()))
    }
}

fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// A staff session's caller: the selected association, if the person is
/// still a member there and it may be used.
async fn session_caller(state: &AppState, s: &Session) -> Result<Caller, ApiError> {
    if s.second_factor_pending || s.customer_tenant.is_some() {
        return Err(ApiError::Unauthenticated);
    }
    let tenant_id = s.active_tenant.ok_or(ApiError::Forbidden)?;
    let db = state.db();
    let cache = state.auth_cache();
    let tenant = match cache {
        Some(c) => c.tenant(db, tenant_id).await?,
        None => directory::by_id(db, tenant_id).await?,
    }
    .ok_or(ApiError::Forbidden)?;
    // One round trip (see `credentials::role_of`), none when cached.
    let role = match cache {
        Some(c) => c.role(db, tenant.id(), s.user).await?,
        None => credentials::role_of(db, tenant.id(), s.user).await?,
    }
    .ok_or(ApiError::Forbidden)?;
    if !tenant.status().allows_use() {
        return Err(ApiError::TenantUnavailable);
    }
    if tenant.staff_totp_required() && !second_factor_enabled(state, s.user).await? {
        return Err(ApiError::SecondFactorRequired);
    }
    Ok(Caller {
        tenant,
        role,
        actor: format!("user:{}", s.user),
    })
}

/// Whether `user` has a confirmed second factor (cached when enabled).
async fn second_factor_enabled(state: &AppState, user: UserId) -> Result<bool, sea_orm::DbErr> {
    match state.auth_cache() {
        Some(c) => c.second_factor(state.db(), user).await,
        None => second_factor::is_enabled(state.db(), user).await,
    }
}

/// Authenticates every tenant route; afterwards audits any 403/404 the
/// caller met on a route that names an object (a probe for another
/// tenant's ids leaves a trace).
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let Some(key) = bearer(&req) else {
        let Some(CurrentSession(s)) = req.extensions().get::<CurrentSession>().cloned() else {
            return ApiError::Unauthenticated.into_response();
        };
        return match session_caller(&state, &s).await {
            Ok(caller) => run_as(state, caller, req, next).await,
            Err(e) => {
                if !matches!(e, ApiError::Unauthenticated) {
                    let seen = (
                        format!("{} {}", req.method(), req.uri().path()),
                        req.extensions().get::<RequestId>().map(|r| r.0.clone()),
                        crate::session::client_ip(req.extensions()),
                    );
                    audit_session_refusal(&state, &s, seen, &e).await;
                }
                e.into_response()
            }
        };
    };
    let caller = match api_keys::authenticate(state.db(), state.clock(), key).await {
        Ok(Ok((tenant, principal))) => Caller {
            tenant,
            role: principal.role,
            actor: format!("api_key:{}", principal.id),
        },
        Ok(Err(KeyRejection::Invalid)) => return ApiError::Unauthenticated.into_response(),
        Ok(Err(KeyRejection::TenantUnavailable)) => {
            return ApiError::TenantUnavailable.into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    run_as(state, caller, req, next).await
}

/// Audits a staff session refused at the door of a tenant route (not a
/// member any more, association unavailable, second factor required), in
/// the selected association's log.
async fn audit_session_refusal(
    state: &AppState,
    s: &Session,
    (target, request_id, ip): (String, Option<String>, String),
    e: &ApiError,
) {
    let entry = AuditEntry {
        tenant: s.active_tenant,
        actor: format!("user:{}", s.user),
        action: "access.denied".into(),
        target: Some(target),
        outcome: Outcome::Denied,
        request_id,
        ip: Some(ip),
        details: Some(serde_json::json!({ "reason": e.to_string() })),
    };
    if let Err(err) = audit::record_now(state.db(), state.clock(), entry).await {
        tracing::error!(error = %err, "could not write audit entry for a denial");
    }
}

async fn run_as(state: AppState, caller: Caller, mut req: Request, next: Next) -> Response {
    tracing::Span::current().record("tenant", caller.tenant.slug().as_str());
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let path = req.uri().path().to_owned();
    let ip = crate::session::client_ip(req.extensions());
    let method = req.method().clone();
    req.extensions_mut().insert(caller.clone());
    let res = next.run(req).await;
    let status = res.status();
    if status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN {
        let action = if status == StatusCode::NOT_FOUND {
            "access.not_found"
        } else {
            "access.denied"
        };
        let entry = AuditEntry {
            tenant: None,
            actor: caller.actor.clone(),
            action: action.into(),
            target: Some(format!("{method} {path}")),
            outcome: Outcome::Denied,
            request_id,
            ip: Some(ip),
            details: None,
        };
        let written = async {
            let tx = state.db().tenant(&caller.tenant).await?;
            audit::record_in(&tx, state.clock(), entry).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = written {
            tracing::error!(error = %e, "could not write audit entry for a denial");
        }
    }
    res
}

/// The permission check: the caller's role must be at least `role`.
pub(crate) async fn require_role(role: Role, req: Request, next: Next) -> Response {
    match req.extensions().get::<Caller>() {
        Some(c) if c.role >= role => next.run(req).await,
        Some(_) => ApiError::Forbidden.into_response(),
        None => ApiError::Unauthenticated.into_response(),
    }
}

/// The signed-in platform operator calling an operator route.
#[derive(Debug, Clone)]
pub struct Operator {
    /// The operator.
    pub user: UserId,
    /// For the audit log: `user:<id>`.
    pub actor: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Operator {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Operator>()
            .cloned()
            .ok_or_else(|| ApiError::Internal("operator route without authentication".into()))
    }
}

/// The check on every operator route: an operator's session, second factor
/// done. Anything else is 401 (no session) or 403 (someone else), audited.
pub(crate) async fn require_operator(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let session = if bearer(&req).is_some() {
        None
    } else {
        req.extensions()
            .get::<CurrentSession>()
            .map(|c| c.0.clone())
    };
    let Some(s) = session.filter(|s| !s.second_factor_pending) else {
        return ApiError::Unauthenticated.into_response();
    };
    if !s.is_operator {
        let entry = AuditEntry {
            tenant: None,
            actor: format!("user:{}", s.user),
            action: "access.denied".into(),
            target: Some(format!("{} {}", req.method(), req.uri().path())),
            outcome: Outcome::Denied,
            request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
            ip: Some(crate::session::client_ip(req.extensions())),
            details: None,
        };
        if let Err(e) = audit::record_now(state.db(), state.clock(), entry).await {
            tracing::error!(error = %e, "could not write audit entry for a denial");
        }
        return ApiError::Forbidden.into_response();
    }
    // The second factor is mandatory for operators: one who has not
    // enrolled reaches no operator route until they do.
    match second_factor_enabled(&state, s.user).await {
        Ok(true) => {}
        Ok(false) => return ApiError::SecondFactorRequired.into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    }
    req.extensions_mut().insert(Operator {
        user: s.user,
        actor: format!("user:{}", s.user),
    });
    next.run(req).await
}
