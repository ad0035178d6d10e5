//! Fees: the platform fee operators set per association (Stripe's
//! `application_fee_amount`), shown to the association's admins.

use crate::auth::{Caller, Operator};
use crate::error::ApiError;
use crate::registry::Routes;
use crate::signin::Ctx;
use crate::state::AppState;
use aqueduct_payments::fees::{self, ConvenienceFees, PlatformFee};
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::{Access, Role, directory};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{get, put};
use serde::{Deserialize, Serialize};

pub(super) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/api/v1/stripe/fees", Role::Admin, get(show))
        .tenant(
            Method::PUT,
            "/api/v1/stripe/fees/convenience",
            Role::Admin,
            put(set_convenience),
        )
        .operator(
            Method::PUT,
            "/api/v1/operator/tenants/{slug}/platform-fee",
            put(set_platform_fee),
        )
}

/// The platform fee: a percentage (basis points) plus a fixed part.
#[derive(Debug, Serialize)]
struct PlatformFeeDto {
    basis_points: i32,
    fixed_cents: i64,
    /// What the platform keeps of a $100.00 payment (an example to read).
    on_10000_cents: i64,
}

impl PlatformFeeDto {
    fn new(basis_points: i32, fixed_cents: i64) -> Self {
        Self {
            basis_points,
            fixed_cents,
            on_10000_cents: fees::application_fee(10_000, basis_points, fixed_cents),
        }
    }
}

#[derive(Debug, Serialize)]
struct FeesDto {
    platform_fee: PlatformFeeDto,
    /// Added to what the customer pays, by method (all zero: off).
    convenience_fee: ConvenienceFees,
}

/// The association's fees, for its admins.
async fn show(State(state): State<AppState>, caller: Caller) -> Result<Json<FeesDto>, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let fee = fees::platform_fee(&tx).await?;
    let convenience = fees::convenience_fees(&tx).await?;
    tx.commit().await?;
    Ok(Json(FeesDto {
        platform_fee: PlatformFeeDto::new(fee.basis_points, fee.fixed_cents),
        convenience_fee: convenience,
    }))
}

/// Sets the association's convenience fee by payment method (its admin;
/// audited). Off (all zero) by default: card surcharge rules differ by
/// state and card network, so check them before turning it on.
async fn set_convenience(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ConvenienceFees>,
) -> Result<Json<ConvenienceFees>, ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    let before = fees::set_convenience_fees(&tx, state.clock(), body).await?;
    audit::record_in(
        &tx,
        state.clock(),
        AuditEntry {
            tenant: None,
            actor: caller.actor.clone(),
            action: "payments.convenience_fee.set".into(),
            target: None,
            outcome: Outcome::Success,
            request_id: None,
            ip: None,
            details: Some(serde_json::json!({ "from": before, "to": body })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetPlatformFee {
    /// Percentage part (0–10000 basis points); omitted means 0.
    basis_points: Option<i32>,
    /// Fixed part in cents; omitted means 0.
    fixed_cents: Option<i64>,
    reason: Option<String>,
}

/// Sets an association's platform fee (operators), also before it has
/// connected Stripe; audited in the association's own log, so its admins
/// see who changed it and when. An omitted part is zero.
async fn set_platform_fee(
    State(state): State<AppState>,
    op: Operator,
    ctx: Ctx,
    Path(slug): Path<String>,
    Json(body): Json<SetPlatformFee>,
) -> Result<Json<PlatformFeeDto>, ApiError> {
    let tenant = directory::by_slug(state.db(), &slug)
        .await?
        .ok_or(ApiError::NotFound)?;
    let fee = PlatformFee {
        basis_points: body.basis_points.unwrap_or(0),
        fixed_cents: body.fixed_cents.unwrap_or(0),
    };
    let tx = state.db().tenant(&tenant).await?;
    let before = fees::set_platform_fee(&tx, state.clock(), fee).await?;
    let mut e = ctx.entry(
        op.actor.clone(),
        "payments.platform_fee.set",
        Outcome::Success,
    );
    e.target = Some(format!("tenant:{}", tenant.id()));
    e.details = Some(serde_json::json!({
        "from": before,
        "to": fee,
        "note": body.reason.map(|n| n.chars().take(500).collect::<String>()),
    }));
    audit::record_in(&tx, state.clock(), e).await?;
    tx.commit().await?;
    Ok(Json(PlatformFeeDto::new(fee.basis_points, fee.fixed_cents)))
}
