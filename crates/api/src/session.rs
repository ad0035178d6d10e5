//! The session cookie and the layer that resolves it, with the CSRF check
//! every state-changing cookie request passes (API-key requests are
//! exempt: a browser never attaches a bearer token by itself).
//!
//! CSRF defence, two parts:
//! 1. Origin: a non-GET request whose `Sec-Fetch-Site` is not
//!    `same-origin`/`none`, or whose `Origin` is not our public origin, is
//!    refused (this also stops login CSRF, before any session exists).
//! 2. Token: with a live session, the request must echo the session's CSRF
//!    token in `X-CSRF-Token` or, for HTML forms, a `csrf_token` field
//!    (a part of a `multipart/form-data` upload form).

use crate::error::ApiError;
use crate::middleware::RequestId;
use crate::state::AppState;
use aqueduct_core::Secret;
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::sessions::{self, Session};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use subtle::ConstantTimeEq;

/// Cookie name in production (`__Host-`: Secure, Path=/, no Domain).
pub const COOKIE: &str = "__Host-aqueduct";
/// Cookie name for plain-HTTP development on localhost.
pub const DEV_COOKIE: &str = "aqueduct-dev";
/// Form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";
/// Header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The live session of this request, when its cookie named one.
#[derive(Debug, Clone)]
pub(crate) struct CurrentSession(pub Session);

fn cookie_name(state: &AppState) -> &'static str {
    if state.auth().dev_insecure_cookie {
        DEV_COOKIE
    } else {
        COOKIE
    }
}

/// `Set-Cookie` value carrying a new session id.
pub(crate) fn set_cookie(state: &AppState, token: &Secret) -> HeaderValue {
    let secure = if state.auth().dev_insecure_cookie {
        ""
    } else {
        "; Secure"
    };
    let v = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Lax{secure}",
        cookie_name(state),
        token.expose()
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Set-Cookie` value that removes the session cookie.
pub(crate) fn clear_cookie(state: &AppState) -> HeaderValue {
    let secure = if state.auth().dev_insecure_cookie {
        ""
    } else {
        "; Secure"
    };
    let v = format!(
        "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}",
        cookie_name(state)
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The client address: what `trace_request` resolved (the socket peer, or
/// the trusted proxy's `X-Forwarded-For`), else the socket peer.
pub(crate) fn client_ip(req_ext: &axum::http::Extensions) -> String {
    if let Some(ip) = req_ext.get::<crate::middleware::ClientIp>() {
        return ip.0.clone();
    }
    req_ext
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the request came from our own pages (or from no browser).
fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.to_str(), Ok("same-origin" | "none"))
    {
        return false;
    }
    match headers.get(header::ORIGIN).map(HeaderValue::to_str) {
        None => true,
        Some(Ok(origin)) => origin == origin_of(public_url),
        Some(Err(_)) => false,
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

fn tokens_match(presented: &str, expected: &str) -> bool {
    presented.len() == expected.len() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

fn form_field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    body.split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Checks the CSRF token; returns the request (its body restored) if good.
async fn check_token(req: Request, expected: &str) -> Option<Request> {
    if let Some(h) = req.headers().get(CSRF_HEADER) {
        return h
            .to_str()
            .is_ok_and(|v| tokens_match(v, expected))
            .then_some(req);
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    // Upload forms (a CSV file): the token is one of the parts.
    let boundary = crate::multipart::boundary(content_type).map(str::to_owned);
    if !is_form && boundary.is_none() {
        return None;
    }
    let (parts, body) = req.into_parts();
    let limit = if is_form {
        MAX_FORM_BYTES
    } else {
        crate::middleware::MAX_BODY_BYTES
    };
    let bytes = axum::body::to_bytes(body, limit).await.ok()?;
    let ok = match &boundary {
        None => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|b| form_field(b, CSRF_FIELD))
            .is_some_and(|v| tokens_match(v, expected)),
        Some(b) => crate::multipart::text(&crate::multipart::parts(&bytes, b), CSRF_FIELD)
            .is_some_and(|v| tokens_match(v, expected)),
    };
    ok.then(|| Request::from_parts(parts, Body::from(bytes)))
}

/// What the audit entry of a refused request needs.
struct Seen {
    target: String,
    request_id: Option<String>,
    ip: String,
}

impl Seen {
    fn of(req: &Request) -> Self {
        Self {
            target: format!("{} {}", req.method(), req.uri().path()),
            request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
            ip: client_ip(req.extensions()),
        }
    }
}

async fn refuse(state: &AppState, seen: Seen, session: Option<&Session>) -> Response {
    let entry = AuditEntry {
        tenant: None,
        actor: session.map_or_else(|| "anonymous".into(), |s| format!("user:{}", s.user)),
        action: "csrf.denied".into(),
        target: Some(seen.target),
        outcome: Outcome::Denied,
        request_id: seen.request_id,
        ip: Some(seen.ip),
        details: None,
    };
    if let Err(e) = audit::record_now(state.db(), state.clock(), entry).await {
        tracing::error!(error = %e, "could not audit a CSRF denial");
    }
    ApiError::CsrfFailed.into_response()
}

/// Resolves the session cookie and enforces CSRF on changes.
///
/// With the authentication cache on, every state-changing request this
/// process served empties it before its response leaves (webhooks
/// excepted: they change no one's access), so this process's next request
/// sees a sign-out, a role change or a suspension at once; other
/// processes hear of it from the database (`auth_cache`).
pub(crate) async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let flush = state.auth_cache().is_some()
        && !is_safe(req.method())
        && !req.uri().path().starts_with("/webhooks/");
    let res = resolve(&state, req, next).await;
    if flush && let Some(cache) = state.auth_cache() {
        cache.flush();
    }
    res
}

async fn resolve(state: &AppState, mut req: Request, next: Next) -> Response {
    let state = state.clone();
    if req.headers().contains_key(header::AUTHORIZATION) {
        return next.run(req).await;
    }
    let changing = !is_safe(req.method());
    if changing && !same_origin(req.headers(), &state.settings().public_url) {
        return refuse(&state, Seen::of(&req), None).await;
    }
    let session = match read_cookie(req.headers(), cookie_name(&state)) {
        Some(token) => {
            let (db, clock, policy) = (state.db(), state.clock(), state.auth().sessions);
            let found = match state.auth_cache() {
                Some(cache) => cache.session(db, clock, policy, &token).await,
                None => sessions::lookup(db, clock, policy, &token).await,
            };
            match found {
                Ok(s) => s,
                Err(e) => return ApiError::from(e).into_response(),
            }
        }
        None => None,
    };
    if let Some(s) = session {
        if changing {
            let seen = Seen::of(&req);
            let Some(checked) = check_token(req, &s.csrf_token).await else {
                return refuse(&state, seen, Some(&s)).await;
            };
            req = checked;
        }
        req.extensions_mut().insert(CurrentSession(s));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_fields() {
        assert_eq!(
            origin_of("https://pay.example.org/x/y"),
            "https://pay.example.org"
        );
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(form_field("a=1&csrf_token=ab&c=", "csrf_token"), Some("ab"));
        assert!(
            tokens_match("abc", "abc") && !tokens_match("abc", "abd") && !tokens_match("ab", "abc")
        );
    }
}
