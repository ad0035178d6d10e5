//! Server-rendered pages (minimal for now; the web-application work builds
//! the customer portal, the association workspace and the operator console
//! on these helpers).

use crate::i18n::Lang;
use crate::registry::Routes;
use crate::web::{Chrome, Plain};
use askama::Template;
use axum::http::Method;
use axum::response::Html;
use axum::routing::get;

pub(crate) fn routes(r: Routes) -> Routes {
    r.public(Method::GET, "/", get(index))
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

/// The page frame (the base template, English, no association).
/// `body_html` must already be escaped.
pub(crate) fn layout(title: &str, body_html: &str) -> String {
    let page = Plain {
        page: Chrome::plain(Lang::En, title),
        body: body_html,
    };
    page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "base template failed");
        format!("<!doctype html><title>{}</title>{body_html}", escape(title))
    })
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
