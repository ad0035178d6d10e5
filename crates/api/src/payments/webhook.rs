//! `POST /webhooks/stripe` (public; authenticated by its signature).

use super::stripe;
use crate::error::{ApiError, ErrorCode, ErrorInfo};
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_payments::webhook::{self, WebhookError};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

pub(super) fn routes(r: Routes) -> Routes {
    r.public(Method::POST, "/webhooks/stripe", post(receive))
}

fn bad_request(message: &str) -> Response {
    let mut res = StatusCode::BAD_REQUEST.into_response();
    res.extensions_mut().insert(ErrorInfo {
        code: ErrorCode::BadRequest,
        message: message.into(),
    });
    res
}

/// Verifies on the raw bytes, records the event id once, queues the work,
/// answers 200. A bad or stale signature gets 400 and writes nothing.
async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let stripe = match stripe(&state) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let sig = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match webhook::ingest(state.db(), state.clock(), stripe, sig, &body).await {
        Ok(outcome) => {
            tracing::debug!(?outcome, "webhook accepted");
            Json(serde_json::json!({ "received": true })).into_response()
        }
        Err(WebhookError::Signature(e)) => {
            tracing::warn!(error = %e, "webhook refused");
            bad_request("The Stripe-Signature header does not verify.")
        }
        Err(WebhookError::Malformed(e)) => {
            tracing::warn!(error = %e, "signed webhook is not an event");
            bad_request("The body is not a Stripe event.")
        }
        Err(WebhookError::Payments(e)) => ApiError::from(e).into_response(),
    }
}
