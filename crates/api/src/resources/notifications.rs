//! Notifications for staff (what was sent to whom, when, status; resend)
//! and customers' notification preferences.

use super::parse_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_billing::accounts;
use aqueduct_core::AccountId;
use aqueduct_notify::entity::notification;
use aqueduct_notify::{NotifyError, outbox, prefs};
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::GET,
        "/api/v1/notifications",
        Role::Viewer,
        get(list),
    )
    .tenant(
        Method::POST,
        "/api/v1/notifications/{notification_id}/resend",
        Role::Clerk,
        post(resend),
    )
    .tenant(
        Method::GET,
        "/api/v1/accounts/{account_id}/notification-preferences",
        Role::Viewer,
        get(show_prefs),
    )
    .tenant(
        Method::PUT,
        "/api/v1/accounts/{account_id}/notification-preferences",
        Role::Clerk,
        put(set_prefs),
    )
}

impl From<NotifyError> for ApiError {
    fn from(e: NotifyError) -> Self {
        match e {
            NotifyError::NotFound => ApiError::NotFound,
            NotifyError::Invalid(m) => ApiError::Invalid(m),
            NotifyError::Db(e) => e.into(),
            NotifyError::Template(m) => ApiError::Internal(m),
        }
    }
}

/// A notification as staff see it (no message body: it is rebuilt from
/// the template when sent).
#[derive(Serialize)]
struct NotificationDto {
    id: String,
    kind: String,
    recipient: String,
    account_id: Option<String>,
    audience: String,
    locale: String,
    status: String,
    attempts: i32,
    last_error: Option<String>,
    message_id: Option<String>,
    sent_at: Option<String>,
    created_at: String,
}

impl From<notification::Model> for NotificationDto {
    fn from(n: notification::Model) -> Self {
        Self {
            id: n.id.to_string(),
            kind: n.kind,
            recipient: n.recipient,
            account_id: n.account_id.map(|a| a.to_string()),
            audience: n.audience,
            locale: n.locale,
            status: n.status,
            attempts: n.attempts,
            last_error: n.last_error,
            message_id: n.message_id,
            sent_at: n.sent_at.map(|t| t.to_rfc3339()),
            created_at: n.created_at.to_rfc3339(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    account_id: Option<String>,
    status: Option<String>,
    limit: Option<u64>,
}

#[derive(Serialize)]
struct ListDto {
    items: Vec<NotificationDto>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<ListDto>, ApiError> {
    let account: Option<AccountId> = match q.account_id.as_deref() {
        Some(raw) => Some(
            raw.parse()
                .map_err(|_| ApiError::Invalid("account_id is not an id".into()))?,
        ),
        None => None,
    };
    if let Some(s) = q.status.as_deref()
        && !["queued", "sent", "failed_temporary", "failed_permanent"].contains(&s)
    {
        return Err(ApiError::Invalid("unknown status".into()));
    }
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = outbox::list(&tx, account, q.status.as_deref(), q.limit.unwrap_or(100)).await?;
    tx.commit().await?;
    Ok(Json(ListDto {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

async fn resend(
    State(state): State<AppState>,
    caller: Caller,
    Path(notification_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: uuid::Uuid = parse_id(&notification_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    outbox::resend(&tx, state.clock(), id).await?;
    tx.commit().await?;
    Ok(StatusCode::ACCEPTED)
}

async fn show_prefs(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<prefs::Preferences>, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    accounts::get(&tx, id).await?;
    let p = prefs::get(&tx, id).await?;
    tx.commit().await?;
    Ok(Json(p))
}

/// The body of `PUT …/notification-preferences`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetPrefs {
    #[serde(default)]
    locale: Option<String>,
    #[serde(default)]
    disabled: Vec<String>,
}

async fn set_prefs(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
    Json(body): Json<SetPrefs>,
) -> Result<Json<prefs::Preferences>, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    accounts::get(&tx, id).await?;
    let p = prefs::set(
        &tx,
        state.clock(),
        id,
        body.locale.as_deref(),
        &body.disabled,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(p))
}
