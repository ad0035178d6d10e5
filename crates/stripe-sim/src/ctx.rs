//! What every `/v1` request carries: key check, request id, `Stripe-Account`, idempotency,
//! and the parsed form parameters.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::store::ReqInfo;
use crate::{Idem, Shared, form, ids, lock};

const BODY_LIMIT: usize = 1 << 20;

/// The `req_…` id given to a request, kept in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn unauthorized(message: String) -> Response {
    ApiError {
        status: StatusCode::UNAUTHORIZED,
        ..ApiError::invalid(None, message, None)
    }
    .into_response()
}

fn mask(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let head: String = key.chars().take(8).collect();
    format!("{head}****{tail}")
}

/// Middleware for `/v1`: request id, API key, and Idempotency-Key replay.
pub async fn guard(State(shared): State<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    let request_id = ids::new_id("req");
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let mut resp = guarded(&shared, req, next, &request_id).await;
    if !resp.headers().contains_key("request-id")
        && let Ok(v) = HeaderValue::from_str(&request_id)
    {
        resp.headers_mut().insert("request-id", v);
    }
    resp
}

async fn guarded(shared: &Shared, req: Request, next: Next, request_id: &str) -> Response {
    let expected = shared.config().secret_key;
    match header(req.headers(), "authorization") {
        None => {
            return unauthorized("You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').".to_owned());
        }
        Some(auth) => {
            let key = auth.strip_prefix("Bearer ").unwrap_or("").trim();
            if key != expected {
                return unauthorized(format!("Invalid API Key provided: {}", mask(key)));
            }
        }
    }
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    // One POST at a time: the idempotency check and the work it guards are atomic.
    let _gate = shared.gate.lock().await;
    let Some(key) = header(req.headers(), "idempotency-key") else {
        return next.run(req).await;
    };
    let account = header(req.headers(), "stripe-account");
    let path = req.uri().path().to_owned();
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::invalid(None, "Request body too large or unreadable.", None)
                .into_response();
        }
    };
    let params = form::parse(&String::from_utf8_lossy(&bytes));
    let slot = (account, key.clone());
    let previous = lock(&shared.idem).get(&slot).cloned();
    if let Some(prev) = previous {
        if prev.path != path || prev.params != params {
            return ApiError {
                kind: "idempotency_error",
                ..ApiError::invalid(
                    None,
                    format!("Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."),
                    None,
                )
            }
            .into_response();
        }
        let mut resp = (
            StatusCode::from_u16(prev.status).unwrap_or(StatusCode::OK),
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            prev.body.clone(),
        )
            .into_response();
        let h = resp.headers_mut();
        h.insert("idempotent-replayed", HeaderValue::from_static("true"));
        if let Ok(v) = HeaderValue::from_str(&prev.request_id) {
            h.insert("request-id", v);
        }
        if let Ok(v) = HeaderValue::from_str(&key) {
            h.insert("idempotency-key", v);
        }
        return resp;
    }
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = resp.status();
    // Stripe saves results once the endpoint started executing; validation errors are not saved.
    if !(status.is_success() || status == StatusCode::PAYMENT_REQUIRED) {
        return resp;
    }
    let (rparts, rbody) = resp.into_parts();
    let body: Bytes = axum::body::to_bytes(rbody, usize::MAX)
        .await
        .unwrap_or_default();
    lock(&shared.idem).insert(
        slot,
        Idem {
            path,
            params,
            status: status.as_u16(),
            body: body.clone(),
            request_id: request_id.to_owned(),
        },
    );
    let mut resp = Response::from_parts(rparts, Body::from(body));
    if let Ok(v) = HeaderValue::from_str(&key) {
        resp.headers_mut().insert("idempotency-key", v);
    }
    resp
}

/// A parsed `/v1` request.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The connected account from `Stripe-Account`, `None` for the platform.
    pub owner: Option<String>,
    /// Query and body parameters as a JSON tree of strings.
    pub params: Value,
    /// `req_…`.
    pub request_id: String,
    /// The request's `Idempotency-Key`.
    pub idempotency_key: Option<String>,
}

impl FromRequest<Arc<Shared>> for Ctx {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<Shared>) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let owner = header(&parts.headers, "stripe-account");
        if let Some(acct) = &owner {
            let known = lock(&state.store)
                .raw(acct)
                .is_some_and(|o| o.json["object"] == "account");
            if !known {
                return Err(ApiError {
                    status: StatusCode::FORBIDDEN,
                    ..ApiError::invalid(
                        Some("account_invalid"),
                        format!(
                            "The provided key '{}' does not have access to account '{acct}' (or that account does not exist). Application access may have been revoked.",
                            mask(&state.config().secret_key)
                        ),
                        None,
                    )
                });
            }
        }
        let mut params = form::parse(parts.uri.query().unwrap_or(""));
        if parts.method == Method::POST {
            let bytes = axum::body::to_bytes(body, BODY_LIMIT)
                .await
                .map_err(|_| ApiError::invalid(None, "Request body unreadable.", None))?;
            if let (Value::Object(into), Value::Object(from)) =
                (&mut params, form::parse(&String::from_utf8_lossy(&bytes)))
            {
                into.extend(from);
            }
        }
        Ok(Self {
            owner,
            params,
            request_id: parts
                .extensions
                .get::<RequestId>()
                .map(|r| r.0.clone())
                .unwrap_or_default(),
            idempotency_key: header(&parts.headers, "idempotency-key"),
        })
    }
}

impl Ctx {
    /// The connected account, if any.
    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// Who caused the events this request emits.
    pub fn req(&self) -> ReqInfo {
        ReqInfo {
            id: Some(self.request_id.clone()),
            idempotency_key: self.idempotency_key.clone(),
        }
    }

    /// A parameter by dotted path (`payment_intent_data.metadata`).
    pub fn get(&self, path: &str) -> Option<&Value> {
        path.split('.').try_fold(&self.params, |v, k| v.get(k))
    }

    /// A string parameter; empty strings count as absent.
    pub fn str(&self, path: &str) -> Option<String> {
        self.get(path)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    /// A required string parameter.
    pub fn req_str(&self, path: &str) -> Result<String, ApiError> {
        self.str(path)
            .ok_or_else(|| ApiError::missing(&bracket(path)))
    }

    /// An integer parameter.
    pub fn int(&self, path: &str) -> Result<Option<i64>, ApiError> {
        match self.str(path) {
            None => Ok(None),
            Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
                ApiError::invalid(
                    Some("parameter_invalid_integer"),
                    format!("Invalid integer: {s}"),
                    Some(&bracket(path)),
                )
            }),
        }
    }

    /// A required integer parameter.
    pub fn req_int(&self, path: &str) -> Result<i64, ApiError> {
        self.int(path)?
            .ok_or_else(|| ApiError::missing(&bracket(path)))
    }

    /// A boolean parameter.
    pub fn bool(&self, path: &str) -> Result<Option<bool>, ApiError> {
        match self.str(path).as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(ApiError::invalid(
                Some("parameter_invalid_boolean"),
                format!("Invalid boolean: {other}"),
                Some(&bracket(path)),
            )),
        }
    }

    /// A metadata hash (strings only); empty values unset keys, as on Stripe.
    pub fn metadata(&self, path: &str) -> Result<Map<String, Value>, ApiError> {
        match self.get(path) {
            None => Ok(Map::new()),
            Some(Value::String(s)) if s.is_empty() => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m
                .iter()
                .filter(|(_, v)| v.as_str().is_some_and(|s| !s.is_empty()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()),
            Some(_) => Err(ApiError::invalid(
                Some("parameter_invalid_string"),
                "Invalid metadata: must be a hash",
                Some(&bracket(path)),
            )),
        }
    }

    /// A list of strings (`a[]=x&a[]=y` or `a[0]=x`).
    pub fn strings(&self, path: &str) -> Vec<String> {
        match self.get(path) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            _ => Vec::new(),
        }
    }

    /// The `expand[]` paths.
    pub fn expand(&self) -> Vec<String> {
        self.strings("expand")
    }
}

/// `a.b.c` → `a[b][c]`, the way Stripe names nested params in errors.
pub fn bracket(path: &str) -> String {
    let mut parts = path.split('.');
    let mut out = parts.next().unwrap_or_default().to_owned();
    for p in parts {
        out.push('[');
        out.push_str(p);
        out.push(']');
    }
    out
}
