//! Versioned static assets: the stylesheet is served at a URL that carries
//! a hash of its content, so it can be cached for a year and a new release
//! is fetched at once.

use crate::registry::Routes;
use axum::extract::Path;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const CSS: &str = include_str!("../static/app.css");
const POLL_JS: &str = include_str!("../static/poll.js");

fn versioned(stem: &str, ext: &str, content: &str) -> String {
    let digest = hex::encode(Sha256::digest(content.as_bytes()));
    format!("{stem}.{}.{ext}", &digest[..12])
}

static CSS_NAME: LazyLock<String> = LazyLock::new(|| versioned("app", "css", CSS));
static POLL_NAME: LazyLock<String> = LazyLock::new(|| versioned("poll", "js", POLL_JS));

/// The stylesheet's versioned URL, e.g. `/static/app.3f2a….css`.
pub(crate) fn stylesheet_url() -> String {
    format!("/static/{}", *CSS_NAME)
}

/// The polling script's versioned URL (pages that wait on something).
pub(crate) fn poll_script_url() -> String {
    format!("/static/{}", *POLL_NAME)
}

pub(crate) fn routes(r: Routes) -> Routes {
    r.public(Method::GET, "/static/{file}", get(serve))
}

async fn serve(Path(file): Path<String>) -> Response {
    const YEAR: &str = "public, max-age=31536000, immutable";
    let (content_type, cache, body) = if file == *CSS_NAME {
        ("text/css; charset=utf-8", YEAR, CSS)
    } else if file == *POLL_NAME {
        ("text/javascript; charset=utf-8", YEAR, POLL_JS)
    } else if file == "app.css" {
        // The unversioned name stays for old links, with a short cache.
        ("text/css; charset=utf-8", "public, max-age=300", CSS)
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}
