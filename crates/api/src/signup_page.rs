//! The sign-up page at `/sign-up`: the same registration as
//! `POST /api/v1/sign-up` from an HTML form (works without JavaScript);
//! the association starts `onboarding` and its first admin gets a mailed
//! link to confirm the email and choose a password.

use crate::error::ApiError;
use crate::i18n::Lang;
use crate::registry::Routes;
use crate::signin::Ctx;
use crate::signup::{self, SignUpBody};
use crate::state::AppState;
use crate::web::{self, Chrome};
use crate::workspace::form_value;
use askama::Template;
use axum::extract::State;
use axum::http::Method;
use axum::response::Response;
use axum::routing::{get, post};

pub(crate) fn routes(r: Routes) -> Routes {
    r.public(Method::GET, "/sign-up", get(form_page))
        .public(Method::POST, "/sign-up", post(submit))
}

/// Time zones offered first (any IANA name can be typed by API callers).
const ZONES: [&str; 8] = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
];

#[derive(Template)]
#[template(path = "signup.html")]
struct SignUpPage {
    page: Chrome,
    zones: &'static [&'static str],
    name: String,
    slug: String,
    zone: String,
    email: String,
    error: Option<String>,
    done_slug: Option<String>,
}

fn page(body: SignUpBody, error: Option<String>, done_slug: Option<String>) -> Response {
    web::render(&SignUpPage {
        page: Chrome::plain(Lang::En, "Sign up your association"),
        zones: &ZONES,
        name: body.association_name,
        slug: body.slug,
        zone: body.time_zone,
        email: body.admin_email,
        error,
        done_slug,
    })
}

async fn form_page() -> Response {
    page(
        SignUpBody {
            association_name: String::new(),
            slug: String::new(),
            time_zone: "America/Denver".into(),
            admin_email: String::new(),
        },
        None,
        None,
    )
}

async fn submit(State(state): State<AppState>, ctx: Ctx, body: String) -> Response {
    let field = |n: &str| form_value(&body, n).unwrap_or_default().trim().to_owned();
    let form = SignUpBody {
        association_name: field("association_name"),
        slug: field("slug").to_ascii_lowercase(),
        time_zone: field("time_zone"),
        admin_email: field("admin_email"),
    };
    let copy = SignUpBody {
        association_name: form.association_name.clone(),
        slug: form.slug.clone(),
        time_zone: form.time_zone.clone(),
        admin_email: form.admin_email.clone(),
    };
    if form.association_name.is_empty() || form.admin_email.is_empty() {
        return page(
            copy,
            Some("Give the association's name and your email address.".into()),
            None,
        );
    }
    match signup::register(&state, &ctx, form).await {
        Ok(t) => page(copy, None, Some(t.slug().to_string())),
        Err(e @ (ApiError::Invalid(_) | ApiError::Conflict(_) | ApiError::TooManyRequests(_))) => {
            page(copy, Some(sign_up_message(&e)), None)
        }
        Err(e) => axum::response::IntoResponse::into_response(e),
    }
}

fn sign_up_message(e: &ApiError) -> String {
    match e {
        ApiError::Invalid(m) => format!("Please check the form: {m}."),
        ApiError::Conflict(m) if m.contains("slug") => {
            "That web address is taken; choose another short name.".into()
        }
        ApiError::Conflict(m) => format!("{m}."),
        ApiError::TooManyRequests(secs) => {
            format!("Too many sign-ups from here; try again in {secs} seconds.")
        }
        other => other.to_string(),
    }
}
