//! Application state shared by every request.

use aqueduct_core::Clock;
use aqueduct_tenant::Db;
use std::sync::Arc;

/// Settings the HTTP layer needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Public base URL, e.g. `https://pay.example.org` (links in pages).
    pub public_url: String,
    /// Served over TLS (by us): send HSTS on every response.
    pub tls: bool,
    /// A trusted reverse proxy terminates TLS: believe `X-Forwarded-Proto`.
    pub trusted_proxy: bool,
}

/// Shared state: cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The database pool.
    db: Db,
    /// The injected clock (tests move it).
    clock: Arc<dyn Clock>,
    /// HTTP settings.
    settings: Settings,
    /// Request metrics.
    http_metrics: crate::metrics::HttpMetrics,
}

impl AppState {
    /// Builds the state.
    pub fn new(db: Db, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                clock,
                settings,
                http_metrics: crate::metrics::HttpMetrics::default(),
            }),
        }
    }
    /// The database.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }
    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }
    /// Settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }
    /// HTTP request metrics.
    pub fn http_metrics(&self) -> &crate::metrics::HttpMetrics {
        &self.inner.http_metrics
    }
}
