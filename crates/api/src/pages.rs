//! Server-rendered pages (minimal for now; the web-application work builds
//! the customer portal, the association workspace and the operator console
//! on these helpers).

use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_tenant::{TenantStatus, directory};
use axum::extract::{Path, State};
use axum::http::{Method, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;

const CSS: &str = include_str!("../static/app.css");

pub(crate) fn routes(r: Routes) -> Routes {
    r.public(Method::GET, "/", get(index))
        .public(Method::GET, "/static/app.css", get(stylesheet))
        .public(Method::GET, "/{slug}", get(association_home))
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page frame. `body_html` must already be escaped.
pub(crate) fn layout(title: &str, body_html: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Aqueduct</title><link rel=\"stylesheet\" href=\"/static/app.css\"></head>\
         <body><header class=\"site\"><a href=\"/\">Aqueduct</a></header><main>{}</main></body></html>",
        escape(title),
        body_html
    )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

async fn index() -> Html<String> {
    Html(layout(
        "Water billing for small associations",
        "<h1>Aqueduct</h1>\
         <p>Billing and online payments for small water associations.</p>\
         <div class=\"card\"><p>Customers: open your association's page at \
         <code>/&lt;association&gt;</code> — for the demo, <a href=\"/demo\">/demo</a>.</p>\
         <p>Machine clients: the JSON API lives under <code>/api/v1</code>.</p></div>",
    ))
}

async fn association_home(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Html<String>, ApiError> {
    let tenant = directory::by_slug(state.db(), &slug)
        .await?
        .ok_or(ApiError::NotFound)?;
    if tenant.status() == TenantStatus::Closed {
        return Err(ApiError::NotFound);
    }
    let notice = if tenant.status() == TenantStatus::Suspended {
        "<p class=\"notice\" role=\"status\">Online service for this association is \
         temporarily unavailable. Please contact the association's office.</p>"
    } else {
        ""
    };
    Ok(Html(layout(
        tenant.name(),
        &format!(
            "{notice}<h1>{}</h1><div class=\"card\"><p>Pay your water bill, see your use and \
             manage paperless billing online.</p><p class=\"muted\">Online payments and sign-in \
             open here as the association finishes setting up.</p></div>",
            escape(tenant.name())
        ),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
