//! The application on a test database, driven through its real router.

use super::db::TestDb;
use aqueduct_api::{AppState, AuthSettings, RouteSpec, Settings};
use aqueduct_core::ManualClock;
use aqueduct_tenant::Db;
use aqueduct_tenant::mailer::MemoryMailer;
use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

/// The app plus handles tests need.
pub struct TestApp {
    /// The database (kept alive for the app's lifetime).
    pub db: TestDb,
    /// The application's pool.
    pub pool: Db,
    /// The clock the app reads.
    pub clock: Arc<ManualClock>,
    /// The router.
    pub router: Router,
    /// Every route and who may call it.
    pub routes: Vec<RouteSpec>,
    /// Every email the app sent.
    pub mailer: MemoryMailer,
}

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body text.
    pub text: String,
    /// Body bytes (binary responses such as PDFs).
    pub bytes: Vec<u8>,
}

impl TestResponse {
    /// The body as JSON (panics with the text when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

/// The key the test app seals TOTP keys with.
pub const TOTP_KEY: [u8; 32] = [42; 32];

/// The key the test app signs email links (one-click unsubscribe) with.
pub const LINK_KEY: [u8; 32] = [43; 32];

/// The fixed start of test time.
pub fn t0() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-02T15:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc)
}

impl TestApp {
    /// Builds the app on `db`.
    pub async fn new(db: TestDb) -> Self {
        Self::new_with(db, |s| s).await
    }

    /// Builds the app on `db`, letting `configure` add to its state (e.g.
    /// a single sign-on provider).
    pub async fn new_with(db: TestDb, configure: impl FnOnce(AppState) -> AppState) -> Self {
        let pool = db
            .app_pool(5)
            .await
            .with_seal_key(aqueduct_tenant::sealed::SealKey::from_bytes(&TOTP_KEY))
            .with_links(aqueduct_tenant::links::Links::new(
                "http://aqueduct.test",
                aqueduct_tenant::links::LinkKey::from_bytes(&LINK_KEY),
            ));
        let clock = Arc::new(ManualClock::new(t0()));
        let state = AppState::new(
            pool.clone(),
            clock.clone(),
            Settings {
                public_url: "http://aqueduct.test".into(),
                tls: false,
                trusted_proxy: true,
            },
        );
        let mailer = MemoryMailer::default();
        let state = state.with_auth(AuthSettings::default(), Arc::new(mailer.clone()));
        let (router, routes) = aqueduct_api::app(configure(state));
        Self {
            db,
            pool,
            clock,
            router,
            routes,
            mailer,
        }
    }

    /// Sends one request through the router.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> TestResponse {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(k) = key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        self.send(req).await
    }

    /// Sends a prepared request.
    pub async fn send(&self, req: Request<Body>) -> TestResponse {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        TestResponse {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            bytes: bytes.to_vec(),
        }
    }

    /// `GET path` with an API key.
    pub async fn get(&self, path: &str, key: &str) -> TestResponse {
        self.request(Method::GET, path, Some(key), None).await
    }
}
