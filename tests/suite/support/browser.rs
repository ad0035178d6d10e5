//! A cookie-keeping client for sign-in tests: it sends what a browser on
//! our own pages sends (`Sec-Fetch-Site: same-origin`, our `Origin`) and
//! echoes the CSRF token it was given.

use super::app::{TestApp, TestResponse};
use aqueduct_core::Clock;
use aqueduct_tenant::{Db, Role, TenantCtx, credentials, users};
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{Method, Request};
use serde_json::{Value, json};
use std::net::SocketAddr;

/// The public origin the test app is configured with.
pub const ORIGIN: &str = "http://aqueduct.test";

/// One browser.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The session cookie value, when signed in.
    pub cookie: Option<String>,
    /// The CSRF token from the last sign-in/session answer.
    pub csrf: Option<String>,
    /// Client address the requests come from.
    pub ip: SocketAddr,
}

impl Default for Browser {
    fn default() -> Self {
        Self::from_ip("198.51.100.7")
    }
}

impl Browser {
    /// A browser at `ip`.
    pub fn from_ip(ip: &str) -> Self {
        Self {
            cookie: None,
            csrf: None,
            ip: SocketAddr::new(ip.parse().unwrap(), 40000),
        }
    }

    /// A request builder with this browser's headers.
    pub fn build(&self, method: Method, path: &str) -> http::request::Builder {
        let mut b = Request::builder()
            .method(method.clone())
            .uri(path)
            .extension(ConnectInfo(self.ip))
            .header("sec-fetch-site", "same-origin");
        if method != Method::GET {
            b = b.header("origin", ORIGIN);
        }
        if let Some(c) = &self.cookie {
            b = b.header("cookie", format!("{}={c}", aqueduct_api::COOKIE));
        }
        if let Some(t) = &self.csrf {
            b = b.header(aqueduct_api::CSRF_HEADER, t);
        }
        b
    }

    /// Sends a request built by [`Browser::build`], keeping cookies it sets.
    pub async fn send(&mut self, app: &TestApp, req: Request<Body>) -> TestResponse {
        let res = app.send(req).await;
        for v in res.headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (pair, _) = v.split_once(';').unwrap_or((v, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if name == aqueduct_api::COOKIE {
                self.cookie = (!value.is_empty()).then(|| value.to_owned());
            }
        }
        if let Some(t) = serde_json::from_str::<Value>(&res.text)
            .ok()
            .and_then(|j| j["csrf_token"].as_str().map(str::to_owned))
        {
            self.csrf = Some(t);
        }
        res
    }

    /// A JSON request.
    pub async fn json(
        &mut self,
        app: &TestApp,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> TestResponse {
        let b = self.build(method, path);
        let req = match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        }
        .unwrap();
        self.send(app, req).await
    }

    /// `GET path`.
    pub async fn get(&mut self, app: &TestApp, path: &str) -> TestResponse {
        self.json(app, Method::GET, path, None).await
    }

    /// `POST /api/v1/auth/sign-in`.
    pub async fn sign_in(&mut self, app: &TestApp, email: &str, password: &str) -> TestResponse {
        self.json(
            app,
            Method::POST,
            "/api/v1/auth/sign-in",
            Some(json!({ "email": email, "password": password })),
        )
        .await
    }
}

/// A password every test user gets.
pub const PASSWORD: &str = "river-stone-lantern-42";

/// Makes a staff member of `tenant` with `role` and [`PASSWORD`].
pub async fn staff(
    db: &Db,
    clock: &dyn Clock,
    tenant: &TenantCtx,
    email: &str,
    role: Role,
) -> aqueduct_core::UserId {
    let tx = db.tenant(tenant).await.unwrap();
    let id = users::ensure_staff(&tx, clock, email, "Test Staff", role)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    credentials::set_password(db, id, &aqueduct_core::Secret::new(PASSWORD))
        .await
        .unwrap();
    id
}

/// Makes a platform operator with [`PASSWORD`].
pub async fn operator(db: &Db, clock: &dyn Clock, email: &str) -> aqueduct_core::UserId {
    let id = users::create_operator(db, clock, email, "Test Operator")
        .await
        .unwrap();
    credentials::set_password(db, id, &aqueduct_core::Secret::new(PASSWORD))
        .await
        .unwrap();
    id
}

/// The TOTP code of `key` at the app clock's current step.
pub fn totp_now(app: &TestApp, key: &[u8]) -> String {
    use aqueduct_tenant::otp;
    otp::code_at_step(key, otp::step_at(app.clock.now().timestamp()), otp::DIGITS)
}

impl Browser {
    /// Enrols TOTP for the signed-in person; returns the key and the
    /// recovery codes.
    pub async fn enrol_totp(&mut self, app: &TestApp) -> (Vec<u8>, Vec<String>) {
        let start = self
            .json(app, Method::POST, "/api/v1/auth/totp/enrolment", None)
            .await;
        assert_eq!(start.status, 200, "{}", start.text);
        let secret = start.json()["secret"].as_str().unwrap().to_owned();
        let key = aqueduct_tenant::otp::base32_decode(&secret).unwrap();
        let code = totp_now(app, &key);
        let done = self
            .json(
                app,
                Method::POST,
                "/api/v1/auth/totp/enrolment/confirm",
                Some(json!({ "code": code })),
            )
            .await;
        assert_eq!(done.status, 200, "{}", done.text);
        let codes = done.json()["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        (key, codes)
    }

    /// `POST /api/v1/auth/second-factor`.
    pub async fn second_factor(&mut self, app: &TestApp, code: &str) -> TestResponse {
        self.json(
            app,
            Method::POST,
            "/api/v1/auth/second-factor",
            Some(json!({ "code": code })),
        )
        .await
    }
}

/// A fresh app with association `alpha` and one staff member `email` with
/// `role` and the password [`PASSWORD`].
pub async fn alpha_with(
    db: super::TestDb,
    email: &str,
    role: Role,
) -> (TestApp, super::seed::Seeded) {
    let app = TestApp::new(db).await;
    let a = super::seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    staff(&app.pool, app.clock.as_ref(), &a.tenant, email, role).await;
    (app, a)
}

/// The token in a mailed link (`…token=<token>`), up to the next space.
pub fn token_in(body: &str) -> String {
    body.split("token=")
        .nth(1)
        .unwrap_or_else(|| panic!("no token in {body}"))
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}
