//! Layers every response passes through: request id, tracing span, error
//! rendering, security headers, panics, timeouts and body limits.

use crate::error::{ErrorCode, ErrorInfo};
use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use std::time::{Duration, Instant};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tracing::{Instrument, field};

/// The request id: the client's `x-request-id` when it is sane, else a new
/// UUIDv7. Echoed on the response and in every log line and error body.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The client's address as far as we can trust it: behind a trusted proxy,
/// the last address in `X-Forwarded-For` (the one the proxy appended);
/// otherwise the socket peer.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

const REQUEST_ID: &str = "x-request-id";
pub(crate) const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

fn acceptable_request_id(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// How long a request may take before it is answered
/// `408 Request Timeout` (and its handler is dropped).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The time limit every request meets: after `after`, the handler's
/// future is dropped and the client gets `408 Request Timeout`.
/// (Dropping is safe for the database: an unfinished transaction rolls
/// back, and a commit already under way runs to the end on its own task —
/// see `TenantTx::commit`.)
pub fn with_request_timeout(router: Router, after: Duration) -> Router {
    router.layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        after,
    ))
}

/// Wraps the router in the standard layers (outermost last).
pub(crate) fn wrap(router: Router, state: AppState) -> Router {
    let router = router
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(middleware::from_fn(render_errors));
    with_request_timeout(router, REQUEST_TIMEOUT)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            crate::ApiError::Internal("panic".into()).into_response()
        }))
        .layer(middleware::from_fn_with_state(state, trace_request))
}

/// Assigns the request id and runs the request inside one span that ends
/// with a single "request finished" line (method, route, status, latency).
async fn trace_request(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let forwarded = state
        .settings()
        .trusted_proxy
        .then(|| {
            req.headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|ip| ip.trim().parse::<std::net::IpAddr>().ok())
                .next_back()
        })
        .flatten();
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = forwarded.or(peer) {
        req.extensions_mut().insert(ClientIp(ip.to_string()));
    }
    // Both cheap to keep (a shared string; a method held inline).
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("(unmatched)", MatchedPath::as_str);
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        method = %method,
        route = %route,
        request_id = %id,
        tenant = field::Empty,
        status = field::Empty,
        latency_ms = field::Empty,
    );
    if let Some(parent) = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(remote_parent)
    {
        // Joins the caller's trace when spans are exported; without an
        // exporter there is nothing to join and this does nothing.
        let _ = tracing_opentelemetry::OpenTelemetrySpanExt::set_parent(&span, parent);
    }
    let started = Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    state
        .http_metrics()
        .observe(method.as_str(), route, res.status().as_u16(), latency_ms);
    span.record("status", res.status().as_u16());
    span.record("latency_ms", latency_ms);
    span.in_scope(|| {
        if res.status().is_server_error() {
            tracing::warn!("request finished");
        } else {
            tracing::info!("request finished");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}

/// The caller's span from a W3C `traceparent` header
/// (`00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`), if well formed.
fn remote_parent(header: &str) -> Option<opentelemetry::Context> {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    let mut parts = header.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    // Version ff is forbidden; version 00 has exactly four fields.
    if !hex(version, 2) || version == "ff" || (version == "00" && parts.next().is_some()) {
        return None;
    }
    if !hex(trace, 32) || !hex(span, 16) || !hex(flags, 2) {
        return None;
    }
    let trace = TraceId::from_hex(trace).ok()?;
    let span = SpanId::from_hex(span).ok()?;
    if trace == TraceId::INVALID || span == SpanId::INVALID {
        return None;
    }
    let flags = TraceFlags::new(u8::from_str_radix(flags, 16).ok()? & 1);
    let context = SpanContext::new(trace, span, flags, true, TraceState::default());
    Some(opentelemetry::Context::new().with_remote_span_context(context))
}

fn wants_html(req: &Request) -> bool {
    let path = req.uri().path();
    if path.starts_with("/api/") || path.starts_with("/webhooks/") {
        return false;
    }
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// Turns every error response into the envelope (JSON, or an HTML page for
/// browsers), with the request id. 4xx bodies from axum's own rejections
/// keep their (safe) text as the message; 5xx never show details.
async fn render_errors(req: Request, next: Next) -> Response {
    let html = wants_html(&req);
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    // A page that renders its own error (a form shown again with what was
    // wrong: a refused sign-in, a rejected upload) is the answer the user
    // needs: kept as it is.
    let own_page = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if own_page && res.extensions().get::<ErrorInfo>().is_none() {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let info = match parts.extensions.remove::<ErrorInfo>() {
        Some(info) => info,
        None => {
            let code = ErrorCode::for_status(status);
            let text = match body.collect().await {
                Ok(c) => String::from_utf8_lossy(&c.to_bytes()).trim().to_owned(),
                Err(_) => String::new(),
            };
            let message = if status.is_server_error() || text.is_empty() || text.len() > 500 {
                status.canonical_reason().unwrap_or("Error").to_owned() + "."
            } else {
                text
            };
            ErrorInfo { code, message }
        }
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let (content_type, body) = if html {
        (
            "text/html; charset=utf-8",
            error_page(status, &info, &request_id),
        )
    } else {
        let json = serde_json::json!({
            "error": {
                "code": info.code.as_str(),
                "message": info.message,
                "request_id": request_id,
            }
        });
        ("application/json", json.to_string())
    };
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Response::from_parts(parts, Body::from(body))
}

fn error_page(status: StatusCode, info: &ErrorInfo, request_id: &str) -> String {
    let title = match status.as_u16() {
        404 => "We couldn't find that page",
        401 | 403 => "You don't have access to this page",
        500..=599 => "Something went wrong",
        _ => "We couldn't handle that request",
    };
    crate::pages::layout(
        title,
        &format!(
            "<h1>{}</h1><p>{}</p><p class=\"muted\">If you contact support, quote reference \
             <code>{}</code>.</p><p><a href=\"/\">Back to the start</a></p>",
            crate::pages::escape(title),
            crate::pages::escape(&info.message),
            crate::pages::escape(request_id),
        ),
    )
}

/// The CSP: our own origin only, except that a form may lead to Stripe's
/// hosted Checkout (a redirect after our own POST counts as the form's
/// target). No inline script or style anywhere.
fn content_security_policy(stripe: Option<&aqueduct_payments::Stripe>) -> String {
    let mut form_action = String::from("'self'");
    for o in stripe
        .map(aqueduct_payments::Stripe::checkout_origins)
        .unwrap_or_default()
    {
        form_action.push(' ');
        form_action.push_str(&o);
    }
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action {form_action}"
    )
}

/// Headers every response carries (the identity work adds CSP details and
/// HSTS behind TLS).
async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let settings = state.settings();
    let https = settings.tls
        || (settings.trusted_proxy
            && req
                .headers()
                .get("x-forwarded-proto")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https")));
    let csp = content_security_policy(state.stripe());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "referrer-policy",
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert("content-security-policy", v);
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_parsed_strictly() {
        use opentelemetry::trace::TraceContextExt;
        let cx = remote_parent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        let sc = cx.span().span_context().clone();
        assert_eq!(
            sc.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(sc.span_id().to_string(), "00f067aa0ba902b7");
        assert!(sc.is_sampled() && sc.is_remote());
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert!(remote_parent(bad).is_none(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn request_ids_are_checked() {
        assert!(acceptable_request_id("abc-123_x.y"));
        assert!(!acceptable_request_id(""));
        assert!(!acceptable_request_id("a b"));
        assert!(!acceptable_request_id("x\ny"));
        assert!(!acceptable_request_id(&"a".repeat(65)));
    }
}
