//! An account's ledger: entries, balance and aging; manual postings by
//! staff; reversals; the trial balance.

use super::parse_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_billing::accounts;
use aqueduct_billing::aging::{self, Aging};
use aqueduct_billing::entity::ledger_entry;
use aqueduct_billing::ledger::{self, EntryKind, NewEntry};
use aqueduct_core::{AccountId, LedgerEntryId, Money};
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::GET,
        "/api/v1/accounts/{account_id}/ledger",
        Role::Viewer,
        get(show),
    )
    .tenant(
        Method::POST,
        "/api/v1/accounts/{account_id}/ledger",
        Role::Clerk,
        post(create),
    )
    .tenant(
        Method::POST,
        "/api/v1/ledger-entries/{entry_id}/reverse",
        Role::Admin,
        post(reverse),
    )
    .tenant(
        Method::GET,
        "/api/v1/ledger/trial-balance",
        Role::Viewer,
        get(trial_balance),
    )
}

/// An entry as the API shows it.
#[derive(Serialize)]
pub(crate) struct EntryDto {
    id: String,
    kind: String,
    debit: String,
    credit: String,
    amount_cents: i64,
    effective_on: String,
    posted_at: String,
    external_id: Option<String>,
    reverses_id: Option<String>,
    bill_id: Option<String>,
    memo: String,
}

impl From<ledger_entry::Model> for EntryDto {
    fn from(e: ledger_entry::Model) -> Self {
        Self {
            id: e.id.to_string(),
            kind: e.kind,
            debit: e.debit,
            credit: e.credit,
            amount_cents: e.amount_cents,
            effective_on: e.effective_on.to_string(),
            posted_at: e.posted_at.to_rfc3339(),
            external_id: e.external_id,
            reverses_id: e.reverses_id.map(|u| u.to_string()),
            bill_id: e.bill_id.map(|u| u.to_string()),
            memo: e.memo,
        }
    }
}

#[derive(Serialize)]
struct LedgerView {
    balance_cents: i64,
    aging: Aging,
    entries: Vec<EntryDto>,
}

fn today(state: &AppState) -> chrono::NaiveDate {
    state.clock().now().date_naive()
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<LedgerView>, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    accounts::get(&tx, id).await?;
    let entries = ledger::for_account(&tx, id).await?;
    tx.commit().await?;
    Ok(Json(LedgerView {
        balance_cents: aging::receivable(&entries),
        aging: aging::aging(&entries, today(&state)),
        entries: entries.into_iter().map(EntryDto::from).collect(),
    }))
}

/// A manual posting. Unknown fields are refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManualEntry {
    /// payment (cash or check at the counter) | credit | adjustment |
    /// deposit | write_off.
    kind: String,
    amount_cents: i64,
    effective_on: Option<chrono::NaiveDate>,
    memo: String,
}

fn manual_kind(kind: &str) -> Result<EntryKind, ApiError> {
    Ok(match kind {
        "payment" => EntryKind::Payment,
        "credit" => EntryKind::Credit,
        "adjustment" => EntryKind::Adjustment,
        "deposit" => EntryKind::Deposit,
        "write_off" => EntryKind::WriteOff,
        other => {
            return Err(ApiError::Invalid(format!(
                "kind {other:?}: use payment, credit, adjustment, deposit or write_off"
            )));
        }
    })
}

/// `POST /api/v1/accounts/{id}/ledger`; the `Idempotency-Key` header
/// becomes the entry's external id, so a retried request posts once.
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<EntryDto>), ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    accounts::get(&tx, id).await?;
    let body: ManualEntry =
        serde_json::from_slice(&body).map_err(|e| ApiError::Invalid(e.to_string()))?;
    let kind = manual_kind(&body.kind)?;
    let external_id = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| format!("manual:{k}"));
    let posted = ledger::post(
        &tx,
        state.clock(),
        NewEntry {
            account: id,
            kind,
            amount: Money::usd(body.amount_cents),
            effective_on: body.effective_on.unwrap_or_else(|| today(&state)),
            external_id,
            bill: None,
            memo: body.memo,
        },
    )
    .await?;
    tx.commit().await?;
    let status = if posted.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(posted.entry.into())))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReverseBody {
    memo: Option<String>,
}

async fn reverse(
    State(state): State<AppState>,
    caller: Caller,
    Path(entry_id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<EntryDto>), ApiError> {
    let id: LedgerEntryId = parse_id(&entry_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    ledger::get(&tx, id).await?;
    let body: ReverseBody = if body.is_empty() {
        ReverseBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::Invalid(e.to_string()))?
    };
    let memo = body.memo.unwrap_or_else(|| "Reversed".into());
    let posted = ledger::reverse(&tx, state.clock(), id, today(&state), &memo).await?;
    tx.commit().await?;
    let status = if posted.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(posted.entry.into())))
}

async fn trial_balance(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<BTreeMap<&'static str, i64>>, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let entries = ledger::all(&tx).await?;
    tx.commit().await?;
    Ok(Json(aging::trial_balance(&entries)))
}
