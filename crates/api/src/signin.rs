//! Sign-in for staff and operators, as JSON under `/api/v1/auth/…`. The
//! HTML forms in [`crate::signin_pages`] share the flows here.

use crate::error::ApiError;
use crate::middleware::RequestId;
use crate::registry::Routes;
use crate::session::{self, CurrentSession};
use crate::state::AppState;
use aqueduct_core::{Secret, UserId};
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::credentials::{self, Person, TokenPurpose};
use aqueduct_tenant::mailer::Mail;
use aqueduct_tenant::second_factor;
use aqueduct_tenant::sessions::{self, Session};
use aqueduct_tenant::signin::{self, Origin, SignIn};
use aqueduct_tenant::throttle::{self, RESET_ACCOUNT, RESET_IP};
use aqueduct_tenant::{Role, TenantCtx};
use axum::extract::{Json, State};
use axum::http::{Extensions, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

pub(crate) fn routes(r: Routes) -> Routes {
    r.public(Method::POST, "/api/v1/auth/sign-in", post(sign_in))
        .public(Method::POST, "/api/v1/auth/sign-out", post(sign_out))
        .public(Method::GET, "/api/v1/auth/session", get(current))
        .public(Method::POST, "/api/v1/auth/tenant", post(select_tenant))
        .public(
            Method::POST,
            "/api/v1/auth/sign-out-others",
            post(sign_out_others),
        )
        .public(Method::POST, "/api/v1/auth/password", post(change_password))
        .public(
            Method::POST,
            "/api/v1/auth/password-reset",
            post(request_reset),
        )
        .public(
            Method::POST,
            "/api/v1/auth/password-reset/confirm",
            post(confirm_reset),
        )
}

/// Request facts the flows need.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub ip: String,
    pub request_id: Option<String>,
    pub session: Option<Session>,
}

impl Ctx {
    pub(crate) fn from_extensions(ext: &Extensions) -> Self {
        Self {
            ip: session::client_ip(ext),
            request_id: ext.get::<RequestId>().map(|r| r.0.clone()),
            session: ext.get::<CurrentSession>().map(|c| c.0.clone()),
        }
    }
    pub(crate) fn origin(&self) -> Origin {
        Origin {
            ip: self.ip.clone(),
            request_id: self.request_id.clone(),
        }
    }
    pub(crate) fn signed_in(&self) -> Result<&Session, ApiError> {
        self.session
            .as_ref()
            .filter(|s| !s.second_factor_pending)
            .ok_or(ApiError::Unauthenticated)
    }
    pub(crate) fn entry(&self, actor: String, action: &str, outcome: Outcome) -> AuditEntry {
        AuditEntry {
            tenant: None,
            actor,
            action: action.into(),
            target: None,
            outcome,
            request_id: self.request_id.clone(),
            ip: Some(self.ip.clone()),
            details: None,
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Ctx {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        Ok(Self::from_extensions(&parts.extensions))
    }
}

/// One association a person belongs to.
#[derive(Debug, Serialize)]
pub(crate) struct MembershipView {
    pub slug: String,
    pub name: String,
    pub role: Role,
    pub status: String,
}

/// The signed-in person as the API shows them.
#[derive(Debug, Serialize)]
pub(crate) struct SessionView {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub is_operator: bool,
    /// Slug of the association selected for staff work.
    pub active_tenant: Option<String>,
    pub memberships: Vec<MembershipView>,
    /// Echo in `X-CSRF-Token` on every state-changing request.
    pub csrf_token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

pub(crate) async fn view(state: &AppState, s: &Session) -> Result<SessionView, ApiError> {
    let person = credentials::by_id(state.db(), s.user)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let memberships = credentials::memberships(state.db(), s.user).await?;
    let active = s
        .active_tenant
        .and_then(|t| memberships.iter().find(|(c, _)| c.id() == t))
        .map(|(c, _)| c.slug().to_string());
    Ok(SessionView {
        user_id: person.id,
        email: person.email,
        display_name: person.display_name,
        is_operator: person.is_operator,
        active_tenant: active,
        memberships: memberships
            .into_iter()
            .map(|(c, role)| MembershipView {
                slug: c.slug().to_string(),
                name: c.name().to_owned(),
                role,
                status: c.status().to_string(),
            })
            .collect(),
        csrf_token: s.csrf_token.clone(),
        expires_at: s.expires_at,
    })
}

fn usable(memberships: &[(TenantCtx, Role)]) -> impl Iterator<Item = &TenantCtx> {
    memberships
        .iter()
        .map(|(c, _)| c)
        .filter(|c| c.status().allows_use())
}

/// Checks the password and starts a fresh session (a session the request
/// already had is ended: the id always changes at sign-in).
pub(crate) async fn password_flow(
    state: &AppState,
    ctx: &Ctx,
    email: &str,
    password: &Secret,
) -> Result<(Secret, Session), ApiError> {
    let person =
        match signin::with_password(state.db(), state.clock(), email, password, &ctx.origin())
            .await?
        {
            SignIn::Accepted(p) => p,
            SignIn::Refused => return Err(ApiError::BadCredentials),
            SignIn::Throttled(secs) => return Err(ApiError::TooManyRequests(secs)),
        };
    start_session(state, ctx, &person, None).await
}

/// Starts a fresh session for `person` (working in `prefer` when that is
/// one of their usable associations, else in the first usable one).
pub(crate) async fn start_session(
    state: &AppState,
    ctx: &Ctx,
    person: &Person,
    prefer: Option<aqueduct_core::TenantId>,
) -> Result<(Secret, Session), ApiError> {
    let memberships = credentials::memberships(state.db(), person.id).await?;
    let active = usable(&memberships)
        .find(|c| Some(c.id()) == prefer)
        .or_else(|| usable(&memberships).next())
        .map(TenantCtx::id);
    if !person.is_operator && active.is_none() && !memberships.is_empty() {
        let mut e = ctx.entry(
            format!("user:{}", person.id),
            "auth.sign_in",
            Outcome::Denied,
        );
        e.details = Some(serde_json::json!({ "reason": "tenant_unavailable" }));
        audit::record_now(state.db(), state.clock(), e).await?;
        return Err(ApiError::TenantUnavailable);
    }
    if let Some(old) = &ctx.session {
        sessions::end(state.db(), &old.id_hash).await?;
    }
    // With a second factor, the session only lets the person give the code.
    let pending = second_factor::is_enabled(state.db(), person.id).await?;
    let created = sessions::create(
        state.db(),
        state.clock(),
        state.auth().sessions,
        person.id,
        person.is_operator,
        active,
        pending,
    )
    .await?;
    Ok(created)
}

pub(crate) fn with_cookie(mut res: Response, cookie: HeaderValue) -> Response {
    res.headers_mut().append(header::SET_COOKIE, cookie);
    res
}

/// `POST /api/v1/auth/sign-in` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInBody {
    email: String,
    password: Secret,
}

async fn sign_in(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<SignInBody>,
) -> Result<Response, ApiError> {
    let (token, s) = password_flow(&state, &ctx, &body.email, &body.password).await?;
    let body = if s.second_factor_pending {
        Json(crate::second_factor::pending_view(&s)).into_response()
    } else {
        Json(view(&state, &s).await?).into_response()
    };
    Ok(with_cookie(body, session::set_cookie(&state, &token)))
}

/// Ends the request's session (if any) and clears the cookie.
pub(crate) async fn end_session(state: &AppState, ctx: &Ctx) -> Result<(), ApiError> {
    if let Some(s) = &ctx.session {
        sessions::end(state.db(), &s.id_hash).await?;
        let e = ctx.entry(
            format!("user:{}", s.user),
            "auth.sign_out",
            Outcome::Success,
        );
        audit::record_now(state.db(), state.clock(), e).await?;
    }
    Ok(())
}

async fn sign_out(State(state): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    end_session(&state, &ctx).await?;
    Ok(with_cookie(
        StatusCode::NO_CONTENT.into_response(),
        session::clear_cookie(&state),
    ))
}

async fn current(State(state): State<AppState>, ctx: Ctx) -> Result<Json<SessionView>, ApiError> {
    let s = ctx.signed_in()?;
    Ok(Json(view(&state, s).await?))
}

/// Switches the association a staff session works in (rotating the id).
pub(crate) async fn switch_tenant(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
) -> Result<(Secret, Session), ApiError> {
    let s = ctx.signed_in()?;
    let memberships = credentials::memberships(state.db(), s.user).await?;
    let target = usable(&memberships)
        .find(|c| c.slug().as_str() == slug)
        .ok_or(ApiError::NotFound)?
        .id();
    let rotated = sessions::rotate(state.db(), state.clock(), s, Some(target), false).await?;
    let mut e = ctx.entry(
        format!("user:{}", s.user),
        "auth.select_tenant",
        Outcome::Success,
    );
    e.tenant = Some(target);
    audit::record_now(state.db(), state.clock(), e).await?;
    Ok(rotated)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SelectTenant {
    tenant: String,
}

async fn select_tenant(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<SelectTenant>,
) -> Result<Response, ApiError> {
    let (token, s) = switch_tenant(&state, &ctx, &body.tenant).await?;
    let v = view(&state, &s).await?;
    Ok(with_cookie(
        Json(v).into_response(),
        session::set_cookie(&state, &token),
    ))
}

/// Ends every other session of the signed-in person; returns how many.
pub(crate) async fn end_others(state: &AppState, ctx: &Ctx) -> Result<u64, ApiError> {
    let s = ctx.signed_in()?;
    let n = sessions::end_all_for_user(state.db(), s.user, Some(&s.id_hash)).await?;
    let mut e = ctx.entry(
        format!("user:{}", s.user),
        "auth.sign_out_others",
        Outcome::Success,
    );
    e.details = Some(serde_json::json!({ "ended": n }));
    audit::record_now(state.db(), state.clock(), e).await?;
    Ok(n)
}

async fn sign_out_others(
    State(state): State<AppState>,
    ctx: Ctx,
) -> Result<Json<serde_json::Value>, ApiError> {
    let n = end_others(&state, &ctx).await?;
    Ok(Json(serde_json::json!({ "ended": n })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePassword {
    current_password: Secret,
    new_password: Secret,
}

async fn change_password(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<ChangePassword>,
) -> Result<Response, ApiError> {
    let s = ctx.signed_in()?;
    let person = credentials::by_id(state.db(), s.user)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let actor = format!("user:{}", s.user);
    if !person.password_matches(&body.current_password) {
        let e = ctx.entry(actor, "auth.password_change", Outcome::Failure);
        audit::record_now(state.db(), state.clock(), e).await?;
        return Err(ApiError::BadCredentials);
    }
    credentials::set_password(state.db(), s.user, &body.new_password).await?;
    sessions::end_all_for_user(state.db(), s.user, Some(&s.id_hash)).await?;
    // A credential change rotates the session id (and its CSRF token).
    let (token, new) =
        sessions::rotate(state.db(), state.clock(), s, s.active_tenant, false).await?;
    let e = ctx.entry(actor, "auth.password_change", Outcome::Success);
    audit::record_now(state.db(), state.clock(), e).await?;
    Ok(with_cookie(
        Json(serde_json::json!({ "csrf_token": new.csrf_token })).into_response(),
        session::set_cookie(&state, &token),
    ))
}

/// Sends a reset link if the email belongs to an enabled person; answers
/// the same either way. Throttled per address and per email.
pub(crate) async fn reset_flow(state: &AppState, ctx: &Ctx, email: &str) -> Result<(), ApiError> {
    let ip_key = throttle::ip_key("reset", &ctx.ip);
    let acct_key = throttle::account_key("reset", email);
    for (key, limit) in [(&ip_key, RESET_IP), (&acct_key, RESET_ACCOUNT)] {
        if let Some(secs) = throttle::blocked_for(state.db(), state.clock(), key, limit).await? {
            return Err(ApiError::TooManyRequests(secs));
        }
    }
    throttle::hit(state.db(), state.clock(), &ip_key, RESET_IP).await?;
    throttle::hit(state.db(), state.clock(), &acct_key, RESET_ACCOUNT).await?;
    let person = credentials::by_email(state.db(), email)
        .await?
        .filter(|p| !p.disabled);
    let actor = person
        .as_ref()
        .map_or_else(|| "anonymous".to_owned(), |p| format!("user:{}", p.id));
    if let Some(p) = person {
        let token =
            credentials::issue_token(state.db(), state.clock(), p.id, TokenPurpose::Reset, None)
                .await?;
        let link = format!(
            "{}/login/reset?token={}",
            state.settings().public_url.trim_end_matches('/'),
            token.expose()
        );
        let mail = Mail {
            to: p.email.clone(),
            subject: "Reset your Aqueduct password".into(),
            body: format!(
                "Someone asked to reset the password of your Aqueduct sign-in.\n\n\
                 To choose a new password, open this link within 30 minutes:\n{link}\n\n\
                 If it was not you, ignore this message; your password stays as it is.\n"
            ),
        };
        if let Err(e) = state.mailer().send(mail).await {
            tracing::warn!(error = %e, "reset mail not sent");
        }
    }
    let e = ctx.entry(actor, "auth.password_reset_request", Outcome::Success);
    audit::record_now(state.db(), state.clock(), e).await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    email: String,
}

/// The one answer to a reset request.
pub(crate) const RESET_SENT: &str =
    "If an account uses that email, we sent it a link to choose a new password.";

async fn request_reset(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<ResetRequest>,
) -> Result<Response, ApiError> {
    reset_flow(&state, &ctx, &body.email).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "message": RESET_SENT })),
    )
        .into_response())
}

/// Uses a set/reset token; ends every session of that person.
pub(crate) async fn confirm_flow(
    state: &AppState,
    ctx: &Ctx,
    token: &Secret,
    new_password: &Secret,
) -> Result<(), ApiError> {
    match credentials::redeem_token(state.db(), state.clock(), token, new_password).await? {
        Some(user) => {
            let e = ctx.entry(
                format!("user:{user}"),
                "auth.password_reset",
                Outcome::Success,
            );
            audit::record_now(state.db(), state.clock(), e).await?;
            Ok(())
        }
        None => {
            let e = ctx.entry("anonymous".into(), "auth.password_reset", Outcome::Failure);
            audit::record_now(state.db(), state.clock(), e).await?;
            Err(ApiError::Invalid(
                "This link is invalid, used or expired. Ask for a new one.".into(),
            ))
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmReset {
    token: Secret,
    new_password: Secret,
}

async fn confirm_reset(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<ConfirmReset>,
) -> Result<StatusCode, ApiError> {
    confirm_flow(&state, &ctx, &body.token, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
