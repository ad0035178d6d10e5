//! Minimal HTML sign-in pages: plain forms that work without JavaScript.
//! Every form carries the session's CSRF token when a session exists.

use crate::error::ApiError;
use crate::pages::{escape, layout};
use crate::registry::Routes;
use crate::session;
use crate::signin::{self, Ctx};
use crate::state::AppState;
use aqueduct_core::Secret;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.public(Method::GET, "/login", get(login_page))
        .public(Method::POST, "/login", axum::routing::post(login))
        .public(Method::POST, "/logout", axum::routing::post(logout))
        .public(Method::GET, "/app/account", get(account))
        .public(
            Method::POST,
            "/app/account/tenant",
            axum::routing::post(switch),
        )
        .public(
            Method::POST,
            "/app/account/sign-out-others",
            axum::routing::post(others),
        )
        .public(Method::GET, "/login/forgot", get(forgot_page))
        .public(Method::POST, "/login/forgot", axum::routing::post(forgot))
        .public(Method::GET, "/login/reset", get(reset_page))
        .public(Method::POST, "/login/reset", axum::routing::post(reset))
}

fn csrf_input(ctx: &Ctx) -> String {
    ctx.session.as_ref().map_or_else(String::new, |s| {
        format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            session::CSRF_FIELD,
            escape(&s.csrf_token)
        )
    })
}

fn login_form(
    state: &AppState,
    ctx: &Ctx,
    error: Option<&str>,
    notice: Option<&str>,
) -> Html<String> {
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))
    });
    let notice = notice.map_or_else(String::new, |n| {
        format!("<p class=\"notice\" role=\"status\">{}</p>", escape(n))
    });
    Html(layout(
        "Sign in",
        &format!(
            "<h1>Sign in</h1>{notice}{error}<form method=\"post\" action=\"/login\" class=\"card\">{}\
             <label>Email <input type=\"email\" name=\"email\" autocomplete=\"username\" required></label>\
             <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" \
             required maxlength=\"128\"></label><button type=\"submit\">Sign in</button></form>\
             <p><a href=\"/login/forgot\">Forgot your password?</a></p>{}",
            csrf_input(ctx),
            crate::sso::login_buttons(state, &csrf_input(ctx))
        ),
    ))
}

#[derive(Debug, Deserialize)]
struct LoginNotice {
    reset: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<LoginNotice>,
) -> Html<String> {
    let notice = q
        .reset
        .is_some()
        .then_some("Your password was changed. Sign in with the new one.");
    login_form(&state, &ctx, None, notice)
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    email: String,
    password: Secret,
    #[serde(default, rename = "csrf_token")]
    _csrf: Option<String>,
}

fn redirect_with_cookie(to: &str, cookie: HeaderValue) -> Response {
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().append(header::SET_COOKIE, cookie);
    res
}

async fn login(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<LoginForm>,
) -> Result<Response, ApiError> {
    match signin::password_flow(&state, &ctx, &f.email, &f.password).await {
        Ok((token, s)) => Ok(redirect_with_cookie(
            if s.second_factor_pending {
                "/login/second-factor"
            } else {
                "/app/account"
            },
            session::set_cookie(&state, &token),
        )),
        Err(ApiError::BadCredentials) => Ok(login_form(
            &state,
            &ctx,
            Some("The email or password is incorrect."),
            None,
        )
        .into_response()),
        Err(e) => Err(e),
    }
}

#[derive(Debug, Deserialize)]
struct CsrfOnly {
    #[serde(default, rename = "csrf_token")]
    _csrf: Option<String>,
}

async fn logout(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(_): Form<CsrfOnly>,
) -> Result<Response, ApiError> {
    signin::end_session(&state, &ctx).await?;
    Ok(redirect_with_cookie(
        "/login",
        session::clear_cookie(&state),
    ))
}

async fn account(State(state): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    let Some(s) = ctx.session.as_ref().filter(|s| !s.second_factor_pending) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let v = signin::view(&state, s).await?;
    let csrf = csrf_input(&ctx);
    let mut rows = String::new();
    for m in &v.memberships {
        let current = v.active_tenant.as_deref() == Some(m.slug.as_str());
        let action = if current {
            "<strong>working here</strong>".to_owned()
        } else {
            format!(
                "<form method=\"post\" action=\"/app/account/tenant\">{csrf}\
                 <input type=\"hidden\" name=\"tenant\" value=\"{}\">\
                 <button type=\"submit\">Work in this association</button></form>",
                escape(&m.slug)
            )
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
            escape(&m.name),
            escape(m.role.as_str()),
            escape(&m.status)
        ));
    }
    let body = format!(
        "<h1>Your account</h1><div class=\"card\"><p>Signed in as <strong>{}</strong> ({}){}.</p></div>\
         <h2>Associations</h2><table><thead><tr><th>Association</th><th>Role</th><th>Status</th>\
         <th></th></tr></thead><tbody>{rows}</tbody></table>\
         <form method=\"post\" action=\"/app/account/sign-out-others\">{csrf}\
         <button type=\"submit\">Sign out my other sessions</button></form>\
         <form method=\"post\" action=\"/logout\">{csrf}<button type=\"submit\">Sign out</button></form>",
        escape(&v.display_name),
        escape(&v.email),
        if v.is_operator {
            ", platform operator"
        } else {
            ""
        },
    );
    Ok(Html(layout("Your account", &body)).into_response())
}

#[derive(Debug, Deserialize)]
struct SwitchForm {
    tenant: String,
    #[serde(default, rename = "csrf_token")]
    _csrf: Option<String>,
}

async fn switch(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<SwitchForm>,
) -> Result<Response, ApiError> {
    let (token, _) = signin::switch_tenant(&state, &ctx, &f.tenant).await?;
    Ok(redirect_with_cookie(
        "/app/account",
        session::set_cookie(&state, &token),
    ))
}

async fn others(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(_): Form<CsrfOnly>,
) -> Result<Response, ApiError> {
    signin::end_others(&state, &ctx).await?;
    Ok(Redirect::to("/app/account").into_response())
}

async fn forgot_page(ctx: Ctx) -> Html<String> {
    Html(layout(
        "Forgot your password",
        &format!(
            "<h1>Forgot your password</h1><form method=\"post\" action=\"/login/forgot\" class=\"card\">{}\
             <label>Email <input type=\"email\" name=\"email\" required></label>\
             <button type=\"submit\">Send me a link</button></form>",
            csrf_input(&ctx)
        ),
    ))
}

#[derive(Debug, Deserialize)]
struct ForgotForm {
    email: String,
    #[serde(default, rename = "csrf_token")]
    _csrf: Option<String>,
}

async fn forgot(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<ForgotForm>,
) -> Result<Html<String>, ApiError> {
    signin::reset_flow(&state, &ctx, &f.email).await?;
    Ok(Html(layout(
        "Check your email",
        &format!(
            "<h1>Check your email</h1><p>{}</p>",
            escape(signin::RESET_SENT)
        ),
    )))
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: String,
}

fn reset_form(ctx: &Ctx, token: &str, error: Option<&str>) -> Html<String> {
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))
    });
    Html(layout(
        "Choose a password",
        &format!(
            "<h1>Choose a password</h1>{error}<form method=\"post\" action=\"/login/reset\" class=\"card\">{}\
             <input type=\"hidden\" name=\"token\" value=\"{}\">\
             <label>New password (8 to 128 characters) <input type=\"password\" name=\"new_password\" \
             autocomplete=\"new-password\" required minlength=\"8\" maxlength=\"128\"></label>\
             <button type=\"submit\">Save password</button></form>",
            csrf_input(ctx),
            escape(token)
        ),
    ))
}

async fn reset_page(ctx: Ctx, Query(q): Query<TokenQuery>) -> Html<String> {
    reset_form(&ctx, &q.token, None)
}

#[derive(Debug, Deserialize)]
struct ResetForm {
    token: Secret,
    new_password: Secret,
    #[serde(default, rename = "csrf_token")]
    _csrf: Option<String>,
}

async fn reset(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<ResetForm>,
) -> Result<Response, ApiError> {
    match signin::confirm_flow(&state, &ctx, &f.token, &f.new_password).await {
        Ok(()) => Ok(redirect_with_cookie(
            "/login?reset=1",
            session::clear_cookie(&state),
        )),
        Err(ApiError::Invalid(m)) => {
            Ok((StatusCode::OK, reset_form(&ctx, f.token.expose(), Some(&m))).into_response())
        }
        Err(e) => Err(e),
    }
}
