//! Who is calling: authentication of tenant routes and the one permission
//! check. (Sessions for people arrive with the identity work; API keys for
//! machine clients are here from the start.)

use crate::error::ApiError;
use crate::middleware::RequestId;
use crate::state::AppState;
use aqueduct_tenant::api_keys::{self, KeyRejection};
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::{Role, TenantCtx};
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

/// Authenticates every tenant route; afterwards audits any 403/404 the
/// caller met on a route that names an object (a probe for another
/// tenant's ids leaves a trace).
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(key) = bearer(&req) else {
        return ApiError::Unauthenticated.into_response();
    };
    let caller = match api_keys::authenticate(state.db(), key).await {
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
    tracing::Span::current().record("tenant", caller.tenant.slug().as_str());
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let path = req.uri().path().to_owned();
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
            ip: None,
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
