//! Limits every request meets: the body size limit (413), and `serve`'s
//! process-wide concurrency limit (503 + Retry-After, shed at once).

use crate::db_test;
use crate::support::TestApp;
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Method, Request};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Semaphore;
use tower::ServiceExt;

db_test!(a_body_over_two_mebibytes_is_413, |db| {
    let app = TestApp::new(db).await;
    let big = "x".repeat(2 * 1024 * 1024 + 1);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/webhooks/stripe")
        .header("content-type", "application/json")
        .body(Body::from(big))
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(res.status, 413, "{}", res.text);
    // Just under the limit is read (and refused for its missing signature).
    let req = Request::builder()
        .method(Method::POST)
        .uri("/webhooks/stripe")
        .header("content-type", "application/json")
        .body(Body::from("x".repeat(1024 * 1024)))
        .unwrap();
    assert_ne!(app.send(req).await.status, 413);
});

#[tokio::test]
async fn requests_over_the_concurrency_limit_are_shed_with_503() {
    let inside = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(Semaphore::new(0));
    let (i, r) = (inside.clone(), release.clone());
    let router = Router::new().route(
        "/slow",
        get(move || {
            let (inside, release) = (i.clone(), r.clone());
            async move {
                inside.fetch_add(1, Ordering::SeqCst);
                release.acquire().await.unwrap().forget();
                "done"
            }
        }),
    );
    let app = aqueduct_server::limits::limit_concurrency(router, 2);
    let call = |app: Router| async move {
        app.oneshot(Request::get("/slow").body(Body::empty()).unwrap())
            .await
            .unwrap()
    };
    let first = tokio::spawn(call(app.clone()));
    let second = tokio::spawn(call(app.clone()));
    while inside.load(Ordering::SeqCst) < 2 {
        tokio::task::yield_now().await;
    }
    // Two in flight: the third is refused at once, not queued.
    let third = call(app.clone()).await;
    assert_eq!(third.status(), 503);
    assert_eq!(third.headers()["retry-after"], "1");
    assert_eq!(inside.load(Ordering::SeqCst), 2, "the handler never ran");
    release.add_permits(2);
    assert_eq!(first.await.unwrap().status(), 200);
    assert_eq!(second.await.unwrap().status(), 200);
    // Capacity is back.
    let fourth = tokio::spawn(call(app.clone()));
    while inside.load(Ordering::SeqCst) < 3 {
        tokio::task::yield_now().await;
    }
    release.add_permits(1);
    assert_eq!(fourth.await.unwrap().status(), 200);
}

/// Dropped when the handler's future is dropped (the timeout fired).
struct Cancelled(Arc<AtomicUsize>);

impl Drop for Cancelled {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_request_over_the_time_limit_is_408_and_its_handler_is_dropped() {
    // The production limit is 30 s; the layer is the same function.
    assert_eq!(
        aqueduct_api::REQUEST_TIMEOUT,
        std::time::Duration::from_secs(30)
    );
    let finished = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (f, d) = (finished.clone(), dropped.clone());
    let router = Router::new()
        .route(
            "/slow",
            get(move || {
                let (finished, guard) = (f.clone(), Cancelled(d.clone()));
                async move {
                    let _guard = guard;
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    finished.fetch_add(1, Ordering::SeqCst);
                    "done"
                }
            }),
        )
        .route("/fast", get(|| async { "done" }));
    let app = aqueduct_api::with_request_timeout(router, std::time::Duration::from_millis(100));
    let started = std::time::Instant::now();
    let slow = app
        .clone()
        .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(slow.status(), 408);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "answered at the limit, not when the handler finished"
    );
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "the handler was dropped");
    assert_eq!(
        finished.load(Ordering::SeqCst),
        0,
        "the handler never finished"
    );
    let fast = app
        .oneshot(Request::get("/fast").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(fast.status(), 200, "a quick request is untouched");
}
