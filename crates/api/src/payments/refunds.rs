//! Staff refunds.

use super::checkout::RefundDto;
use super::{idempotency_key, stripe};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::middleware::RequestId;
use crate::registry::Routes;
use crate::resources::parse_id;
use crate::state::AppState;
use aqueduct_core::{Money, PaymentId};
use aqueduct_payments::checkout;
use aqueduct_payments::refunds::{self, RefundRequest};
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::{Access, Role};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::post;
use axum::{Extension, Json};
use serde::Deserialize;

pub(super) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::POST,
        "/api/v1/payments/{payment_id}/refunds",
        Role::Admin,
        post(create),
    )
}

/// The body of a refund: an amount (default: all that is left) and a reason.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundBody {
    amount_cents: Option<i64>,
    reason: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    request_id: Option<Extension<RequestId>>,
    Path(payment_id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<RefundBody>,
) -> Result<(StatusCode, Json<RefundDto>), ApiError> {
    let id: PaymentId = parse_id(&payment_id)?;
    {
        let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
        checkout::get(&tx, id).await?;
        tx.commit().await?;
    }
    let stripe = stripe(&state)?;
    let key = idempotency_key(&headers)?;
    let reason = body
        .reason
        .map(|r| r.trim().chars().take(500).collect::<String>());
    let refund = refunds::create(
        state.db(),
        &caller.tenant,
        state.clock(),
        stripe,
        RefundRequest {
            payment: id,
            amount: body.amount_cents.map(Money::usd),
            reason,
            idempotency_key: key,
            requested_by: caller.actor.clone(),
        },
    )
    .await?;
    let tx = state.db().tenant(&caller.tenant).await?;
    audit::record_in(
        &tx,
        state.clock(),
        AuditEntry {
            tenant: None,
            actor: caller.actor.clone(),
            action: "payment.refund".into(),
            target: Some(format!("payment:{id}")),
            outcome: Outcome::Success,
            request_id: request_id.map(|Extension(r)| r.0),
            ip: None,
            details: Some(serde_json::json!({
                "refund_id": refund.id.to_string(),
                "amount_cents": refund.amount_cents,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(refund.into())))
}
