//! Application state shared by every request.

use aqueduct_core::Clock;
use aqueduct_tenant::Db;
use aqueduct_tenant::auth_cache::AuthCache;
use aqueduct_tenant::mailer::{LogMailer, Mailer};
use aqueduct_tenant::sessions::SessionPolicy;
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

/// Sign-in and session settings (default: 30 min idle, 12 h absolute,
/// `Secure` cookie).
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthSettings {
    /// Session lifetimes.
    pub sessions: SessionPolicy,
    /// Drop `Secure` (and the `__Host-` prefix) from the session cookie:
    /// plain-HTTP development on localhost only.
    pub dev_insecure_cookie: bool,
}

/// Shared state: cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    /// The database pool.
    db: Db,
    /// The injected clock (tests move it).
    clock: Arc<dyn Clock>,
    /// HTTP settings.
    settings: Settings,
    /// Request metrics.
    http_metrics: Arc<crate::metrics::HttpMetrics>,
    /// Sign-in and session settings.
    auth: AuthSettings,
    /// Outgoing email.
    mailer: Arc<dyn Mailer>,
    /// Stripe, when configured (payments answer 503 without it).
    stripe: Option<aqueduct_payments::Stripe>,
    /// The platform's single sign-on provider, when configured.
    sso: Option<aqueduct_tenant::sso::ProviderSettings>,
    /// The in-process cache of sessions, associations and roles, when
    /// enabled (PostgreSQL with its listener; see `auth_cache`).
    auth_cache: Option<Arc<AuthCache>>,
}

impl AppState {
    /// Builds the state.
    pub fn new(db: Db, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                clock,
                settings,
                http_metrics: Arc::default(),
                auth: AuthSettings::default(),
                mailer: Arc::new(LogMailer),
                stripe: None,
                sso: None,
                auth_cache: None,
            }),
        }
    }
    /// The same state with other sign-in settings and mailer (call before
    /// the state is shared).
    pub fn with_auth(self, auth: AuthSettings, mailer: Arc<dyn Mailer>) -> Self {
        let inner = Arc::unwrap_or_clone(self.inner);
        Self {
            inner: Arc::new(Inner {
                auth,
                mailer,
                ..inner
            }),
        }
    }
    /// Sign-in settings.
    pub fn auth(&self) -> &AuthSettings {
        &self.inner.auth
    }
    /// Outgoing email.
    pub fn mailer(&self) -> &dyn Mailer {
        self.inner.mailer.as_ref()
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
    /// The same state with Stripe configured (call before the state is shared).
    pub fn with_stripe(self, stripe: aqueduct_payments::Stripe) -> Self {
        let inner = Arc::unwrap_or_clone(self.inner);
        Self {
            inner: Arc::new(Inner {
                stripe: Some(stripe),
                ..inner
            }),
        }
    }
    /// Stripe, when configured.
    pub fn stripe(&self) -> Option<&aqueduct_payments::Stripe> {
        self.inner.stripe.as_ref()
    }
    /// The same state with the platform's single sign-on provider
    /// (`[auth.oidc]`; call before the state is shared).
    pub fn with_sso(self, provider: aqueduct_tenant::sso::ProviderSettings) -> Self {
        let inner = Arc::unwrap_or_clone(self.inner);
        Self {
            inner: Arc::new(Inner {
                sso: Some(provider),
                ..inner
            }),
        }
    }
    /// The platform's single sign-on provider, when configured.
    pub fn sso(&self) -> Option<&aqueduct_tenant::sso::ProviderSettings> {
        self.inner.sso.as_ref()
    }
    /// The same state with the authentication cache (call before the
    /// state is shared; the caller runs its listener).
    pub fn with_auth_cache(self, cache: Arc<AuthCache>) -> Self {
        let inner = Arc::unwrap_or_clone(self.inner);
        Self {
            inner: Arc::new(Inner {
                auth_cache: Some(cache),
                ..inner
            }),
        }
    }
    /// The authentication cache, when enabled.
    pub fn auth_cache(&self) -> Option<&AuthCache> {
        self.inner.auth_cache.as_deref()
    }
}
