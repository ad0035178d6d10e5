//! Payouts to the association's bank and their reconciliation with the
//! ledger (viewer and up).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::resources::parse_id;
use crate::state::AppState;
use aqueduct_payments::entity::{payout, payout_item};
use aqueduct_payments::payouts;
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::get;
use serde::Serialize;

pub(super) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/api/v1/payouts", Role::Viewer, get(list))
        .tenant(
            Method::GET,
            "/api/v1/payouts/{payout_id}",
            Role::Viewer,
            get(show),
        )
}

/// A payout and its reconciliation status.
#[derive(Debug, Serialize)]
pub(crate) struct PayoutDto {
    id: uuid::Uuid,
    stripe_payout_id: String,
    amount_cents: i64,
    currency: String,
    /// in_transit | paid | failed | canceled.
    status: String,
    /// Expected arrival (Unix time).
    arrival_date: Option<i64>,
    failure_message: Option<String>,
    /// pending | matched | mismatch.
    reconciliation: String,
    mismatches: i32,
    reconciled_at: Option<chrono::DateTime<chrono::Utc>>,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<payout::Model> for PayoutDto {
    fn from(p: payout::Model) -> Self {
        Self {
            id: p.id,
            stripe_payout_id: p.stripe_payout_id,
            amount_cents: p.amount_cents,
            currency: p.currency,
            status: p.status,
            arrival_date: p.arrival_date,
            failure_message: p.failure_message,
            reconciliation: p.reconciliation,
            mismatches: p.mismatches,
            reconciled_at: p.reconciled_at,
            created_at: p.created_at,
        }
    }
}

/// One balance transaction in a payout and what it matched.
#[derive(Debug, Serialize)]
struct ItemDto {
    balance_transaction_id: String,
    /// Stripe's type: charge, payment, refund, adjustment, payout…
    kind: String,
    source_id: Option<String>,
    amount_cents: i64,
    fee_cents: i64,
    net_cents: i64,
    /// payment | refund | dispute | payout | none.
    matched: String,
    matched_id: Option<uuid::Uuid>,
    /// What our records say the amount is.
    expected_cents: Option<i64>,
    /// ok | amount_mismatch | unknown.
    status: String,
}

impl From<payout_item::Model> for ItemDto {
    fn from(i: payout_item::Model) -> Self {
        Self {
            balance_transaction_id: i.balance_transaction_id,
            kind: i.kind,
            source_id: i.source_id,
            amount_cents: i.amount_cents,
            fee_cents: i.fee_cents,
            net_cents: i.net_cents,
            matched: i.matched,
            matched_id: i.matched_id,
            expected_cents: i.expected_cents,
            status: i.status,
        }
    }
}

#[derive(Debug, Serialize)]
struct ListDto {
    payouts: Vec<PayoutDto>,
}

async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<ListDto>, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = payouts::list(&tx).await?;
    tx.commit().await?;
    Ok(Json(ListDto {
        payouts: rows.into_iter().map(PayoutDto::from).collect(),
    }))
}

#[derive(Debug, Serialize)]
struct DetailDto {
    #[serde(flatten)]
    payout: PayoutDto,
    items: Vec<ItemDto>,
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(payout_id): Path<String>,
) -> Result<Json<DetailDto>, ApiError> {
    let id: uuid::Uuid = parse_id(&payout_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let (po, items) = payouts::get(&tx, id).await?;
    tx.commit().await?;
    Ok(Json(DetailDto {
        payout: po.into(),
        items: items.into_iter().map(ItemDto::from).collect(),
    }))
}
