//! No secret reaches the logs (SECURITY.md §F) in the flows added after the
//! sign-in/reset capture (`identity_ops::no_password_or_token_reaches_the_logs`):
//! single sign-on (client secret, state, nonce, PKCE verifier, code,
//! binding cookie), TOTP enrolment (the TOTP secret, recovery codes),
//! staff invitations and association sign-up (mailed tokens, API key,
//! first password). Captured at TRACE with a thread-local subscriber on a
//! current-thread runtime, so every task of the test (the HTTP client's
//! too) writes into it.

use crate::support::browser::{self, Browser, PASSWORD};
use crate::support::{Engine, TestApp, TestDb, oidc, seed};
use aqueduct_api::SsoProvider;
use aqueduct_core::Secret;
use aqueduct_tenant::Role;
use axum::body::Body;
use http::Method;
use sea_orm::EntityTrait;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn param(url: &str, name: &str) -> String {
    let q = url.split_once('?').unwrap().1;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

#[tokio::test(flavor = "current_thread")]
async fn no_secret_reaches_the_logs_in_sso_totp_invitation_and_sign_up() {
    let Some(p) = oidc::start(&oidc::user(
        json!({ "email": "clerk@alpha.test", "email_verified": true }),
    )) else {
        return;
    };
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .json()
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let client_secret = "Client-Secret-Marker-9";
    let provider = SsoProvider {
        issuer: p.issuer.clone(),
        client_id: "aqueduct-test".into(),
        client_secret: Secret::new(client_secret),
        label: "SSO".into(),
    };
    let db = TestDb::new(Engine::Sqlite).await.unwrap();
    let app = TestApp::new_with(db, move |s| s.with_sso(provider)).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    browser::staff(
        &app.pool,
        app.clock.as_ref(),
        &a.tenant,
        "clerk@alpha.test",
        Role::Clerk,
    )
    .await;

    // Single sign-on.
    let mut b = Browser::default();
    let req = b
        .build(Method::POST, "/auth/sso/start")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("provider=platform"))
        .unwrap();
    let started = b.send(&app, req).await;
    assert_eq!(started.status, 303, "{}", started.text);
    let url = started.headers["location"].to_str().unwrap().to_owned();
    let bind = started
        .headers
        .get_all("set-cookie")
        .iter()
        .find_map(|v| {
            let v = v.to_str().ok()?;
            v.strip_prefix("__Host-aqueduct-sso=")
                .map(|r| r.split(';').next().unwrap().to_owned())
        })
        .unwrap();
    let verifier = aqueduct_tenant::entity::sso_pending::Entity::find()
        .all(&app.db.owner().await)
        .await
        .unwrap()[0]
        .pkce_verifier
        .clone();
    let back = p.approve(&url);
    let (state, nonce, code) = (
        param(&url, "state"),
        param(&url, "nonce"),
        param(&back, "code"),
    );
    let path = back.strip_prefix(browser::ORIGIN).unwrap();
    let req = b
        .build(Method::GET, path)
        .header("cookie", format!("__Host-aqueduct-sso={bind}"))
        .body(Body::empty())
        .unwrap();
    let done = b.send(&app, req).await;
    assert_eq!(done.status, 303, "{}", done.text);
    let me = b.get(&app, "/api/v1/auth/session").await;
    assert_eq!(me.status, 200, "{}", me.text);
    let session = b.cookie.clone().unwrap();

    // TOTP enrolment.
    let start = b
        .json(&app, Method::POST, "/api/v1/auth/totp/enrolment", None)
        .await;
    assert_eq!(start.status, 200, "{}", start.text);
    let totp_secret = start.json()["secret"].as_str().unwrap().to_owned();
    let key = aqueduct_tenant::otp::base32_decode(&totp_secret).unwrap();
    let code_now = browser::totp_now(&app, &key);
    let confirmed = b
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/totp/enrolment/confirm",
            Some(json!({ "code": code_now })),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let recovery: Vec<String> = confirmed.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let csrf = b.csrf.clone().unwrap();

    // A staff invitation, accepted with a first password.
    let invited = app
        .request(
            Method::POST,
            "/api/v1/staff/invitations",
            Some(a.admin_key.expose()),
            Some(json!({ "email": "new@alpha.test", "role": "viewer" })),
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.text);
    let invite_token = browser::token_in(&app.mailer.sent().last().unwrap().body);
    let first_password = "Invite-Pass-Marker-7";
    let accepted = Browser::default()
        .json(
            &app,
            Method::POST,
            "/api/v1/invitations/accept",
            Some(json!({ "token": invite_token, "password": first_password })),
        )
        .await;
    assert!(accepted.status.is_success(), "{}", accepted.text);

    // Association sign-up.
    let signed_up = Browser::from_ip("203.0.113.77")
        .json(
            &app,
            Method::POST,
            "/api/v1/sign-up",
            Some(json!({
                "association_name": "Cedar Creek Water",
                "slug": "cedar-creek",
                "time_zone": "America/Denver",
                "admin_email": "founder@cedar.test",
            })),
        )
        .await;
    assert_eq!(signed_up.status, 202, "{}", signed_up.text);
    let signup_token = browser::token_in(&app.mailer.sent().last().unwrap().body);

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("request finished"),
        "the capture saw the requests"
    );
    assert!(
        logs.contains("/auth/sso/callback"),
        "the capture saw the SSO callback"
    );
    let mut secrets: Vec<&str> = vec![
        client_secret,
        &state,
        &nonce,
        &code,
        &verifier,
        &bind,
        &session,
        &csrf,
        &totp_secret,
        &invite_token,
        first_password,
        PASSWORD,
        &signup_token,
        a.admin_key.expose(),
    ];
    secrets.extend(recovery.iter().map(String::as_str));
    for s in secrets {
        assert!(s.len() >= 8, "a marker too short to mean anything");
        assert!(!logs.contains(s), "a secret reached the logs");
    }
}
