//! Payments through Stripe Connect: onboarding, "Pay", refunds and the
//! Stripe webhook. The Stripe work itself is in `aqueduct-payments`.

mod autopay;
mod checkout;
mod connect;
mod fees;
pub(crate) mod pages;
mod payouts;
mod refunds;
mod webhook;

use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_payments::{PaymentsError, Stripe};
use axum::http::HeaderMap;

pub(crate) fn routes(r: Routes) -> Routes {
    let r = connect::routes(r);
    let r = checkout::routes(r);
    let r = refunds::routes(r);
    let r = webhook::routes(r);
    let r = fees::routes(r);
    let r = autopay::routes(r);
    let r = pages::routes(r);
    payouts::routes(r)
}

impl From<PaymentsError> for ApiError {
    fn from(e: PaymentsError) -> Self {
        match e {
            PaymentsError::NotFound => ApiError::NotFound,
            PaymentsError::NotConfigured => ApiError::Unavailable(e.to_string()),
            PaymentsError::PaymentsDisabled(m) | PaymentsError::Conflict(m) => {
                ApiError::Conflict(m)
            }
            PaymentsError::Invalid(m) | PaymentsError::StripeRefused(m) => ApiError::Invalid(m),
            PaymentsError::Stripe(m) => ApiError::Unavailable(m),
            PaymentsError::Billing(e) => e.into(),
            PaymentsError::Db(e) => e.into(),
        }
    }
}

/// Stripe, or 503 when this server has no Stripe configuration.
fn stripe(state: &AppState) -> Result<&Stripe, ApiError> {
    state
        .stripe()
        .ok_or_else(|| PaymentsError::NotConfigured.into())
}

/// The `Idempotency-Key` header, required on money-moving POSTs.
fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let raw = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::Invalid("send an Idempotency-Key header".into()))?;
    Ok(aqueduct_payments::checkout::validate_key(raw)?)
}
