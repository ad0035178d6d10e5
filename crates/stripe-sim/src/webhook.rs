//! Signing events as Stripe does and delivering them, with the configured misbehaviour.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::{mpsc, watch};

use crate::Shared;
use crate::ids::now;

/// `hex(HMAC_SHA256(secret, "{t}.{payload}"))`, Stripe's `v1` scheme.
pub fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

/// The `Stripe-Signature` header value: `t=…,v1=…`.
pub fn signature_header(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, payload))
}

/// One delivery attempt, as recorded in the delivery log.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    /// `evt_…`.
    pub event_id: String,
    /// `payment_intent.succeeded` etc.
    pub event_type: String,
    /// 1 for the first attempt of a copy.
    pub attempt: u32,
    /// HTTP status answered, if any.
    pub status: Option<u16>,
    /// Connection error, if any.
    pub error: Option<String>,
    /// Unix time of the attempt.
    pub at: i64,
}

/// The delivery queue and its bookkeeping.
#[derive(Debug)]
pub struct Delivery {
    tx: mpsc::UnboundedSender<Vec<Value>>,
    /// Events queued or still being (re)tried.
    pending: watch::Sender<usize>,
    /// Every attempt made.
    pub log: std::sync::Mutex<Vec<DeliveryRecord>>,
}

impl Delivery {
    /// A queue and the receiver the worker reads.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<Vec<Value>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (pending, _) = watch::channel(0);
        (
            Self {
                tx,
                pending,
                log: std::sync::Mutex::new(Vec::new()),
            },
            rx,
        )
    }

    /// Queues one API call's events.
    pub fn enqueue(&self, batch: Vec<Value>) {
        let n = batch.len();
        self.pending.send_modify(|p| *p += n);
        if self.tx.send(batch).is_err() {
            self.pending.send_modify(|p| *p -= n);
        }
    }

    fn done(&self) {
        self.pending.send_modify(|p| *p = p.saturating_sub(1));
    }

    /// Events not yet delivered or given up on.
    pub fn pending(&self) -> usize {
        *self.pending.borrow()
    }

    /// Waits until nothing is queued or being retried.
    pub async fn wait_idle(&self) {
        let mut rx = self.pending.subscribe();
        let _ = rx.wait_for(|p| *p == 0).await;
    }

    fn record(&self, rec: DeliveryRecord) {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(rec);
    }
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Reads queued batches and delivers them until the sim is dropped.
pub async fn worker(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Vec<Value>>) {
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    while let Some(first) = rx.recv().await {
        let opts = shared.config().delivery;
        if opts.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(opts.delay_ms)).await;
        }
        let mut events = first;
        while let Ok(more) = rx.try_recv() {
            events.extend(more);
        }
        if opts.out_of_order {
            events.reverse();
        }
        for ev in events {
            deliver_event(&shared, &client, ev).await;
        }
    }
}

async fn deliver_event(shared: &Arc<Shared>, client: &HttpClient, ev: Value) {
    let cfg = shared.config();
    let Some(url) = cfg.webhook_url.clone() else {
        shared.delivery.done();
        return;
    };
    let payload = Bytes::from(serde_json::to_vec(&ev).unwrap_or_default());
    let copies = if cfg.delivery.deliver_twice { 2 } else { 1 };
    let target = Target {
        url,
        secret: cfg.webhook_secret.clone(),
        timeout: Duration::from_millis(cfg.delivery.timeout_ms),
        event_id: ev["id"].as_str().unwrap_or_default().to_owned(),
        event_type: ev["type"].as_str().unwrap_or_default().to_owned(),
        payload,
    };
    let failed: usize = if copies == 2 && cfg.delivery.concurrent_duplicates {
        let (a, b) = tokio::join!(
            attempt(shared, client, &target, 1),
            attempt(shared, client, &target, 1)
        );
        usize::from(!a) + usize::from(!b)
    } else {
        let mut failed = 0;
        for _ in 0..copies {
            if !attempt(shared, client, &target, 1).await {
                failed += 1;
            }
        }
        failed
    };
    if failed == 0 {
        shared.delivery.done();
        return;
    }
    let shared = Arc::clone(shared);
    let client = client.clone();
    let opts = cfg.delivery;
    tokio::spawn(async move {
        for _ in 0..failed {
            let mut backoff = opts.retry_backoff_ms;
            for n in 2..=opts.max_attempts.max(1) {
                tokio::time::sleep(Duration::from_millis(backoff)).await;
                backoff = backoff.saturating_mul(2);
                if attempt(&shared, &client, &target, n).await {
                    break;
                }
            }
        }
        shared.delivery.done();
    });
}

struct Target {
    url: String,
    secret: String,
    timeout: Duration,
    event_id: String,
    event_type: String,
    payload: Bytes,
}

/// One POST; `true` when the endpoint answered 2xx.
async fn attempt(shared: &Shared, client: &HttpClient, t: &Target, n: u32) -> bool {
    let ts = now();
    let req = http::Request::post(&t.url)
        .header(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .header(
            http::header::USER_AGENT,
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        )
        .header(
            "stripe-signature",
            signature_header(&t.secret, ts, &t.payload),
        )
        .body(Full::new(t.payload.clone()));
    let (status, error) = match req {
        Err(e) => (None, Some(e.to_string())),
        Ok(req) => match tokio::time::timeout(t.timeout, client.request(req)).await {
            Err(_) => (None, Some("timeout".to_owned())),
            Ok(Err(e)) => (None, Some(e.to_string())),
            Ok(Ok(resp)) => {
                let status = resp.status().as_u16();
                let _ = resp.into_body().collect().await;
                (Some(status), None)
            }
        },
    };
    tracing::debug!(event = %t.event_id, attempt = n, ?status, ?error, "webhook delivery");
    shared.delivery.record(DeliveryRecord {
        event_id: t.event_id.clone(),
        event_type: t.event_type.clone(),
        attempt: n,
        status,
        error,
        at: ts,
    });
    matches!(status, Some(s) if (200..300).contains(&s))
}
