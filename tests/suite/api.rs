//! The HTTP contract: errors, request ids, headers, validation.

use crate::db_test;
use crate::support::TestApp;
use crate::support::seed;
use axum::body::Body;
use http::{Method, Request};
use serde_json::json;

db_test!(health_and_readiness, |db| {
    let app = TestApp::new(db).await;
    let h = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(h.status, 200);
    let r = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["migrations"], "current");
});

db_test!(errors_use_one_envelope_with_the_request_id, |db| {
    let app = TestApp::new(db).await;
    let req = Request::builder()
        .uri("/api/v1/accounts")
        .header("x-request-id", "trace-me-123")
        .body(Body::empty())
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.headers["x-request-id"], "trace-me-123");
    let body = res.json();
    assert_eq!(body["error"]["code"], "unauthenticated");
    assert_eq!(body["error"]["request_id"], "trace-me-123");

    // A hostile request id is replaced, not echoed.
    let req = Request::builder()
        .uri("/healthz")
        .header("x-request-id", "bad id <script>")
        .body(Body::empty())
        .unwrap();
    let res = app.send(req).await;
    let id = res.headers["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");

    // Unknown paths: JSON for API clients, a page for browsers.
    let res = app
        .request(Method::GET, "/api/v1/nothing-here", None, None)
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json()["error"]["code"], "not_found");
    let req = Request::builder()
        .uri("/no-such-association")
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    let page = app.send(req).await;
    assert_eq!(page.status, 404);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text.contains("couldn&#39;t find"), "{}", page.text);
});

db_test!(security_headers_on_every_response, |db| {
    let app = TestApp::new(db).await;
    for path in ["/", "/healthz", "/api/v1/accounts", "/missing"] {
        let res = app.request(Method::GET, path, None, None).await;
        assert_eq!(res.headers["x-content-type-options"], "nosniff", "{path}");
        assert!(
            res.headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert!(res.headers.contains_key("referrer-policy"));
        assert!(!res.headers.contains_key("access-control-allow-origin"));
        // Plain HTTP without a trusted proxy saying otherwise: no HSTS.
        assert!(!res.headers.contains_key("strict-transport-security"));
    }
    // Behind the trusted TLS-terminating proxy: HSTS for a year.
    let req = Request::builder()
        .uri("/healthz")
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(
        res.headers["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
});

db_test!(mass_assignment_is_refused, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    for extra in [
        json!({"tenant_id": b.tenant.id().to_string()}),
        json!({"balance": 0}),
        json!({"status": "closed"}),
        json!({"role": "admin"}),
    ] {
        let mut body = json!({
            "account_number": "200-7",
            "holder_name": "New Customer",
            "opened_on": "2026-10-01"
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let res = app
            .request(
                Method::POST,
                "/api/v1/accounts",
                Some(a.admin_key.expose()),
                Some(body),
            )
            .await;
        assert_eq!(res.status, 422, "{}", res.text);
        assert_eq!(res.json()["error"]["code"], "invalid");
    }
    // Nothing was created anywhere.
    let list = app
        .get("/api/v1/accounts?q=New%20Customer", a.admin_key.expose())
        .await;
    assert_eq!(list.json()["data"].as_array().unwrap().len(), 0);
    let list = app
        .get("/api/v1/accounts?q=New%20Customer", b.admin_key.expose())
        .await;
    assert_eq!(list.json()["data"].as_array().unwrap().len(), 0);
});

db_test!(create_account_validates_and_conflicts_by_constraint, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    let body = json!({
        "account_number": "300-1",
        "holder_name": "Rosa Ortega",
        "email": "Rosa@Example.com",
        "opened_on": "2026-10-01",
        "mailing_address": {"line1": "12 Main St", "line2": null, "city": "Springfield", "state": "IL", "postal_code": "62701"}
    });
    let created = app
        .request(
            Method::POST,
            "/api/v1/accounts",
            Some(a.admin_key.expose()),
            Some(body.clone()),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let dto = created.json();
    assert_eq!(dto["email"], "rosa@example.com");
    assert_eq!(dto["mailing_address"]["city"], "Springfield");
    let id = dto["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/accounts/{id}"), a.admin_key.expose())
            .await
            .status,
        200
    );

    // The same number again: 409 from the unique constraint.
    let dup = app
        .request(
            Method::POST,
            "/api/v1/accounts",
            Some(a.admin_key.expose()),
            Some(body.clone()),
        )
        .await;
    assert_eq!(dup.status, 409, "{}", dup.text);
    assert_eq!(dup.json()["error"]["code"], "conflict");
    // Another association may use the same number.
    let other = app
        .request(
            Method::POST,
            "/api/v1/accounts",
            Some(b.admin_key.expose()),
            Some(body),
        )
        .await;
    assert_eq!(other.status, 201, "{}", other.text);

    // Bad values: 422 with a message naming the problem.
    for (field, value, needle) in [
        ("account_number", json!("12 34"), "account number"),
        ("email", json!("not-an-email"), "email"),
        ("holder_name", json!("  "), "holder name"),
        ("opened_on", json!("2026-13-01"), "opened_on"),
    ] {
        let mut body =
            json!({"account_number": "400-1", "holder_name": "X", "opened_on": "2026-01-01"});
        body[field] = value;
        let res = app
            .request(
                Method::POST,
                "/api/v1/accounts",
                Some(a.admin_key.expose()),
                Some(body),
            )
            .await;
        assert_eq!(res.status, 422, "{field}: {}", res.text);
        let msg = res.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_lowercase();
        assert!(msg.contains(needle), "{field}: {msg}");
    }
});

db_test!(account_search_and_pagination, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    for (n, name) in [
        ("500-1", "Ann O'Neil"),
        ("500-2", "Bob 100% Smith"),
        ("500-3", "Cy_Young"),
    ] {
        let res = app
            .request(
                Method::POST,
                "/api/v1/accounts",
                Some(a.admin_key.expose()),
                Some(json!({"account_number": n, "holder_name": name, "opened_on": "2026-01-01"})),
            )
            .await;
        assert_eq!(res.status, 201);
    }
    let names = |v: serde_json::Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["holder_name"].as_str().unwrap().to_owned())
            .collect()
    };
    // Case-insensitive, and LIKE wildcards are literal.
    assert_eq!(
        names(
            app.get("/api/v1/accounts?q=o%27neil", a.admin_key.expose())
                .await
                .json()
        ),
        ["Ann O'Neil"]
    );
    assert_eq!(
        names(
            app.get("/api/v1/accounts?q=100%25", a.admin_key.expose())
                .await
                .json()
        ),
        ["Bob 100% Smith"]
    );
    assert_eq!(
        names(
            app.get("/api/v1/accounts?q=y_y", a.admin_key.expose())
                .await
                .json()
        ),
        ["Cy_Young"]
    );
    assert_eq!(
        names(
            app.get("/api/v1/accounts?q=500-", a.admin_key.expose())
                .await
                .json()
        )
        .len(),
        3
    );
    // Keyset pages cover everything exactly once.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/api/v1/accounts?limit=2&after={a}"),
            None => "/api/v1/accounts?limit=2".to_owned(),
        };
        let page = app.get(&path, a.admin_key.expose()).await.json();
        seen.extend(names(page.clone()));
        match page["next_after"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    // Unknown query parameters are refused rather than ignored.
    assert_eq!(
        app.get("/api/v1/accounts?tenant_id=x", a.admin_key.expose())
            .await
            .status,
        400
    );
});

db_test!(suspended_tenant_keys_stop_working, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    assert_eq!(
        app.get("/api/v1/association", a.admin_key.expose())
            .await
            .status,
        200
    );
    let tx = app
        .pool
        .platform(
            aqueduct_tenant::PlatformAccess {
                actor: "test".into(),
                reason: "tenant.suspend",
                request_id: None,
            },
            app.clock.as_ref(),
        )
        .await
        .unwrap();
    aqueduct_tenant::directory::set_status(
        &tx,
        app.clock.as_ref(),
        a.tenant.id(),
        aqueduct_tenant::TenantStatus::Suspended,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let res = app.get("/api/v1/association", a.admin_key.expose()).await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["error"]["code"], "tenant_unavailable");
    // The public page shows a notice instead of disappearing.
    let page = app.request(Method::GET, "/alpha", None, None).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("temporarily unavailable"));
});
