//! Reading the audit log: admins see only their association's entries,
//! operators see all (and that read is itself audited); filters by action,
//! actor and time; keyset pagination.

use crate::db_test;
use crate::support::audits::all_audit;
use crate::support::browser::{self, Browser, PASSWORD};
use crate::support::{TestApp, seed};
use aqueduct_core::Clock;
use aqueduct_tenant::TenantCtx;
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use chrono::Duration;
use serde_json::Value;

async fn entry(app: &TestApp, tenant: Option<&TenantCtx>, actor: &str, action: &str) {
    audit::record_now(
        &app.pool,
        app.clock.as_ref(),
        AuditEntry {
            tenant: tenant.map(TenantCtx::id),
            actor: actor.into(),
            action: action.into(),
            target: None,
            outcome: Outcome::Success,
            request_id: None,
            ip: None,
            details: Some(serde_json::json!({ "n": 1 })),
        },
    )
    .await
    .unwrap();
}

fn actions(page: &Value) -> Vec<String> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

db_test!(admins_read_their_own_log_with_filters_and_pages, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    entry(&app, Some(&a.tenant), "user:one", "test.first").await;
    app.clock.advance(Duration::minutes(10));
    let middle = app.clock.now();
    entry(&app, Some(&a.tenant), "user:two", "test.second").await;
    entry(&app, Some(&b.tenant), "user:three", "test.bravo").await;
    entry(&app, None, "cli", "test.platform").await;
    let key = a.admin_key.expose();

    let all = app.get("/api/v1/audit?limit=200", key).await;
    assert_eq!(all.status, 200, "{}", all.text);
    let j = all.json();
    let names = actions(&j);
    assert!(names.contains(&"test.first".to_owned()) && names.contains(&"test.second".to_owned()));
    assert!(!names.contains(&"test.bravo".to_owned()), "{names:?}");
    assert!(!names.contains(&"test.platform".to_owned()), "{names:?}");
    for e in j["entries"].as_array().unwrap() {
        assert_eq!(e["tenant_id"], a.tenant.id().uuid().to_string());
    }
    // Newest first; details come back as JSON.
    assert_eq!(
        names[..2],
        ["test.second".to_owned(), "test.first".to_owned()]
    );
    assert_eq!(j["entries"][0]["details"]["n"], 1);

    let prefix = app.get("/api/v1/audit?action=test.*", key).await.json();
    assert_eq!(actions(&prefix), ["test.second", "test.first"]);
    let exact = app.get("/api/v1/audit?action=test.first", key).await.json();
    assert_eq!(actions(&exact), ["test.first"]);
    let by_actor = app.get("/api/v1/audit?actor=user:two", key).await.json();
    assert_eq!(actions(&by_actor), ["test.second"]);
    let since = format!("/api/v1/audit?action=test.*&since={}", middle.to_rfc3339());
    let since = since.replace('+', "%2B");
    assert_eq!(actions(&app.get(&since, key).await.json()), ["test.second"]);
    let until = format!("/api/v1/audit?action=test.*&until={}", middle.to_rfc3339());
    let until = until.replace('+', "%2B");
    assert_eq!(actions(&app.get(&until, key).await.json()), ["test.first"]);

    // Pages of one.
    let p1 = app
        .get("/api/v1/audit?action=test.*&limit=1", key)
        .await
        .json();
    assert_eq!(actions(&p1), ["test.second"]);
    let next = p1["next_before"].as_str().expect("a next page").to_owned();
    let p2 = app
        .get(
            &format!("/api/v1/audit?action=test.*&limit=1&before={next}"),
            key,
        )
        .await
        .json();
    assert_eq!(actions(&p2), ["test.first"]);
    let p3 = app
        .get(
            &format!(
                "/api/v1/audit?action=test.*&limit=1&before={}",
                p2["next_before"].as_str().unwrap()
            ),
            key,
        )
        .await
        .json();
    assert!(actions(&p3).is_empty());
    assert!(p3["next_before"].is_null());

    // Only admins; never another association through a parameter.
    let viewer = app.get("/api/v1/audit", a.viewer_key.expose()).await;
    assert_eq!(viewer.status, 403, "{}", viewer.text);
    let other = app.get("/api/v1/audit?tenant=bravo", key).await;
    assert_eq!(other.status, 422, "{}", other.text);
    let op_route = app.get("/api/v1/operator/audit", key).await;
    assert!(
        matches!(op_route.status.as_u16(), 401 | 403),
        "{}",
        op_route.text
    );
});

db_test!(operators_read_every_log_and_that_read_is_audited, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    entry(&app, Some(&a.tenant), "user:one", "test.alpha").await;
    entry(&app, Some(&b.tenant), "user:two", "test.bravo").await;
    entry(&app, None, "cli", "test.platform").await;
    browser::operator(&app.pool, app.clock.as_ref(), "ops@platform.test").await;
    let mut op = Browser::from_ip("198.51.100.50");
    op.sign_in(&app, "ops@platform.test", PASSWORD).await;
    op.enrol_totp(&app).await;

    let all = op.get(&app, "/api/v1/operator/audit?action=test.*").await;
    assert_eq!(all.status, 200, "{}", all.text);
    let names = actions(&all.json());
    assert_eq!(names.len(), 3, "{names:?}");
    for n in ["test.alpha", "test.bravo", "test.platform"] {
        assert!(names.contains(&n.to_owned()), "{names:?}");
    }
    let bravo = op
        .get(&app, "/api/v1/operator/audit?action=test.*&tenant=bravo")
        .await
        .json();
    assert_eq!(actions(&bravo), ["test.bravo"]);
    let missing = op.get(&app, "/api/v1/operator/audit?tenant=nowhere").await;
    assert_eq!(missing.status, 404);
    let log = all_audit(&app).await;
    assert!(
        log.iter().any(|e| e.action == "platform.audit.read"),
        "the operator's read is itself audited"
    );
    // Staff sessions cannot use the operator route.
    browser::staff(
        &app.pool,
        app.clock.as_ref(),
        &a.tenant,
        "admin@alpha.test",
        aqueduct_tenant::Role::Admin,
    )
    .await;
    let mut staff = Browser::default();
    staff.sign_in(&app, "admin@alpha.test", PASSWORD).await;
    let denied = staff.get(&app, "/api/v1/operator/audit").await;
    assert_eq!(denied.status, 403, "{}", denied.text);
});
