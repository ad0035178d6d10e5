#![doc = include_str!("../README.md")]

mod api;
mod config;
mod control;
mod ctx;
mod domain;
mod error;
mod form;
mod ids;
mod pages;
mod store;
mod webhook;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;
use tokio::task::JoinHandle;

pub use config::{DEFAULT_SECRET_KEY, DEFAULT_WEBHOOK_SECRET, DeliveryOptions, SimConfig};
pub use store::API_VERSION;
pub use webhook::{DeliveryRecord, sign, signature_header};

use store::Store;
use webhook::Delivery;

/// A stored idempotent response.
#[derive(Debug, Clone)]
struct Idem {
    path: String,
    params: Value,
    status: u16,
    body: axum::body::Bytes,
    request_id: String,
}

/// State shared by every handler and the webhook worker.
#[derive(Debug)]
struct Shared {
    /// `http://127.0.0.1:PORT` (no trailing slash), used in URLs the sim hands out.
    origin: String,
    /// Keys, webhook endpoint and delivery options.
    config: Mutex<SimConfig>,
    /// All objects and events.
    store: Mutex<Store>,
    /// Serialises POSTs so an idempotency check and the work it guards are atomic.
    gate: tokio::sync::Mutex<()>,
    /// Idempotency-Key (scoped by Stripe-Account) → first response.
    idem: Mutex<HashMap<(Option<String>, String), Idem>>,
    /// Webhook queue.
    delivery: Delivery,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn config(&self) -> SimConfig {
        lock(&self.config).clone()
    }

    /// Runs `f` on the store, then queues the events it emitted for delivery.
    fn with_store<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let config = self.config();
        let deliver = config.webhook_url.is_some();
        let (result, mut batch) = {
            let mut store = lock(&self.store);
            store.webhook_enabled = deliver;
            let result = f(&mut store);
            (result, std::mem::take(&mut store.outbox))
        };
        batch.retain(|e| {
            !config
                .delivery
                .drops(e["type"].as_str().unwrap_or_default())
        });
        if deliver && !batch.is_empty() {
            self.delivery.enqueue(batch);
        }
        result
    }
}

/// A running simulated Stripe.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use aqueduct_stripe_sim::{Sim, SimConfig};
/// let sim = Sim::start(SimConfig::default()).await?;
/// let base = sim.base_url(); // "http://127.0.0.1:PORT/" — give it to async-stripe's ClientBuilder::url
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Sim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
    worker: JoinHandle<()>,
}

impl Sim {
    /// Starts the sim on 127.0.0.1 with a free port.
    pub async fn start(config: SimConfig) -> std::io::Result<Self> {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts the sim on `addr`.
    pub async fn bind(addr: SocketAddr, config: SimConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (delivery, rx) = Delivery::new();
        let shared = Arc::new(Shared {
            origin: format!("http://{addr}"),
            config: Mutex::new(config),
            store: Mutex::new(Store::default()),
            gate: tokio::sync::Mutex::new(()),
            idem: Mutex::new(HashMap::new()),
            delivery,
        });
        let worker = tokio::spawn(webhook::worker(Arc::clone(&shared), rx));
        let app = api::router(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "stripe-sim server stopped");
            }
        });
        Ok(Self {
            shared,
            addr,
            server,
            worker,
        })
    }

    /// The socket the sim listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/` — the API base, with the trailing slash async-stripe expects.
    pub fn base_url(&self) -> String {
        format!("{}/", self.shared.origin)
    }

    /// `http://127.0.0.1:PORT{path}`, e.g. `sim.url("/v1/accounts")`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.shared.origin)
    }

    /// The secret key the sim accepts.
    pub fn secret_key(&self) -> String {
        self.shared.config().secret_key
    }

    /// The secret webhooks are signed with.
    pub fn webhook_secret(&self) -> String {
        self.shared.config().webhook_secret
    }

    /// The current configuration.
    pub fn config(&self) -> SimConfig {
        self.shared.config()
    }

    /// Changes the configuration (webhook URL, delivery options…) while running.
    pub fn update_config(&self, f: impl FnOnce(&mut SimConfig)) {
        f(&mut lock(&self.shared.config));
    }

    /// Every event emitted so far, oldest first (as `GET /_sim/events` returns them).
    pub fn events(&self) -> Vec<Value> {
        lock(&self.shared.store).events.clone()
    }

    /// Events of one type, oldest first.
    pub fn events_of_type(&self, kind: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["type"] == kind)
            .collect()
    }

    /// Waits until every queued webhook delivery has succeeded or used up its retries
    /// (bank payments that have not settled yet have queued nothing).
    pub async fn wait_for_deliveries(&self) {
        self.shared.delivery.wait_idle().await;
    }

    /// Every delivery attempt made so far.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        lock(&self.shared.delivery.log).clone()
    }

    /// Any stored object by id, whoever owns it.
    pub fn object(&self, id: &str) -> Option<Value> {
        lock(&self.shared.store).raw(id).map(|o| o.json.clone())
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.server.abort();
        self.worker.abort();
    }
}
