//! Self-service sign-up of an association: it starts `onboarding`, its
//! first admin is invited by a mailed link whose acceptance proves the
//! email (and sets the first password) before anyone can sign in. Throttled per client address and
//! audited through the platform path and in the new association's log.

use crate::error::ApiError;
use crate::registry::Routes;
use crate::signin::Ctx;
use crate::state::AppState;
use aqueduct_core::Slug;
use aqueduct_tenant::audit::{self, Outcome};
use aqueduct_tenant::directory::{self, NewTenant};
use aqueduct_tenant::mailer::Mail;
use aqueduct_tenant::throttle::{self, SIGN_UP_IP};
use aqueduct_tenant::{PlatformAccess, Role, TenantStatus, staff, users};
use axum::extract::{Json, State};
use axum::http::{Method, StatusCode};
use axum::routing::post;
use serde::Deserialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.public(Method::POST, "/api/v1/sign-up", post(sign_up))
}

/// `POST /api/v1/sign-up` body (and the sign-up page's form).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignUpBody {
    pub association_name: String,
    pub slug: String,
    pub time_zone: String,
    pub admin_email: String,
}

/// A validated sign-up.
struct SignUp {
    tenant: NewTenant,
    email: String,
}

impl TryFrom<SignUpBody> for SignUp {
    type Error = ApiError;
    fn try_from(b: SignUpBody) -> Result<Self, ApiError> {
        let slug = Slug::parse(&b.slug).map_err(|e| ApiError::Invalid(e.to_string()))?;
        directory::validate_time_zone(&b.time_zone)?;
        let email = users::normalize_email(&b.admin_email)?;
        Ok(Self {
            tenant: NewTenant {
                slug,
                name: b.association_name,
                time_zone: b.time_zone,
                status: TenantStatus::Onboarding,
            },
            email,
        })
    }
}

/// Registers the association and mails its first admin the link (the
/// JSON route and the sign-up page share this).
pub(crate) async fn register(
    state: &AppState,
    ctx: &Ctx,
    body: SignUpBody,
) -> Result<aqueduct_tenant::TenantCtx, ApiError> {
    let (db, clock) = (state.db(), state.clock());
    let ip_key = throttle::ip_key("sign_up", &ctx.ip);
    if let Some(secs) = throttle::blocked_for(db, clock, &ip_key, SIGN_UP_IP).await? {
        return Err(ApiError::TooManyRequests(secs));
    }
    throttle::hit(db, clock, &ip_key, SIGN_UP_IP).await?;
    let new = SignUp::try_from(body)?;
    let tenant = directory::create(db, clock, new.tenant).await?;
    // The first admin is invited like any staff member: the membership
    // exists only once the mailed token comes back, which proves the email
    // (an existing person is never attached to an association unasked).
    let tx = db.tenant(&tenant).await?;
    let (inv, token) = staff::invite(&tx, clock, "sign_up", &new.email, Role::Admin).await?;
    let mut e = ctx.entry("anonymous".into(), "tenant.sign_up", Outcome::Success);
    e.target = Some(format!("invitation:{}", inv.id));
    audit::record_in(&tx, clock, e).await?;
    tx.commit().await?;
    let platform = db
        .platform(
            PlatformAccess {
                actor: "anonymous".into(),
                reason: "tenant.sign_up",
                request_id: ctx.request_id.clone(),
            },
            clock,
        )
        .await?;
    platform.commit().await?;
    let public = state.settings().public_url.trim_end_matches('/').to_owned();
    let body = format!(
        "{} was registered on Aqueduct with you as its administrator.\n\n\
         To confirm your email (and choose a password if you have none), open this link \
         within 7 days:\n{public}/invite?token={}\n\n\
         If it was not you, ignore this message.\n",
        tenant.name(),
        token.expose()
    );
    let mail = Mail {
        to: new.email,
        subject: format!("Confirm {} on Aqueduct", tenant.name()),
        body,
    };
    if let Err(e) = state.mailer().send(mail).await {
        tracing::warn!(error = %e, "sign-up mail not sent");
    }
    Ok(tenant)
}

async fn sign_up(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<SignUpBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let tenant = register(&state, &ctx, body).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({
            "slug": tenant.slug().as_str(),
            "status": tenant.status().as_str(),
            "message": "Check your email for a link to confirm it and finish signing up.",
        })),
    ))
}
