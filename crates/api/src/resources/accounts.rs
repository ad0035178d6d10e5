//! Customer accounts.

use super::parse_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_billing::accounts::{self, AccountNumber, AccountQuery, MailingAddress, NewAccount};
use aqueduct_billing::entity::account;
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/api/v1/accounts", Role::Viewer, get(list))
        .tenant(Method::POST, "/api/v1/accounts", Role::Clerk, post(create))
        .tenant(
            Method::GET,
            "/api/v1/accounts/{account_id}",
            Role::Viewer,
            get(show),
        )
        .tenant(
            Method::PATCH,
            "/api/v1/accounts/{account_id}",
            Role::Clerk,
            axum::routing::patch(update),
        )
        .tenant(
            Method::GET,
            "/api/v1/accounts/{account_id}/meters",
            Role::Viewer,
            get(super::meters::for_account),
        )
}

/// An account as the API shows it.
#[derive(Serialize)]
pub(crate) struct AccountDto {
    id: String,
    account_number: String,
    holder_name: String,
    co_holder_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    mailing_address: Option<AddressDto>,
    status: String,
    opened_on: String,
    closed_at: Option<String>,
    paperless: bool,
    autopay: bool,
    /// Staff notes.
    notes: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddressDto {
    line1: String,
    line2: Option<String>,
    city: String,
    state: String,
    postal_code: String,
}

impl From<account::Model> for AccountDto {
    fn from(a: account::Model) -> Self {
        let mailing_address = match (
            a.mailing_line1,
            a.mailing_city,
            a.mailing_state,
            a.mailing_postal_code,
        ) {
            (Some(line1), Some(city), Some(state), Some(postal_code)) => Some(AddressDto {
                line1,
                line2: a.mailing_line2,
                city,
                state,
                postal_code,
            }),
            _ => None,
        };
        Self {
            id: a.id.to_string(),
            account_number: a.account_number,
            holder_name: a.holder_name,
            co_holder_name: a.co_holder_name,
            email: a.email,
            phone: a.phone,
            mailing_address,
            status: a.status,
            opened_on: a.opened_on.to_string(),
            closed_at: a.closed_at.map(|t| t.to_rfc3339()),
            paperless: a.paperless,
            autopay: a.autopay,
            notes: a.notes,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    q: Option<String>,
    after: Option<String>,
    limit: Option<u64>,
}

#[derive(Serialize)]
struct Page<T> {
    data: Vec<T>,
    next_after: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> Result<Json<Page<AccountDto>>, ApiError> {
    let limit = p.limit.unwrap_or(50).clamp(1, 500);
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = accounts::list(
        &tx,
        &AccountQuery {
            search: p.q,
            after: p.after,
            limit,
        },
    )
    .await?;
    // Restricted by an erasure request inside the retention period: hidden.
    let hidden = aqueduct_retention::erasure::hidden_accounts(&tx)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    tx.commit().await?;
    let next_after = (rows.len() as u64 == limit)
        .then(|| rows.last().map(|a| a.account_number.clone()))
        .flatten();
    Ok(Json(Page {
        data: rows
            .into_iter()
            .filter(|a| !hidden.contains(&aqueduct_core::AccountId::from_uuid(a.id)))
            .map(AccountDto::from)
            .collect(),
        next_after,
    }))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<AccountDto>, ApiError> {
    let id = parse_id(&account_id)?;
    // Restricted by an erasure request inside the retention period: hidden
    // (checked in the same query). One round trip with its transaction.
    let account = aqueduct_retention::erasure::visible_account_once(state.db(), &caller.tenant, id)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(account.into()))
}

/// The body of `PATCH /api/v1/accounts/{account_id}`: only the fields
/// given change; `""` clears an optional one. Unknown fields (the number,
/// the status, the balance…) are refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateAccount {
    holder_name: Option<String>,
    co_holder_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    paperless: Option<bool>,
    notes: Option<String>,
}

impl From<UpdateAccount> for accounts::AccountChanges {
    fn from(u: UpdateAccount) -> Self {
        Self {
            holder_name: u.holder_name,
            co_holder_name: u.co_holder_name,
            email: u.email,
            phone: u.phone,
            paperless: u.paperless,
            notes: u.notes,
        }
    }
}

/// Changes an account's details (clerk): audited with the names of the
/// fields changed, never their values.
pub(crate) async fn change(
    state: &AppState,
    caller: &Caller,
    request_id: Option<String>,
    id: aqueduct_core::AccountId,
    changes: accounts::AccountChanges,
) -> Result<account::Model, ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    aqueduct_retention::erasure::visible_account(&tx, id)
        .await
        .map_err(crate::privacy::retention_error)?
        .ok_or(ApiError::NotFound)?;
    let fields = changes.fields();
    let updated = match accounts::update(&tx, state.clock(), id, changes).await {
        Ok(a) => a,
        Err(e) => {
            tx.rollback().await?;
            return Err(e.into());
        }
    };
    aqueduct_tenant::audit::record_in(
        &tx,
        state.clock(),
        aqueduct_tenant::audit::AuditEntry {
            tenant: None,
            actor: caller.actor.clone(),
            action: "account.updated".into(),
            target: Some(format!("account:{id}")),
            outcome: aqueduct_tenant::audit::Outcome::Success,
            request_id,
            ip: None,
            details: Some(serde_json::json!({ "fields": fields })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(updated)
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    request_id: Option<axum::Extension<crate::middleware::RequestId>>,
    Path(account_id): Path<String>,
    Json(body): Json<UpdateAccount>,
) -> Result<Json<AccountDto>, ApiError> {
    let id = parse_id(&account_id)?;
    let rid = request_id.map(|axum::Extension(r)| r.0);
    Ok(Json(
        change(&state, &caller, rid, id, body.into()).await?.into(),
    ))
}

/// The body of `POST /api/v1/accounts`. Unknown fields (`tenant_id`,
/// `balance`, `status`…) are refused, so nothing can be mass-assigned.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateAccount {
    account_number: String,
    holder_name: String,
    email: Option<String>,
    phone: Option<String>,
    mailing_address: Option<AddressDto>,
    opened_on: chrono::NaiveDate,
    #[serde(default)]
    paperless: bool,
}

impl TryFrom<CreateAccount> for NewAccount {
    type Error = ApiError;
    fn try_from(b: CreateAccount) -> Result<Self, ApiError> {
        let email = match b.email {
            Some(e) => Some(
                aqueduct_tenant::users::normalize_email(&e)
                    .map_err(|e| ApiError::Invalid(e.to_string()))?,
            ),
            None => None,
        };
        Ok(NewAccount {
            number: AccountNumber::parse(&b.account_number)?,
            holder_name: b.holder_name,
            email,
            phone: b.phone,
            mailing: b.mailing_address.map(|a| MailingAddress {
                line1: a.line1,
                line2: a.line2,
                city: a.city,
                state: a.state,
                postal_code: a.postal_code,
            }),
            opened_on: b.opened_on,
            paperless: b.paperless,
        })
    }
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateAccount>,
) -> Result<(StatusCode, Json<AccountDto>), ApiError> {
    let new = NewAccount::try_from(body)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    let account = accounts::create(&tx, state.clock(), new).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(account.into())))
}
