//! "Pay" and the payments of an account.

use super::{idempotency_key, stripe};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::resources::parse_id;
use crate::state::AppState;
use aqueduct_core::{AccountId, Money, PaymentId};
use aqueduct_payments::checkout::{self, PayRequest};
use aqueduct_payments::entity::{dispute, payment, refund};
use aqueduct_payments::fees::PayMethod;
use aqueduct_payments::{disputes, refunds};
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

pub(super) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::POST,
        "/api/v1/accounts/{account_id}/payments",
        Role::Clerk,
        post(pay),
    )
    .tenant(
        Method::GET,
        "/api/v1/accounts/{account_id}/payments",
        Role::Viewer,
        get(list),
    )
    .tenant(
        Method::GET,
        "/api/v1/payments/{payment_id}",
        Role::Viewer,
        get(show),
    )
    .tenant(
        Method::GET,
        "/api/v1/accounts/{account_id}/payments/quote",
        Role::Viewer,
        get(quote),
    )
}

/// `?amount_cents=&method=card|us_bank_account`.
#[derive(Deserialize)]
struct QuoteQuery {
    amount_cents: Option<i64>,
    method: Option<String>,
}

/// What paying will cost, convenience fee included: shown before paying.
async fn quote(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
    Query(q): Query<QuoteQuery>,
) -> Result<Json<checkout::Quote>, ApiError> {
    let account: AccountId = parse_id(&account_id)?;
    let method = q.method.as_deref().map(PayMethod::parse).transpose()?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let quote = checkout::quote(&tx, account, q.amount_cents.map(Money::usd), method).await?;
    tx.commit().await?;
    Ok(Json(quote))
}

/// A payment as the API shows it (Stripe ids only; no card data exists here).
#[derive(Serialize)]
pub(super) struct PaymentDto {
    id: String,
    account_id: String,
    amount_cents: i64,
    application_fee_cents: i64,
    convenience_fee_cents: i64,
    currency: String,
    status: String,
    method: Option<String>,
    payment_intent_id: Option<String>,
    captured_cents: i64,
    refunded_cents: i64,
    failure_reason: Option<String>,
    posted: bool,
    created_at: String,
}

impl From<payment::Model> for PaymentDto {
    fn from(p: payment::Model) -> Self {
        Self {
            id: p.id.to_string(),
            account_id: p.account_id.to_string(),
            amount_cents: p.amount_cents,
            application_fee_cents: p.application_fee_cents,
            convenience_fee_cents: p.convenience_fee_cents,
            currency: p.currency,
            status: p.status,
            method: p.method,
            payment_intent_id: p.payment_intent_id,
            captured_cents: p.captured_cents,
            refunded_cents: p.refunded_cents,
            failure_reason: p.failure_reason,
            posted: p.posted_at.is_some(),
            created_at: p.created_at.to_rfc3339(),
        }
    }
}

/// The body of "Pay". Without an amount, the amount due is charged.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayBody {
    amount_cents: Option<i64>,
    /// `card` or `us_bank_account`; needed when the association's
    /// convenience fee differs by method.
    method: Option<String>,
}

/// Starts a payment and redirects (303) to Stripe's hosted Checkout. Two
/// clicks with one Idempotency-Key give one payment and one session.
async fn pay(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
    headers: HeaderMap,
    body: Option<Json<PayBody>>,
) -> Result<Response, ApiError> {
    let account: AccountId = parse_id(&account_id)?;
    {
        let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
        aqueduct_billing::accounts::get(&tx, account).await?;
        tx.commit().await?;
    }
    let stripe = stripe(&state)?;
    let key = idempotency_key(&headers)?;
    let (amount, method) = match body {
        Some(Json(b)) => (b.amount_cents, b.method),
        None => (None, None),
    };
    let method = method.as_deref().map(PayMethod::parse).transpose()?;
    let redirect = checkout::start_with(
        state.db(),
        &caller.tenant,
        state.clock(),
        stripe,
        PayRequest {
            account,
            amount: amount.map(Money::usd),
            idempotency_key: key,
        },
        method,
    )
    .await?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, redirect.url),
            (
                header::HeaderName::from_static("x-payment-id"),
                redirect.payment.to_string(),
            ),
            (
                header::HeaderName::from_static("x-convenience-fee-cents"),
                redirect.quote.convenience_fee_cents.to_string(),
            ),
            (
                header::HeaderName::from_static("x-total-cents"),
                redirect.quote.total_cents.to_string(),
            ),
        ],
    )
        .into_response())
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<Vec<PaymentDto>>, ApiError> {
    let account: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    aqueduct_billing::accounts::get(&tx, account).await?;
    let rows = checkout::for_account(&tx, account).await?;
    tx.commit().await?;
    Ok(Json(rows.into_iter().map(PaymentDto::from).collect()))
}

#[derive(Serialize)]
struct PaymentDetail {
    #[serde(flatten)]
    payment: PaymentDto,
    refunds: Vec<RefundDto>,
    disputes: Vec<DisputeDto>,
}

/// A refund as the API shows it.
#[derive(Serialize)]
pub(super) struct RefundDto {
    id: String,
    payment_id: String,
    amount_cents: i64,
    status: String,
    reason: Option<String>,
    stripe_refund_id: Option<String>,
}

impl From<refund::Model> for RefundDto {
    fn from(r: refund::Model) -> Self {
        Self {
            id: r.id.to_string(),
            payment_id: r.payment_id.to_string(),
            amount_cents: r.amount_cents,
            status: r.status,
            reason: r.reason,
            stripe_refund_id: r.stripe_refund_id,
        }
    }
}

#[derive(Serialize)]
struct DisputeDto {
    stripe_dispute_id: String,
    amount_cents: i64,
    status: String,
    held: bool,
    released: bool,
}

impl From<dispute::Model> for DisputeDto {
    fn from(d: dispute::Model) -> Self {
        Self {
            stripe_dispute_id: d.stripe_dispute_id,
            amount_cents: d.amount_cents,
            status: d.status,
            held: d.hold_posted_at.is_some(),
            released: d.released_at.is_some(),
        }
    }
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(payment_id): Path<String>,
) -> Result<Json<PaymentDetail>, ApiError> {
    let id: PaymentId = parse_id(&payment_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let p = checkout::get(&tx, id).await?;
    let r = refunds::for_payment(&tx, id).await?;
    let d = disputes::for_payment(&tx, id).await?;
    tx.commit().await?;
    Ok(Json(PaymentDetail {
        payment: p.into(),
        refunds: r.into_iter().map(RefundDto::from).collect(),
        disputes: d.into_iter().map(DisputeDto::from).collect(),
    }))
}
