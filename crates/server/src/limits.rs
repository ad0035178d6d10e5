//! The process-wide concurrency limit `serve` puts in front of the router:
//! at most `server.max_concurrent_requests` requests are handled at once;
//! one more is answered `503 Service Unavailable` with `Retry-After: 1` at
//! once (shed, not queued), so an overloaded replica fails fast and the load
//! balancer can send the request elsewhere. (Body size and time limits are
//! per request, in `aqueduct-api`'s middleware: 2 MiB → 413, 30 s → 408.)

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Wraps `router` so that at most `max` requests run at once.
pub fn limit_concurrency(router: Router, max: usize) -> Router {
    let permits = Arc::new(Semaphore::new(max.max(1)));
    router.layer(middleware::from_fn(move |req: Request, next: Next| {
        let permits = permits.clone();
        async move {
            let Ok(_permit) = permits.try_acquire_owned() else {
                tracing::warn!("concurrency limit reached: request shed with 503");
                let mut res = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    axum::Json(serde_json::json!({"error": {
                        "code": "overloaded",
                        "message": "Too many requests in progress; try again in a moment."
                    }})),
                )
                    .into_response();
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return res;
            };
            let res: Response = next.run(req).await;
            res
        }
    }))
}
