//! One error type for every handler, with stable codes.
//!
//! A handler returns `ApiError`; its response carries an [`ErrorInfo`]
//! extension and no body. The `render_errors` middleware (which knows the
//! request id and whether the client wants HTML) turns it into the JSON
//! envelope `{"error":{"code","message","request_id"}}` or a friendly page.
//! Internal details are logged here, inside the request span, never sent.

use aqueduct_billing::BillingError;
use aqueduct_tenant::TenantError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sea_orm::DbErr;

/// Stable error codes (part of the API contract: never rename one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400: the request could not be understood.
    BadRequest,
    /// 401: no valid credentials.
    Unauthenticated,
    /// 403: the role does not allow this action.
    Forbidden,
    /// 403: the association is suspended or closed.
    TenantUnavailable,
    /// 403: a cookie-authenticated change without a valid CSRF token or
    /// from another site.
    CsrfFailed,
    /// 403: this needs a second factor (TOTP) the person has not set up.
    SecondFactorRequired,
    /// 404: no such object (or not yours).
    NotFound,
    /// 405.
    MethodNotAllowed,
    /// 409: conflicts with existing data.
    Conflict,
    /// 413.
    PayloadTooLarge,
    /// 429: throttled; see `Retry-After`.
    TooManyRequests,
    /// 422: understood but invalid.
    Invalid,
    /// 408/503: try again.
    Unavailable,
    /// 500.
    Internal,
}

impl ErrorCode {
    /// The code as sent to clients.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::TenantUnavailable => "tenant_unavailable",
            ErrorCode::CsrfFailed => "csrf_failed",
            ErrorCode::SecondFactorRequired => "second_factor_required",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::TooManyRequests => "too_many_requests",
            ErrorCode::Invalid => "invalid",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The default code for a status that came from outside our handlers
    /// (axum rejections, the router, timeouts).
    pub fn for_status(status: StatusCode) -> Self {
        match status.as_u16() {
            401 => ErrorCode::Unauthenticated,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            409 => ErrorCode::Conflict,
            413 => ErrorCode::PayloadTooLarge,
            429 => ErrorCode::TooManyRequests,
            408 | 503 | 504 => ErrorCode::Unavailable,
            415 | 422 => ErrorCode::Invalid,
            400..=499 => ErrorCode::BadRequest,
            _ => ErrorCode::Internal,
        }
    }
}

/// What the renderer needs, carried in the response extensions.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    /// Stable code.
    pub code: ErrorCode,
    /// Message safe to show to the client.
    pub message: String,
}

/// A handler error.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404 — never reveals whether the object exists elsewhere.
    #[error("not found")]
    NotFound,
    /// 401.
    #[error("unauthenticated")]
    Unauthenticated,
    /// 403: the caller's role lacks this action.
    #[error("forbidden")]
    Forbidden,
    /// 403: the association cannot be used now.
    #[error("tenant unavailable")]
    TenantUnavailable,
    /// 401: a sign-in with a wrong email or password (one answer for both).
    #[error("bad credentials")]
    BadCredentials,
    /// 403: failed the CSRF check.
    #[error("csrf check failed")]
    CsrfFailed,
    /// 403: set up a second factor (TOTP) first.
    #[error("second factor required")]
    SecondFactorRequired,
    /// 429: try again after this many seconds.
    #[error("too many attempts")]
    TooManyRequests(u64),
    /// 409 with a message for the client.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 422 with a message for the client.
    #[error("invalid: {0}")]
    Invalid(String),
    /// 503: a dependency is down.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 500; the text is logged, never sent.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, ErrorCode, String) {
        match self {
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "Not found.".into(),
            ),
            ApiError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated,
                "Sign in or send a valid API key.".into(),
            ),
            ApiError::Forbidden => (
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                "Your role does not allow this action.".into(),
            ),
            ApiError::TenantUnavailable => (
                StatusCode::FORBIDDEN,
                ErrorCode::TenantUnavailable,
                "This association is suspended or closed.".into(),
            ),
            ApiError::BadCredentials => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated,
                "The email or password is incorrect.".into(),
            ),
            ApiError::CsrfFailed => (
                StatusCode::FORBIDDEN,
                ErrorCode::CsrfFailed,
                "This form expired or came from another site. Reload the page and try again."
                    .into(),
            ),
            ApiError::SecondFactorRequired => (
                StatusCode::FORBIDDEN,
                ErrorCode::SecondFactorRequired,
                "Set up two-step sign-in (an authenticator app) to continue.".into(),
            ),
            ApiError::TooManyRequests(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyRequests,
                "Too many attempts. Wait a few minutes and try again.".into(),
            ),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, ErrorCode::Conflict, m.clone()),
            ApiError::Invalid(m) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::Invalid,
                m.clone(),
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                "A service we depend on is unavailable. Try again shortly.".into(),
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "Something went wrong on our side.".into(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(detail) => tracing::error!(error = %detail, "request failed"),
            ApiError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "dependency unavailable")
            }
            _ => {}
        }
        let (status, code, message) = self.parts();
        let mut res = status.into_response();
        if let ApiError::TooManyRequests(secs) = self {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res.extensions_mut().insert(ErrorInfo { code, message });
        res
    }
}

impl From<DbErr> for ApiError {
    fn from(e: DbErr) -> Self {
        match e {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => ApiError::Unavailable(e.to_string()),
            e => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<BillingError> for ApiError {
    fn from(e: BillingError) -> Self {
        match e {
            BillingError::NotFound => ApiError::NotFound,
            BillingError::AccountNumberTaken | BillingError::MeterSerialTaken => {
                ApiError::Conflict(e.to_string())
            }
            BillingError::Invalid(m) => ApiError::Invalid(m),
            BillingError::Conflict(m) => ApiError::Conflict(m),
            BillingError::Interrupted => ApiError::Unavailable(e.to_string()),
            BillingError::Db(e) => e.into(),
        }
    }
}

impl From<TenantError> for ApiError {
    fn from(e: TenantError) -> Self {
        match e {
            TenantError::SlugTaken | TenantError::EmailTaken | TenantError::LastAdmin => {
                ApiError::Conflict(e.to_string())
            }
            TenantError::Invalid(m) => ApiError::Invalid(m),
            TenantError::Db(e) => e.into(),
        }
    }
}
