//! The one check on every customer route ([`crate::registry::RouteAccess::Customer`]):
//! a customer session of the association, the association usable, and
//! every `{account_id}`, `{bill_id}` and `{payment_id}` in the path
//! belonging to an account linked to that login. Anything of another
//! customer (or association) is 404, audited in the association's log.

use crate::error::ApiError;
use crate::middleware::RequestId;
use crate::session::CurrentSession;
use crate::state::AppState;
use aqueduct_core::{AccountId, BillId, PaymentId, UserId};
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::sessions::Session;
use aqueduct_tenant::{Access, TenantCtx, TenantTx, customers, directory};
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;

/// The signed-in customer calling a customer route.
#[derive(Debug, Clone)]
pub struct Customer {
    /// The association.
    pub tenant: TenantCtx,
    /// The person.
    pub user: UserId,
    /// The accounts linked to this login, oldest link first.
    pub accounts: Vec<AccountId>,
    /// For the audit log: `customer:<id>`.
    pub actor: String,
    /// The session (its CSRF token goes into forms).
    pub session: Session,
}

impl<S: Send + Sync> FromRequestParts<S> for Customer {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Customer>()
            .cloned()
            .ok_or_else(|| ApiError::Internal("customer route without authentication".into()))
    }
}

/// Whether every object the path names belongs to one of `accounts`. An
/// account id is checked in memory; a bill or payment id is looked up (a
/// read transaction is opened only then).
async fn owns_path_objects(
    state: &AppState,
    tenant: &TenantCtx,
    params: &HashMap<String, String>,
    accounts: &[AccountId],
) -> Result<bool, ApiError> {
    let mut tx: Option<TenantTx> = None;
    let mut named: Option<AccountId> = None;
    let mut ok = true;
    for (name, raw) in params {
        if name != "slug" && name != "account_id" && tx.is_none() {
            tx = Some(state.db().tenant_with(tenant, Access::Read).await?);
        }
        let owner = match (name.as_str(), tx.as_ref()) {
            ("slug", _) => continue,
            ("account_id", _) => raw.parse::<AccountId>().ok(),
            ("bill_id", Some(tx)) => match raw.parse::<BillId>() {
                Err(_) => None,
                Ok(id) => match aqueduct_billing::bills::get(tx, id).await {
                    Ok(b) => Some(AccountId::from_uuid(b.account_id)),
                    Err(aqueduct_billing::BillingError::NotFound) => None,
                    Err(e) => return Err(e.into()),
                },
            },
            ("payment_id", Some(tx)) => match raw.parse::<PaymentId>() {
                Err(_) => None,
                Ok(id) => match aqueduct_payments::checkout::get(tx, id).await {
                    Ok(p) => Some(AccountId::from_uuid(p.account_id)),
                    Err(aqueduct_payments::PaymentsError::NotFound) => None,
                    Err(e) => return Err(e.into()),
                },
            },
            // A parameter this check does not know is never let through.
            _ => None,
        };
        match owner {
            Some(owner) if accounts.contains(&owner) && named.is_none_or(|n| n == owner) => {
                named = Some(owner);
            }
            _ => {
                ok = false;
                break;
            }
        }
    }
    if let Some(tx) = tx {
        tx.commit().await?;
    }
    Ok(ok)
}

/// Not signed in as a customer here: pages send the visitor to the
/// association's sign-in form, the JSON API answers 401.
fn not_signed_in(method: &Method, path: &str, slug: Option<&String>) -> Response {
    match slug {
        Some(slug) if *method == Method::GET && !path.starts_with("/api/") => {
            Redirect::to(&format!("/{slug}/signin")).into_response()
        }
        _ => ApiError::Unauthenticated.into_response(),
    }
}

async fn audit_denial(
    state: &AppState,
    c: &Customer,
    target: String,
    req_id: Option<String>,
    ip: String,
) {
    let entry = AuditEntry {
        tenant: None,
        actor: c.actor.clone(),
        action: "access.not_found".into(),
        target: Some(target),
        outcome: Outcome::Denied,
        request_id: req_id,
        ip: Some(ip),
        details: None,
    };
    let written = async {
        let tx = state.db().tenant(&c.tenant).await?;
        audit::record_in(&tx, state.clock(), entry).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = written {
        tracing::error!(error = %e, "could not write audit entry for a denial");
    }
}

/// The check (see the module documentation).
pub(crate) async fn require_customer(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let params = Path::<HashMap<String, String>>::from_request_parts(&mut parts, &state)
        .await
        .map(|Path(p)| p)
        .unwrap_or_default();
    let mut req = Request::from_parts(parts, body);
    let slug = params.get("slug");
    let session = if req.headers().contains_key(header::AUTHORIZATION) {
        None
    } else {
        req.extensions()
            .get::<CurrentSession>()
            .map(|c| c.0.clone())
    };
    let Some((s, tenant_id)) = session
        .filter(|s| !s.second_factor_pending)
        .and_then(|s| s.customer_tenant.map(|t| (s, t)))
    else {
        return not_signed_in(req.method(), req.uri().path(), slug);
    };
    let cache = state.auth_cache();
    let tenant = match cache {
        Some(c) => c.tenant(state.db(), tenant_id).await,
        None => directory::by_id(state.db(), tenant_id).await,
    };
    let tenant = match tenant {
        Ok(Some(t)) => t,
        Ok(None) => return ApiError::Unauthenticated.into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    // A customer session of another association is no session here.
    if slug.is_some_and(|sl| sl != tenant.slug().as_str()) {
        return not_signed_in(req.method(), req.uri().path(), slug);
    }
    if !tenant.status().allows_use() {
        return ApiError::TenantUnavailable.into_response();
    }
    let checked = async {
        // One round trip (none when cached) for the linked accounts.
        let accounts = match cache {
            Some(c) => c.customer_accounts(state.db(), &tenant, s.user).await?,
            None => customers::accounts_of_once(state.db(), &tenant, s.user).await?,
        };
        let ok = owns_path_objects(&state, &tenant, &params, &accounts).await?;
        Ok::<_, ApiError>((accounts, ok))
    }
    .await;
    let (accounts, ok) = match checked {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let customer = Customer {
        tenant,
        user: s.user,
        accounts,
        actor: format!("customer:{}", s.user),
        session: s,
    };
    let target = format!("{} {}", req.method(), req.uri().path());
    let req_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let ip = crate::session::client_ip(req.extensions());
    if !ok {
        audit_denial(&state, &customer, target, req_id, ip).await;
        return ApiError::NotFound.into_response();
    }
    tracing::Span::current().record("tenant", customer.tenant.slug().as_str());
    req.extensions_mut().insert(customer.clone());
    let res = next.run(req).await;
    if res.status() == StatusCode::NOT_FOUND {
        audit_denial(&state, &customer, target, req_id, ip).await;
    }
    res
}
