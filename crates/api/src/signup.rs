//! Self-service sign-up of an association: it starts `onboarding`, its
//! first admin proves the email by the mailed link (which sets the first
//! password) before anyone can sign in. Throttled per client address and
//! audited through the platform path and in the new association's log.

use crate::error::ApiError;
use crate::registry::Routes;
use crate::signin::Ctx;
use crate::state::AppState;
use aqueduct_core::Slug;
use aqueduct_tenant::audit::{self, Outcome};
use aqueduct_tenant::credentials::{self, TokenPurpose};
use aqueduct_tenant::directory::{self, NewTenant};
use aqueduct_tenant::mailer::Mail;
use aqueduct_tenant::throttle::{self, SIGN_UP_IP};
use aqueduct_tenant::{PlatformAccess, Role, TenantStatus, users};
use axum::extract::{Json, State};
use axum::http::{Method, StatusCode};
use axum::routing::post;
use serde::Deserialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.public(Method::POST, "/api/v1/sign-up", post(sign_up))
}

/// `POST /api/v1/sign-up` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignUpBody {
    association_name: String,
    slug: String,
    time_zone: String,
    admin_email: String,
    #[serde(default)]
    admin_name: String,
}

/// A validated sign-up.
struct SignUp {
    tenant: NewTenant,
    email: String,
    name: String,
}

impl TryFrom<SignUpBody> for SignUp {
    type Error = ApiError;
    fn try_from(b: SignUpBody) -> Result<Self, ApiError> {
        let slug = Slug::parse(&b.slug).map_err(|e| ApiError::Invalid(e.to_string()))?;
        directory::validate_time_zone(&b.time_zone)?;
        let email = users::normalize_email(&b.admin_email)?;
        let name = if b.admin_name.trim().is_empty() {
            email.clone()
        } else {
            b.admin_name.trim().chars().take(200).collect()
        };
        Ok(Self {
            tenant: NewTenant {
                slug,
                name: b.association_name,
                time_zone: b.time_zone,
                status: TenantStatus::Onboarding,
            },
            email,
            name,
        })
    }
}

async fn sign_up(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<SignUpBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let (db, clock) = (state.db(), state.clock());
    let ip_key = throttle::ip_key("sign_up", &ctx.ip);
    if let Some(secs) = throttle::blocked_for(db, clock, &ip_key, SIGN_UP_IP).await? {
        return Err(ApiError::TooManyRequests(secs));
    }
    throttle::hit(db, clock, &ip_key, SIGN_UP_IP).await?;
    let new = SignUp::try_from(body)?;
    let tenant = directory::create(db, clock, new.tenant).await?;
    let tx = db.tenant(&tenant).await?;
    let admin = users::ensure_staff(&tx, clock, &new.email, &new.name, Role::Admin).await?;
    let mut e = ctx.entry("anonymous".into(), "tenant.sign_up", Outcome::Success);
    e.target = Some(format!("user:{admin}"));
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
    let person = credentials::by_id(db, admin).await?;
    let has_password = person
        .as_ref()
        .is_some_and(credentials::Person::has_password);
    let public = state.settings().public_url.trim_end_matches('/').to_owned();
    let body = if has_password {
        format!(
            "{} was registered on Aqueduct with you as its administrator.\n\n\
             Sign in with your existing password at {public}/login\n",
            tenant.name()
        )
    } else {
        let token = credentials::issue_token(db, clock, admin, TokenPurpose::SetPassword).await?;
        format!(
            "{} was registered on Aqueduct with you as its administrator.\n\n\
             To confirm your email and choose your password, open this link within 72 hours:\n\
             {public}/login/reset?token={}\n\n\
             If it was not you, ignore this message.\n",
            tenant.name(),
            token.expose()
        )
    };
    let mail = Mail {
        to: new.email,
        subject: format!("Confirm {} on Aqueduct", tenant.name()),
        body,
    };
    if let Err(e) = state.mailer().send(mail).await {
        tracing::warn!(error = %e, "sign-up mail not sent");
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({
            "slug": tenant.slug().as_str(),
            "status": tenant.status().as_str(),
            "message": "Check your email for a link to confirm it and choose your password.",
        })),
    ))
}
