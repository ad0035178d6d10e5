//! Privacy routes: a staff download of one customer's data (data subject
//! access request, JSON + CSV in a zip) and the operator-only legal
//! disclosure export of one account. Both are audited.

use crate::auth::{Caller, Operator};
use crate::error::ApiError;
use crate::registry::Routes;
use crate::resources::parse_id;
use crate::signin::Ctx;
use crate::state::AppState;
use aqueduct_core::AccountId;
use aqueduct_retention::RetentionError;
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::{PlatformAccess, Role, directory};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::GET,
        "/api/v1/accounts/{account_id}/export",
        Role::Clerk,
        get(dsar),
    )
    .operator(
        Method::POST,
        "/api/v1/operator/tenants/{slug}/disclosure",
        post(disclosure),
    )
}

pub(crate) fn retention_error(e: RetentionError) -> ApiError {
    match e {
        RetentionError::NotFound(_) => ApiError::NotFound,
        RetentionError::Db(e) => e.into(),
        RetentionError::ReasonRequired => ApiError::Invalid("a reason is required".into()),
        e => ApiError::Internal(e.to_string()),
    }
}

pub(crate) fn zip_response(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /api/v1/accounts/{id}/export`: everything held on the account.
async fn dsar(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Response, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    let export = aqueduct_retention::export::account(&tx, state.clock(), &caller.actor, id)
        .await
        .map_err(retention_error)?;
    let bytes = aqueduct_retention::export::zip(&export).map_err(retention_error)?;
    tx.commit().await?;
    Ok(zip_response(bytes, &format!("account-{id}.zip")))
}

/// The body of a legal disclosure request.
#[derive(Debug, Deserialize)]
struct DisclosureBody {
    account_id: Option<String>,
    /// The lawful request (case or order reference); required.
    reason: Option<String>,
}

/// `POST /api/v1/operator/tenants/{slug}/disclosure`: one account's records
/// for a lawful request, audited on the platform and in the association's
/// own log (with the stated reason, never the data).
async fn disclosure(
    State(state): State<AppState>,
    op: Operator,
    ctx: Ctx,
    Path(slug): Path<String>,
    Json(body): Json<DisclosureBody>,
) -> Result<Response, ApiError> {
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::Invalid("a reason (the lawful request) is required".into()))?
        .to_owned();
    let id: AccountId = body
        .account_id
        .as_deref()
        .ok_or_else(|| ApiError::Invalid("account_id is required".into()))?
        .parse()
        .map_err(|_| ApiError::Invalid("account_id is not an id".into()))?;
    let tenant = directory::by_slug(state.db(), &slug)
        .await?
        .ok_or(ApiError::NotFound)?;
    // The platform-wide part of the access, audited as such.
    let ptx = state
        .db()
        .platform(
            PlatformAccess {
                actor: op.actor.clone(),
                reason: "legal.disclosure",
                request_id: ctx.request_id.clone(),
            },
            state.clock(),
        )
        .await?;
    ptx.commit().await?;
    let tx = state.db().tenant(&tenant).await?;
    let export = aqueduct_retention::export::account(&tx, state.clock(), &op.actor, id)
        .await
        .map_err(retention_error)?;
    let bytes = aqueduct_retention::export::zip(&export).map_err(retention_error)?;
    audit::record_in(
        &tx,
        state.clock(),
        AuditEntry {
            tenant: None,
            actor: op.actor.clone(),
            action: "legal.disclosure".into(),
            target: Some(id.to_string()),
            outcome: Outcome::Success,
            request_id: ctx.request_id,
            ip: Some(ctx.ip),
            details: Some(serde_json::json!({ "reason": reason, "bytes": bytes.len() })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(zip_response(bytes, &format!("disclosure-{slug}-{id}.zip")))
}
