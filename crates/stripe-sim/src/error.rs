//! Stripe's error envelope: `{"error":{"type","code","message","param"}}` with an HTTP status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// An error answered in Stripe's shape.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error.type`, e.g. `invalid_request_error`, `card_error`, `idempotency_error`.
    pub kind: &'static str,
    /// `error.code`, e.g. `resource_missing`.
    pub code: Option<String>,
    /// `error.message`.
    pub message: String,
    /// `error.param`.
    pub param: Option<String>,
    /// Further fields merged into `error` (e.g. `payment_intent`, `decline_code`).
    pub extra: Map<String, Value>,
}

impl ApiError {
    /// A 400 `invalid_request_error`.
    pub fn invalid(code: Option<&str>, message: impl Into<String>, param: Option<&str>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            code: code.map(str::to_owned),
            message: message.into(),
            param: param.map(str::to_owned),
            extra: Map::new(),
        }
    }

    /// A 400 for a missing required parameter.
    pub fn missing(param: &str) -> Self {
        Self::invalid(
            Some("parameter_missing"),
            format!("Missing required param: {param}."),
            Some(param),
        )
    }

    /// A 404 `resource_missing`, e.g. `No such payment_intent: 'pi_x'`.
    pub fn no_such(noun: &str, id: &str, param: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            ..Self::invalid(
                Some("resource_missing"),
                format!("No such {noun}: '{id}'"),
                Some(param),
            )
        }
    }

    /// The JSON envelope.
    pub fn body(&self) -> Value {
        let mut err = Map::new();
        err.insert("type".into(), json!(self.kind));
        err.insert("message".into(), json!(self.message));
        if let Some(code) = &self.code {
            err.insert("code".into(), json!(code));
            err.insert(
                "doc_url".into(),
                json!(format!(
                    "https://docs.stripe.com/error-codes/{}",
                    code.replace('_', "-")
                )),
            );
        }
        if let Some(param) = &self.param {
            err.insert("param".into(), json!(param));
        }
        for (k, v) in &self.extra {
            err.insert(k.clone(), v.clone());
        }
        json!({ "error": err })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

/// Result of an API handler.
pub type ApiResult = Result<axum::Json<Value>, ApiError>;
