//! `aqueduct serve` exporting its spans to an OpenTelemetry collector over
//! OTLP/HTTP (JSON), joining the caller's W3C trace.

use crate::support::http::{free_port, get, wait_until_up};
use crate::support::{Engine, TestDb};
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Received = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// A stand-in collector: keeps each batch it is sent (content type, body).
async fn collector() -> (u16, Received) {
    async fn traces(
        State(received): State<Received>,
        headers: axum::http::HeaderMap,
        body: String,
    ) -> axum::http::StatusCode {
        let kind = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let json = serde_json::from_str(&body).unwrap_or(Value::Null);
        received.lock().unwrap().push((kind, json));
        axum::http::StatusCode::OK
    }
    let received: Received = Arc::default();
    let app = Router::new()
        .route("/v1/traces", post(traces))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, received)
}

fn spans(batches: &[(Option<String>, Value)]) -> Vec<(Value, Value)> {
    let mut out = Vec::new();
    for (_, batch) in batches {
        for rs in batch["resourceSpans"].as_array().into_iter().flatten() {
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for s in ss["spans"].as_array().into_iter().flatten() {
                    out.push((rs["resource"].clone(), s.clone()));
                }
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_exports_request_spans_in_the_callers_trace() {
    crate::support::db::init_process();
    let db = TestDb::new(Engine::Sqlite).await.unwrap();
    let (collector_port, received) = collector().await;
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_aqueduct"))
        .args(["serve", "--listen", &addr.to_string()])
        .env("DATABASE_URL", &db.app_url)
        .env(
            "AQUEDUCT__OTEL__ENDPOINT",
            format!("http://127.0.0.1:{collector_port}"),
        )
        .env("AQUEDUCT__OTEL__SERVICE_NAME", "aqueduct-under-test")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let up = tokio::task::spawn_blocking(move || {
        wait_until_up(addr, "/healthz", Duration::from_secs(60))
    })
    .await
    .unwrap();
    assert!(up.is_some(), "server never answered");
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let (status, _) =
        tokio::task::spawn_blocking(move || get(addr, "/healthz", &[("traceparent", traceparent)]))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(status, 200);
    // Stopping flushes the exporter's buffer.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());

    let batches = received.lock().unwrap().clone();
    assert!(!batches.is_empty(), "the collector received nothing");
    assert!(
        batches
            .iter()
            .all(|(kind, _)| kind.as_deref() == Some("application/json")),
        "OTLP/HTTP JSON is sent as application/json"
    );
    let spans = spans(&batches);
    let joined: Vec<_> = spans
        .iter()
        .filter(|(_, s)| s["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736")
        .collect();
    assert_eq!(
        joined.len(),
        1,
        "exactly the traced request joins: {spans:?}"
    );
    let (resource, span) = joined[0];
    assert_eq!(span["name"], "request");
    assert_eq!(span["parentSpanId"], "00f067aa0ba902b7");
    assert_ne!(span["spanId"], "00f067aa0ba902b7", "a new span of our own");
    let attrs = span["attributes"].as_array().unwrap();
    let attr = |k: &str| {
        attrs
            .iter()
            .find(|a| a["key"] == k)
            .map(|a| a["value"].clone())
    };
    assert_eq!(
        attr("route"),
        Some(serde_json::json!({"stringValue": "/healthz"}))
    );
    assert!(
        attr("status").is_some(),
        "the status is recorded: {attrs:?}"
    );
    let service = resource["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "service.name")
        .map(|a| a["value"]["stringValue"].clone());
    assert_eq!(service, Some(Value::from("aqueduct-under-test")));
    // Requests without a traceparent start their own traces.
    assert!(
        spans
            .iter()
            .any(|(_, s)| s["traceId"] != "4bf92f3577b34da6a3ce929d0e0e4736"
                && s.get("parentSpanId").is_none()),
        "the untraced health checks are root spans"
    );
}
