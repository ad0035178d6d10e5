//! Application state shared by every request.

use aqueduct_core::Clock;
use aqueduct_tenant::Db;
use std::sync::Arc;

/// Settings the HTTP layer needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Public base URL, e.g. `https://pay.example.org` (links in pages).
    pub public_url: String,
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
    /// Stripe, when configured (payments answer 503 without it).
    stripe: Option<aqueduct_payments::Stripe>,
}

impl AppState {
    /// Builds the state.
    pub fn new(db: Db, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                clock,
                settings,
                stripe: None,
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
    /// The same state with Stripe configured.
    pub fn with_stripe(self, stripe: aqueduct_payments::Stripe) -> Self {
        Self {
            inner: Arc::new(Inner {
                db: self.inner.db.clone(),
                clock: self.inner.clock.clone(),
                settings: self.inner.settings.clone(),
                stripe: Some(stripe),
            }),
        }
    }
    /// Stripe, when configured.
    pub fn stripe(&self) -> Option<&aqueduct_payments::Stripe> {
        self.inner.stripe.as_ref()
    }
}
