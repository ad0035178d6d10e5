//! Payments through Stripe Connect, against the local Stripe simulator:
//! the real router served on a loopback port (the simulator posts signed
//! webhooks to it) and the real job handlers run in the foreground.

mod autopay;
mod autopay_move;
mod checkout;
mod fees;
mod live;
mod no_card_data;
mod onboarding;
mod pages;
mod payouts;
mod refunds;
mod sweep;
mod webhooks;

use crate::support::seed::{self, Seeded};
use crate::support::{TestApp, TestDb, app::TestResponse};
use aqueduct_api::{AppState, Settings};
use aqueduct_core::{Clock, Secret, SystemClock};
use aqueduct_jobs::Worker;
use aqueduct_payments::{Stripe, StripeSettings};
use aqueduct_stripe_sim::{DeliveryOptions, Sim, SimConfig};
use axum::body::Body;
use http::{Method, Request};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

/// The product, the simulator and two associations.
pub struct PayEnv {
    /// The app (its router has Stripe configured).
    pub app: TestApp,
    /// The local Stripe.
    pub sim: Sim,
    /// Runs `stripe.event` jobs (and the payments jobs that call Stripe).
    pub worker: Worker,
    /// The app's Stripe client (for calling the payments core directly).
    pub stripe: Stripe,
    /// Association A.
    pub a: Seeded,
    /// Association B.
    pub b: Seeded,
}

/// Builds the environment with the simulator's delivery options.
pub async fn env(db: TestDb, delivery: DeliveryOptions) -> PayEnv {
    let mut app = TestApp::new(db).await;
    // The simulator signs with the real time: the app's clock must agree.
    app.clock.set(SystemClock.now());
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sim = Sim::start(SimConfig {
        webhook_url: Some(format!("http://{addr}/webhooks/stripe")),
        delivery,
        // Bank debits settle when a test says so.
        ach_settle_delay_ms: 3_600_000,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let stripe = stripe_for(&sim);
    let clock: Arc<dyn Clock> = app.clock.clone();
    let state = AppState::new(
        app.pool.clone(),
        clock.clone(),
        Settings {
            public_url: "http://aqueduct.test".into(),
            tls: false,
            trusted_proxy: false,
        },
    )
    .with_stripe(stripe.clone());
    let (router, routes) = aqueduct_api::app(state);
    app.router = router.clone();
    app.routes = routes;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let registry = aqueduct_server::worker::with_payments(
        aqueduct_server::worker::registry(&app.pool, &clock),
        &app.pool,
        &clock,
        Some(stripe.clone()),
    );
    let worker = Worker::new(app.pool.clone(), clock, registry, "test-worker");
    PayEnv {
        app,
        sim,
        worker,
        stripe,
        a,
        b,
    }
}

/// A Stripe client for `sim` (the retired secret is still accepted, as in a rotation).
pub fn stripe_for(sim: &Sim) -> Stripe {
    Stripe::new(StripeSettings {
        secret_key: Secret::new(sim.secret_key()),
        webhook_secrets: vec![
            Secret::new("whsec_retired"),
            Secret::new(sim.webhook_secret()),
        ],
        api_base: Some(sim.base_url()),
        public_url: "http://aqueduct.test".into(),
    })
    .unwrap()
}

/// A blocking HTTP/1.1 POST (form body) → (status, body).
pub fn post_form(url: &str, body: &str) -> (u16, String) {
    let url = url::Url::parse(url).unwrap();
    let addr = format!(
        "{}:{}",
        url.host_str().unwrap(),
        url.port_or_known_default().unwrap()
    );
    let mut s = TcpStream::connect(addr).unwrap();
    let req = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{}",
        url.path(),
        body.len(),
        body
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

impl PayEnv {
    /// POST a simulator control route.
    pub async fn control(&self, path: &str, body: &str) -> (u16, String) {
        let url = self.sim.url(path);
        let body = body.to_owned();
        tokio::task::spawn_blocking(move || post_form(&url, &body))
            .await
            .unwrap()
    }

    /// Delivers every queued webhook, then runs every due job.
    pub async fn drain(&self) {
        self.sim.wait_for_deliveries().await;
        self.worker.run_until_idle().await.unwrap();
    }

    /// Connects and onboards `who`'s Stripe account; returns `acct_…`.
    pub async fn onboard(&self, who: &Seeded) -> String {
        let res = self
            .app
            .request(
                Method::POST,
                "/api/v1/stripe/connect",
                Some(who.admin_key.expose()),
                None,
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        let acct = self.status(who).await["stripe_account_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (code, _) = self
            .control(&format!("/_sim/accounts/{acct}/onboard"), "")
            .await;
        assert_eq!(code, 200);
        self.drain().await;
        acct
    }

    /// `GET /api/v1/stripe/account`.
    pub async fn status(&self, who: &Seeded) -> Value {
        self.app
            .get("/api/v1/stripe/account", who.admin_key.expose())
            .await
            .json()
    }

    /// "Pay" on `who`'s account with an Idempotency-Key.
    pub async fn pay(&self, who: &Seeded, amount: Option<i64>, key: &str) -> TestResponse {
        let body = match amount {
            Some(c) => serde_json::json!({ "amount_cents": c }),
            None => serde_json::json!({}),
        };
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/accounts/{}/payments", who.account))
            .header(
                "authorization",
                format!("Bearer {}", who.admin_key.expose()),
            )
            .header("idempotency-key", key)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.app.send(req).await
    }

    /// Pays `amount` and finishes the hosted page with `action`; returns
    /// (payment id, Checkout Session id).
    pub async fn pay_with(&self, who: &Seeded, amount: i64, action: &str) -> (String, String) {
        let res = self
            .pay(who, Some(amount), &format!("k-{}", uuid::Uuid::new_v4()))
            .await;
        assert_eq!(res.status, 303, "{}", res.text);
        let payment = res.headers["x-payment-id"].to_str().unwrap().to_owned();
        let session = session_of(&res);
        let (code, text) = self
            .control(
                &format!("/_sim/checkout/sessions/{session}/complete"),
                &format!("action={action}"),
            )
            .await;
        assert!(code < 400, "{code} {text}");
        (payment, session)
    }

    /// `GET /api/v1/payments/{id}` as `who`.
    pub async fn payment(&self, who: &Seeded, id: &str) -> Value {
        let res = self
            .app
            .get(&format!("/api/v1/payments/{id}"), who.admin_key.expose())
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        res.json()
    }

    /// Rows in a table (as the schema owner, seeing every tenant).
    pub async fn count(&self, table: &str) -> i64 {
        use sea_orm::ConnectionTrait;
        let owner = self.app.db.owner().await;
        let row = owner
            .query_one_raw(sea_orm::Statement::from_string(
                owner.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }

    /// Rows of `table` matching the SQL condition `cond` (as the schema owner).
    pub async fn count_where(&self, table: &str, cond: &str) -> i64 {
        self.count(&format!("{table} WHERE {cond}")).await
    }

    /// A correctly signed webhook delivery of `payload` at Unix time `t`.
    pub async fn deliver(&self, payload: &str, secret: &str, t: i64) -> TestResponse {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/webhooks/stripe")
            .header(
                "stripe-signature",
                aqueduct_stripe_sim::signature_header(secret, t, payload.as_bytes()),
            )
            .header("content-type", "application/json")
            .body(Body::from(payload.to_owned()))
            .unwrap();
        self.app.send(req).await
    }
}

impl PayEnv {
    /// (balance in cents, entries of `kind`) of `who`'s account in the ledger.
    pub async fn ledger(&self, who: &Seeded, kind: &str) -> (i64, usize) {
        let tx = self.app.pool.tenant(&who.tenant).await.unwrap();
        let balance = aqueduct_billing::ledger::balance(&tx, who.account)
            .await
            .unwrap();
        let n = aqueduct_billing::ledger::for_account(&tx, who.account)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.kind == kind)
            .count();
        tx.commit().await.unwrap();
        (balance.cents, n)
    }
}

/// The Checkout Session id in a 303's Location.
pub fn session_of(res: &TestResponse) -> String {
    let loc = res.headers["location"].to_str().unwrap();
    loc.rsplit('/').next().unwrap().to_owned()
}
