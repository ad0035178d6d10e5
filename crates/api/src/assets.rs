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

static CSS_NAME: LazyLock<String> = LazyLock::new(|| {
    let digest = hex::encode(Sha256::digest(CSS.as_bytes()));
    format!("app.{}.css", &digest[..12])
});

/// The stylesheet's versioned URL, e.g. `/static/app.3f2a….css`.
pub(crate) fn stylesheet_url() -> String {
    format!("/static/{}", *CSS_NAME)
}

pub(crate) fn routes(r: Routes) -> Routes {
    r.public(Method::GET, "/static/{file}", get(serve))
}

async fn serve(Path(file): Path<String>) -> Response {
    let cache = if file == *CSS_NAME {
        "public, max-age=31536000, immutable"
    } else if file == "app.css" {
        // The unversioned name stays for old links, with a short cache.
        "public, max-age=300"
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, cache),
        ],
        CSS,
    )
        .into_response()
}
