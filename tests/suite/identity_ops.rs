//! Operator routes, staff sessions across tenants, and the log-capture
//! check that no password or token reaches the logs.

use crate::db_test;
use crate::support::browser::{self, Browser, PASSWORD};
use crate::support::{Engine, TestApp, TestDb, seed};
use aqueduct_api::RouteAccess;
use aqueduct_tenant::Role;
use http::Method;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

db_test!(operator_routes_need_an_operator_session, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    browser::staff(
        &app.pool,
        app.clock.as_ref(),
        &a.tenant,
        "admin@alpha.test",
        Role::Admin,
    )
    .await;
    browser::operator(&app.pool, app.clock.as_ref(), "ops@platform.test").await;
    let mut staff = Browser::default();
    staff.sign_in(&app, "admin@alpha.test", PASSWORD).await;
    let mut op = Browser::from_ip("198.51.100.50");
    let res = op.sign_in(&app, "ops@platform.test", PASSWORD).await;
    assert_eq!(res.json()["is_operator"], true);
    op.enrol_totp(&app).await;
    let specs: Vec<_> = app
        .routes
        .iter()
        .filter(|r| r.access == RouteAccess::Operator)
        .cloned()
        .collect();
    assert!(!specs.is_empty(), "no operator routes registered");
    for spec in &specs {
        let mut path = spec.path.to_owned();
        for p in spec.params() {
            assert_eq!(p, "slug", "add a fixture for {{{p}}} in {}", spec.path);
            path = path.replace("{slug}", "bravo");
        }
        let path = path.as_str();
        let body = (spec.method != Method::GET).then(|| {
            if spec.path.ends_with("/disclosure") {
                json!({"account_id": b.account.to_string(), "reason": "court order 1"})
            } else {
                json!({})
            }
        });
        let anon = Browser::default()
            .json(&app, spec.method.clone(), path, body.clone())
            .await;
        assert_eq!(anon.status, 401, "{} anonymous", spec.path);
        let key = app
            .request(
                spec.method.clone(),
                path,
                Some(a.admin_key.expose()),
                body.clone(),
            )
            .await;
        assert_eq!(key.status, 401, "{} with an API key", spec.path);
        let as_staff = staff
            .clone()
            .json(&app, spec.method.clone(), path, body.clone())
            .await;
        assert_eq!(as_staff.status, 403, "{} as association admin", spec.path);
        let as_op = op.clone().json(&app, spec.method.clone(), path, body).await;
        assert!(
            as_op.status.is_success(),
            "{} as operator: {}",
            spec.path,
            as_op.text
        );
    }
    let list = op.get(&app, "/api/v1/operator/tenants").await;
    let slugs: Vec<_> = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].clone())
        .collect();
    assert_eq!(slugs, vec![json!("alpha"), json!("bravo")]);
    assert!(
        !list.text.contains(&b.marker),
        "operators see counts, not data"
    );
    // Operators are not staff: tenant routes refuse them.
    assert_eq!(op.get(&app, "/api/v1/accounts").await.status, 403);
});

db_test!(staff_sessions_get_404_for_another_tenants_ids, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    browser::staff(
        &app.pool,
        app.clock.as_ref(),
        &a.tenant,
        "admin@alpha.test",
        Role::Admin,
    )
    .await;
    let mut staff = Browser::default();
    staff.sign_in(&app, "admin@alpha.test", PASSWORD).await;
    let mut probed = 0;
    for spec in app
        .routes
        .iter()
        .filter(|r| matches!(r.access, RouteAccess::Tenant(_)))
    {
        if spec.params().is_empty() {
            continue;
        }
        let mut own = spec.path.to_owned();
        let mut theirs = spec.path.to_owned();
        for p in spec.params() {
            own = own.replace(&format!("{{{p}}}"), &a.id_for(p));
            theirs = theirs.replace(&format!("{{{p}}}"), &b.id_for(p));
        }
        let body = (spec.method != Method::GET && spec.method != Method::DELETE).then(|| json!({}));
        if spec.method == Method::GET {
            assert_eq!(staff.clone().get(&app, &own).await.status, 200, "{own}");
        }
        let res = staff
            .clone()
            .json(&app, spec.method.clone(), &theirs, body)
            .await;
        assert_eq!(
            res.status, 404,
            "{} {}: {}",
            spec.method, spec.path, res.text
        );
        assert!(!res.text.contains(&b.marker));
        probed += 1;
    }
    assert!(probed >= 3);
});

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

/// Every log line of the sign-in, reset and password-change flows, at
/// TRACE, holds no password, session id, CSRF token or reset token.
#[tokio::test(flavor = "current_thread")]
async fn no_password_or_token_reaches_the_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .json()
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let db = TestDb::new(Engine::Sqlite).await.unwrap();
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    browser::staff(
        &app.pool,
        app.clock.as_ref(),
        &a.tenant,
        "clerk@alpha.test",
        Role::Clerk,
    )
    .await;
    let mut b = Browser::default();
    let wrong = "Wrong-Pass-Marker-1";
    b.sign_in(&app, "clerk@alpha.test", wrong).await;
    b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    let cookie = b.cookie.clone().unwrap();
    let csrf = b.csrf.clone().unwrap();
    let new_password = "Changed-Pass-Marker-2";
    let res = b
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/password",
            Some(json!({"current_password": PASSWORD, "new_password": new_password})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    b.json(
        &app,
        Method::POST,
        "/api/v1/auth/password-reset",
        Some(json!({"email":"clerk@alpha.test"})),
    )
    .await;
    let mail = app.mailer.sent();
    let token = browser::token_in(&mail[0].body);
    let reset_password = "Reset-Pass-Marker-3";
    let res = b
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/password-reset/confirm",
            Some(json!({"token": token, "new_password": reset_password})),
        )
        .await;
    assert_eq!(res.status, 204);
    // A malformed body must not echo the password in an error log either.
    b.json(
        &app,
        Method::POST,
        "/api/v1/auth/sign-in",
        Some(json!({"email":"x@y.z","password":wrong,"extra":1})),
    )
    .await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("request finished"),
        "the capture saw the requests"
    );
    for secret in [
        wrong,
        PASSWORD,
        new_password,
        reset_password,
        &cookie,
        &csrf,
        &token,
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
    assert!(
        !logs.contains("$argon2id$"),
        "a password hash reached the logs"
    );
}

/// `aqueduct operator create --password-stdin` sets a working password;
/// without the flag it prints a single-use link instead.
#[tokio::test]
async fn operator_create_sets_a_password_or_prints_a_link() {
    use std::process::{Command, Stdio};
    let db = TestDb::new(Engine::Sqlite).await.unwrap();
    let run = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_aqueduct"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &db.app_url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let weak = run(
        &[
            "operator",
            "create",
            "--email",
            "a@ops.test",
            "--password-stdin",
        ],
        "password\n",
    );
    assert!(!weak.status.success(), "a common password is refused");
    let ok = run(
        &[
            "operator",
            "create",
            "--email",
            "a@ops.test",
            "--password-stdin",
        ],
        "quiet harbor lights\n",
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let out = String::from_utf8_lossy(&ok.stdout).into_owned();
    assert!(
        out.contains("password set") && !out.contains("quiet harbor"),
        "{out}"
    );
    let link = run(&["operator", "create", "--email", "b@ops.test"], "");
    let out = String::from_utf8_lossy(&link.stdout).into_owned();
    assert!(out.contains("/login/reset?token="), "{out}");
    let token = out.split("token=").nth(1).unwrap().trim().to_owned();

    let app = TestApp::new(db).await;
    let mut b = Browser::default();
    assert_eq!(
        b.sign_in(&app, "a@ops.test", "quiet harbor lights")
            .await
            .status,
        200
    );
    let res = Browser::from_ip("198.51.100.60")
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/password-reset/confirm",
            Some(json!({"token": token, "new_password": "second operator pass"})),
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
    assert_eq!(
        Browser::from_ip("198.51.100.61")
            .sign_in(&app, "b@ops.test", "second operator pass")
            .await
            .status,
        200
    );
}

/// `aqueduct demo` gives the demo staff a known password and prints it.
#[tokio::test]
async fn demo_staff_sign_in_with_the_printed_password() {
    let db = TestDb::new(Engine::Sqlite).await.unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aqueduct"))
        .arg("demo")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.app_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let password = text
        .split("with password \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let app = TestApp::new(db).await;
    let mut b = Browser::default();
    let res = b.sign_in(&app, "admin@demo.example.org", &password).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.json()["active_tenant"], "demo");
    let list = b.get(&app, "/api/v1/accounts?limit=1").await;
    assert_eq!(list.status, 200, "{}", list.text);
}

db_test!(changing_the_password_rotates_the_session_id, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    browser::staff(
        &app.pool,
        app.clock.as_ref(),
        &a.tenant,
        "clerk@alpha.test",
        Role::Clerk,
    )
    .await;
    let mut b = Browser::default();
    b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    let before = b.clone();
    let res = b
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/password",
            Some(json!({"current_password": PASSWORD, "new_password": "a-new-pass-for-me"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_ne!(b.cookie, before.cookie, "new session id");
    assert_ne!(b.csrf, before.csrf, "new CSRF token");
    assert_eq!(b.get(&app, "/api/v1/accounts").await.status, 200);
    assert_eq!(
        before.clone().get(&app, "/api/v1/accounts").await.status,
        401,
        "the old id is dead"
    );
});

db_test!(login_form_posts_are_in_the_route_table, |db| {
    let app = TestApp::new(db).await;
    for path in [
        "/login",
        "/login/forgot",
        "/login/reset",
        "/login/second-factor",
        "/invite",
    ] {
        for method in [Method::GET, Method::POST] {
            assert!(
                app.routes.iter().any(|r| r.method == method
                    && r.path == path
                    && r.access == RouteAccess::Public),
                "{method} {path} missing from the route table"
            );
        }
    }
});
