//! The second factor (TOTP) over HTTP: the sign-in step that completes a
//! `second_factor_pending` session, enrolment (secret shown once, active
//! after a valid code, recovery codes shown once), disabling for staff, and
//! the association setting that requires it of staff.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::pages::{escape, layout};
use crate::registry::Routes;
use crate::session;
use crate::signin::{self, Ctx, with_cookie};
use crate::state::AppState;
use aqueduct_core::Secret;
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::second_factor::{self, Verified};
use aqueduct_tenant::sessions::{self, Session};
use aqueduct_tenant::throttle::{self, SIGN_IN_ACCOUNT};
use aqueduct_tenant::{Role, credentials};
use axum::extract::{Form, Json, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};

pub(crate) fn routes(r: Routes) -> Routes {
    r.public(
        Method::POST,
        "/api/v1/auth/second-factor",
        post(verify_json),
    )
    .public(Method::POST, "/api/v1/auth/totp/enrolment", post(enrol))
    .public(
        Method::POST,
        "/api/v1/auth/totp/enrolment/confirm",
        post(confirm),
    )
    .public(Method::POST, "/api/v1/auth/totp/disable", post(disable))
    .public(Method::GET, "/login/second-factor", get(step_page))
    .public(Method::POST, "/login/second-factor", post(step_form))
    .tenant(
        Method::PUT,
        "/api/v1/association/second-factor",
        Role::Admin,
        put(set_policy),
    )
}

/// What a sign-in answers while the second factor is due.
#[derive(Debug, Serialize)]
pub(crate) struct PendingView {
    second_factor_required: bool,
    csrf_token: String,
}

pub(crate) fn pending_view(s: &Session) -> PendingView {
    PendingView {
        second_factor_required: true,
        csrf_token: s.csrf_token.clone(),
    }
}

/// An audit entry about `s`'s person: in their association's log when
/// they work in one (so its admins see it), else platform-level.
fn entry(ctx: &Ctx, s: &Session, action: &str, outcome: Outcome) -> AuditEntry {
    let mut e = ctx.entry(format!("user:{}", s.user), action, outcome);
    if !s.is_operator {
        e.tenant = s.active_tenant;
    }
    e
}

/// Completes a pending sign-in with a TOTP or recovery code; rotates the
/// session id. Failures are throttled per person and audited.
pub(crate) async fn verify_flow(
    state: &AppState,
    ctx: &Ctx,
    code: &str,
) -> Result<(Secret, Session), ApiError> {
    let s = ctx
        .session
        .as_ref()
        .filter(|s| s.second_factor_pending)
        .ok_or(ApiError::Unauthenticated)?;
    let (db, clock) = (state.db(), state.clock());
    let key = throttle::account_key("second_factor", &s.user.to_string());
    if let Some(secs) = throttle::blocked_for(db, clock, &key, SIGN_IN_ACCOUNT).await? {
        let e = entry(ctx, s, "auth.second_factor", Outcome::Denied);
        audit::record_now(db, clock, e).await?;
        return Err(ApiError::TooManyRequests(secs));
    }
    let method = match second_factor::verify(db, clock, s.user, code).await? {
        Verified::Refused => {
            throttle::hit(db, clock, &key, SIGN_IN_ACCOUNT).await?;
            let e = entry(ctx, s, "auth.second_factor", Outcome::Failure);
            audit::record_now(db, clock, e).await?;
            return Err(ApiError::Invalid("That code is not valid.".into()));
        }
        Verified::Totp => "totp",
        Verified::RecoveryCode => "recovery_code",
    };
    throttle::clear(db, &key).await?;
    let rotated = sessions::rotate(db, clock, s, s.active_tenant, false).await?;
    let mut e = entry(ctx, s, "auth.second_factor", Outcome::Success);
    e.details = Some(serde_json::json!({ "method": method }));
    audit::record_now(db, clock, e).await?;
    Ok(rotated)
}

/// A code (TOTP or recovery).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeBody {
    code: Secret,
}

async fn verify_json(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<CodeBody>,
) -> Result<Response, ApiError> {
    let (token, s) = verify_flow(&state, &ctx, body.code.expose()).await?;
    let v = signin::view(&state, &s).await?;
    Ok(with_cookie(
        Json(v).into_response(),
        session::set_cookie(&state, &token),
    ))
}

/// The secret of a new enrolment (shown once).
#[derive(Serialize)]
struct EnrolmentView {
    secret: String,
    otpauth_uri: String,
}

async fn enrol(State(state): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    let s = ctx.signed_in()?;
    let person = credentials::by_id(state.db(), s.user)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let Some(en) = second_factor::begin(state.db(), state.clock(), s.user, &person.email).await?
    else {
        return Err(ApiError::Conflict(
            "Two-step sign-in is already on. Turn it off first to change it.".into(),
        ));
    };
    let e = entry(&ctx, s, "auth.totp_enrolment_start", Outcome::Success);
    audit::record_now(state.db(), state.clock(), e).await?;
    let mut res = Json(EnrolmentView {
        secret: en.secret.expose().to_owned(),
        otpauth_uri: en.uri.expose().to_owned(),
    })
    .into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        "no-store"
            .parse()
            .map_err(|_| ApiError::Internal("header".into()))?,
    );
    Ok(res)
}

/// The recovery codes of a confirmed enrolment (shown once) and the
/// rotated session's CSRF token.
#[derive(Serialize)]
struct ConfirmedView {
    recovery_codes: Vec<String>,
    csrf_token: String,
}

async fn confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<CodeBody>,
) -> Result<Response, ApiError> {
    let s = ctx.signed_in()?;
    let (db, clock) = (state.db(), state.clock());
    let Some(codes) = second_factor::confirm(db, clock, s.user, body.code.expose()).await? else {
        let e = entry(&ctx, s, "auth.totp_enrolment", Outcome::Failure);
        audit::record_now(db, clock, e).await?;
        return Err(ApiError::Invalid(
            "That code is not valid. Check the clock of your device and try again.".into(),
        ));
    };
    // A privilege change: the old session id is worthless from here on.
    let (token, new) = sessions::rotate(db, clock, s, s.active_tenant, false).await?;
    let e = entry(&ctx, s, "auth.totp_enrolment", Outcome::Success);
    audit::record_now(db, clock, e).await?;
    let mut res = Json(ConfirmedView {
        recovery_codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
        csrf_token: new.csrf_token,
    })
    .into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        "no-store"
            .parse()
            .map_err(|_| ApiError::Internal("header".into()))?,
    );
    Ok(with_cookie(res, session::set_cookie(&state, &token)))
}

/// Staff may turn their second factor off with a valid code, unless an
/// association they belong to requires it; operators never may.
async fn disable(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<CodeBody>,
) -> Result<StatusCode, ApiError> {
    let s = ctx.signed_in()?;
    let (db, clock) = (state.db(), state.clock());
    let required = s.is_operator
        || credentials::memberships(db, s.user)
            .await?
            .iter()
            .any(|(t, _)| t.staff_totp_required());
    if required {
        let e = entry(&ctx, s, "auth.totp_disable", Outcome::Denied);
        audit::record_now(db, clock, e).await?;
        return Err(ApiError::Forbidden);
    }
    if second_factor::verify(db, clock, s.user, body.code.expose()).await? == Verified::Refused {
        let e = entry(&ctx, s, "auth.totp_disable", Outcome::Failure);
        audit::record_now(db, clock, e).await?;
        return Err(ApiError::Invalid("That code is not valid.".into()));
    }
    second_factor::disable(db, s.user).await?;
    let e = entry(&ctx, s, "auth.totp_disable", Outcome::Success);
    audit::record_now(db, clock, e).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/association/second-factor` body.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Policy {
    staff_totp_required: bool,
}

async fn set_policy(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    Json(body): Json<Policy>,
) -> Result<Json<Policy>, ApiError> {
    set_staff_policy(&state, &caller, &ctx, body.staff_totp_required).await?;
    Ok(Json(body))
}

/// Sets whether the association requires a second factor of its staff
/// (audited). The JSON route and the workspace's staff page call this.
pub(crate) async fn set_staff_policy(
    state: &AppState,
    caller: &Caller,
    ctx: &Ctx,
    required: bool,
) -> Result<(), ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    second_factor::set_staff_required(&tx, required).await?;
    let mut e = ctx.entry(
        caller.actor.clone(),
        "association.second_factor_policy",
        Outcome::Success,
    );
    e.details = Some(serde_json::json!({ "staff_totp_required": required }));
    audit::record_in(&tx, state.clock(), e).await?;
    tx.commit().await?;
    Ok(())
}

fn step_html(ctx: &Ctx, error: Option<&str>) -> Html<String> {
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))
    });
    let csrf = ctx.session.as_ref().map_or_else(String::new, |s| {
        format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            session::CSRF_FIELD,
            escape(&s.csrf_token)
        )
    });
    Html(layout(
        "Two-step sign-in",
        &format!(
            "<h1>Two-step sign-in</h1>{error}<form method=\"post\" action=\"/login/second-factor\" \
             class=\"card\">{csrf}<label>Code from your authenticator app, or a recovery code \
             <input name=\"code\" autocomplete=\"one-time-code\" required maxlength=\"32\"></label>\
             <button type=\"submit\">Continue</button></form>"
        ),
    ))
}

async fn step_page(ctx: Ctx) -> Response {
    if ctx
        .session
        .as_ref()
        .is_some_and(|s| s.second_factor_pending)
    {
        step_html(&ctx, None).into_response()
    } else {
        Redirect::to("/login").into_response()
    }
}

#[derive(Debug, Deserialize)]
struct StepForm {
    code: Secret,
    #[serde(default, rename = "csrf_token")]
    _csrf: Option<String>,
}

async fn step_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<StepForm>,
) -> Result<Response, ApiError> {
    match verify_flow(&state, &ctx, f.code.expose()).await {
        Ok((token, _)) => Ok(with_cookie(
            Redirect::to("/app/account").into_response(),
            session::set_cookie(&state, &token),
        )),
        Err(ApiError::Invalid(m)) => Ok(step_html(&ctx, Some(&m)).into_response()),
        Err(ApiError::Unauthenticated) => Ok(Redirect::to("/login").into_response()),
        Err(e) => Err(e),
    }
}
