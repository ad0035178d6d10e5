//! The cross-tenant harness. Two associations with the same kinds of
//! objects; the route table (`aqueduct_api::app`) is walked so every tenant
//! route added later is covered without editing this file — except for a
//! fixture line when a route introduces a new kind of id.

use crate::db_test;
use crate::support::browser::{Browser, PASSWORD};
use crate::support::seed;
use crate::support::{TestApp, TestDb};
use aqueduct_api::{RouteAccess, RouteSpec};
use aqueduct_tenant::audit;
use http::Method;
use serde_json::json;

fn fill(spec: &RouteSpec, owner: &seed::Seeded) -> String {
    let mut path = spec.path.to_owned();
    for p in spec.params() {
        path = path.replace(&format!("{{{p}}}"), &owner.id_for(p));
    }
    path
}

/// A body for write routes: enough to get past shape checks, so the
/// isolation check is what answers.
fn body_for(spec: &RouteSpec) -> Option<serde_json::Value> {
    (spec.method != Method::GET && spec.method != Method::DELETE).then(|| json!({}))
}

async fn two_tenants(db: TestDb) -> (TestApp, seed::Seeded, seed::Seeded) {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    (app, a, b)
}

fn tenant_routes(app: &TestApp) -> Vec<RouteSpec> {
    let routes: Vec<_> = app
        .routes
        .iter()
        .filter(|r| matches!(r.access, RouteAccess::Tenant(_)))
        .cloned()
        .collect();
    assert!(
        routes.iter().filter(|r| !r.params().is_empty()).count() >= 3,
        "the route table lost its id routes"
    );
    routes
}

db_test!(another_tenants_ids_are_404_on_every_route, |db| {
    let (app, a, b) = two_tenants(db).await;
    let before = {
        let tx = app.pool.tenant(&a.tenant).await.unwrap();
        audit::recent(&tx, 1000).await.unwrap().len()
    };
    let mut probed = 0;
    for spec in tenant_routes(&app)
        .iter()
        .filter(|r| !r.params().is_empty())
    {
        // Sanity: the route works for the owner (else a 404 proves nothing).
        if spec.method == Method::GET {
            let own = app.get(&fill(spec, &a), a.admin_key.expose()).await;
            assert_eq!(
                own.status, 200,
                "{} {} for its owner: {}",
                spec.method, spec.path, own.text
            );
        }
        let res = app
            .request(
                spec.method.clone(),
                &fill(spec, &b),
                Some(a.admin_key.expose()),
                body_for(spec),
            )
            .await;
        assert_eq!(
            res.status, 404,
            "{} {} with bravo's ids as alpha: {}",
            spec.method, spec.path, res.text
        );
        assert!(
            !res.text.contains(&b.marker),
            "bravo's data leaked: {}",
            res.text
        );
        assert_eq!(res.json()["error"]["code"], "not_found");
        probed += 1;
    }
    // Each probe left an audit entry in alpha's log.
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let entries = audit::recent(&tx, 1000).await.unwrap();
    let denials = entries[..entries.len() - before]
        .iter()
        .filter(|e| e.action == "access.not_found" && e.outcome == "denied")
        .count();
    assert_eq!(denials, probed);
});

db_test!(lists_never_show_another_tenant, |db| {
    let (app, a, b) = two_tenants(db).await;
    for spec in tenant_routes(&app)
        .iter()
        .filter(|r| r.params().is_empty() && r.method == Method::GET)
    {
        let res = app.get(spec.path, a.admin_key.expose()).await;
        assert_eq!(res.status, 200, "{}: {}", spec.path, res.text);
        assert!(
            !res.text.contains(&b.marker),
            "{} leaked bravo's data",
            spec.path
        );
    }
    // And the positive control: alpha sees its own marker in its list.
    let mine = app.get("/api/v1/accounts", a.admin_key.expose()).await;
    assert!(mine.text.contains(&a.marker));
});

db_test!(every_tenant_route_needs_credentials_and_role, |db| {
    let (app, a, _b) = two_tenants(db).await;
    for spec in tenant_routes(&app) {
        let path = fill(&spec, &a);
        let anon = app
            .request(spec.method.clone(), &path, None, body_for(&spec))
            .await;
        assert_eq!(
            anon.status, 401,
            "{} {} without a key",
            spec.method, spec.path
        );
        let forged = app
            .request(
                spec.method.clone(),
                &path,
                Some("aqk_nope"),
                body_for(&spec),
            )
            .await;
        assert_eq!(
            forged.status, 401,
            "{} {} with a forged key",
            spec.method, spec.path
        );
        if let RouteAccess::Tenant(min) = spec.access
            && min > aqueduct_tenant::Role::Viewer
        {
            let res = app
                .request(
                    spec.method.clone(),
                    &path,
                    Some(a.viewer_key.expose()),
                    body_for(&spec),
                )
                .await;
            assert_eq!(res.status, 403, "{} {} as a viewer", spec.method, spec.path);
            assert_eq!(res.json()["error"]["code"], "forbidden");
        }
    }
});

/// Customer routes: `{slug}` is the caller's own association, every other
/// parameter names `owner`'s object.
fn fill_customer(spec: &RouteSpec, slug: &str, owner: &seed::Seeded) -> String {
    let mut path = spec.path.replace("{slug}", slug);
    for p in spec.params().into_iter().filter(|p| *p != "slug") {
        path = path.replace(&format!("{{{p}}}"), &owner.id_for(p));
    }
    path
}

fn customer_routes(app: &TestApp) -> Vec<RouteSpec> {
    let routes: Vec<_> = app
        .routes
        .iter()
        .filter(|r| r.access == RouteAccess::Customer)
        .cloned()
        .collect();
    assert!(
        routes
            .iter()
            .filter(|r| r.params().iter().any(|p| *p != "slug"))
            .count()
            >= 8,
        "the route table lost its customer id routes"
    );
    routes
}

async fn customer_browser(app: &TestApp, slug: &str, email: &str, ip: &str) -> Browser {
    let mut b = Browser::from_ip(ip);
    let res = b
        .json(
            app,
            Method::POST,
            "/api/v1/customer/sign-in",
            Some(json!({ "slug": slug, "email": email, "password": PASSWORD })),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    b
}

db_test!(
    customer_routes_reach_only_the_customers_own_accounts,
    |db| {
        let (app, a, b) = two_tenants(db).await;
        // Y holds alpha's seeded account; X is another customer of alpha.
        crate::customers::customer(&app, &a, "y@example.com", &[a.account]).await;
        let (x_account, _) = crate::customers::neighbour(&app, &a, "XSIDE").await;
        crate::customers::customer(&app, &a, "x@example.com", &[x_account]).await;
        let mut y = customer_browser(&app, "alpha", "y@example.com", "198.51.100.31").await;
        let mut x = customer_browser(&app, "alpha", "x@example.com", "198.51.100.32").await;
        let before = {
            let tx = app.pool.tenant(&a.tenant).await.unwrap();
            audit::recent(&tx, 1000).await.unwrap().len()
        };
        let mut probed = 0;
        for spec in customer_routes(&app)
            .iter()
            .filter(|r| r.params().iter().any(|p| *p != "slug"))
        {
            if spec.method == Method::GET {
                let own = y.get(&app, &fill_customer(spec, "alpha", &a)).await;
                assert_eq!(
                    own.status, 200,
                    "{} {} for its owner: {}",
                    spec.method, spec.path, own.text
                );
            }
            // Customer X vs Y (same association), then alpha's Y vs bravo's ids.
            for (who, path) in [
                (&mut x, fill_customer(spec, "alpha", &a)),
                (&mut y, fill_customer(spec, "alpha", &b)),
            ] {
                let res = who
                    .json(&app, spec.method.clone(), &path, body_for(spec))
                    .await;
                assert_eq!(res.status, 404, "{} {path}: {}", spec.method, res.text);
                assert!(!res.text.contains(&a.marker) && !res.text.contains(&b.marker));
                probed += 1;
            }
        }
        let tx = app.pool.tenant(&a.tenant).await.unwrap();
        let entries = audit::recent(&tx, 1000).await.unwrap();
        let denials = entries[..entries.len() - before]
            .iter()
            .filter(|e| e.action == "access.not_found" && e.actor.starts_with("customer:"))
            .count();
        assert_eq!(denials, probed);
    }
);

db_test!(every_customer_route_needs_a_customer_session, |db| {
    let (app, a, _b) = two_tenants(db).await;
    crate::support::browser::staff(
        &app.pool,
        app.clock.as_ref(),
        &a.tenant,
        "clerk@alpha.test",
        aqueduct_tenant::Role::Clerk,
    )
    .await;
    let mut staff = Browser::default();
    assert_eq!(
        staff
            .sign_in(&app, "clerk@alpha.test", PASSWORD)
            .await
            .status,
        200
    );
    for spec in customer_routes(&app) {
        let path = fill_customer(&spec, "alpha", &a);
        let page_get = spec.method == Method::GET && !spec.path.starts_with("/api/");
        let expected = if page_get { 303 } else { 401 };
        let anon = app
            .request(spec.method.clone(), &path, None, body_for(&spec))
            .await;
        assert_eq!(
            anon.status, expected,
            "{} {} anonymous",
            spec.method, spec.path
        );
        let key = app
            .request(
                spec.method.clone(),
                &path,
                Some(a.admin_key.expose()),
                body_for(&spec),
            )
            .await;
        assert_eq!(
            key.status, expected,
            "{} {} with an API key",
            spec.method, spec.path
        );
        let res = staff
            .json(&app, spec.method.clone(), &path, body_for(&spec))
            .await;
        assert_eq!(
            res.status, expected,
            "{} {} as staff",
            spec.method, spec.path
        );
    }
});

db_test!(deposit_refund_routes_refuse_another_tenants_refund, |db| {
    // The generic walk above probes `{refund_id}` with the seeded ledger
    // entry; here bravo has a real refund owed after a move-out.
    let (app, a, b) = two_tenants(db).await;
    let refund = crate::deposit_refunds::moved_out_with_refund(&app, &b).await;
    let body = json!({"method": "check", "check_number": "77", "paid_on": "2026-11-20"});
    for (path, payload) in [
        (
            format!("/api/v1/deposit-refunds/{refund}/payments"),
            Some(body),
        ),
        (
            format!("/app/deposits/refunds/{refund}/pay"),
            Some(json!({})),
        ),
    ] {
        let res = app
            .request(Method::POST, &path, Some(a.admin_key.expose()), payload)
            .await;
        assert_eq!(res.status, 404, "{path}: {}", res.text);
        assert!(!res.text.contains(&b.marker));
    }
    for path in [
        "/api/v1/deposit-refunds?status=all",
        "/app/deposits/refunds?status=all",
    ] {
        let res = app.get(path, a.admin_key.expose()).await;
        assert_eq!(res.status, 200, "{path}");
        assert!(!res.text.contains(&refund), "{path} listed bravo's refund");
        assert!(!res.text.contains(&b.marker), "{path} leaked bravo's data");
    }
    // Still owed to bravo's customer.
    let mine = app
        .get("/api/v1/deposit-refunds", b.admin_key.expose())
        .await
        .json();
    assert_eq!(mine[0]["refund_id"], refund.as_str());
    assert_eq!(mine[0]["status"], "owed");
});
