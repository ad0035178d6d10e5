//! Customer logins (issue #3, customers): password and emailed-link
//! sign-in, sign-up, linking accounts by account number + ZIP or staff
//! invitation, the customer permission check (X never reaches Y's account,
//! bill or receipt), suspension, session cookie, the customer pages and
//! "download my data". Both engines, through the real router.

use crate::db_test;
use crate::support::app::{TestApp, TestResponse};
use crate::support::audits::tenant_audit;
use crate::support::browser::{Browser, PASSWORD, token_in};
use crate::support::seed::{self, Seeded};
use aqueduct_billing::accounts::{self, AccountNumber, NewAccount};
use aqueduct_billing::locations::{self, NewLocation};
use aqueduct_core::{AccountId, LocationId, PaymentId, Secret, UserId};
use aqueduct_tenant::customers::{self, Via};
use aqueduct_tenant::{TenantStatus, credentials, users};
use axum::body::Body;
use chrono::{Duration, NaiveDate};
use http::Method;
use serde_json::json;
use std::io::Read;

/// A customer login with [`PASSWORD`] holding `accounts` of `s`.
pub async fn customer(app: &TestApp, s: &Seeded, email: &str, accounts: &[AccountId]) -> UserId {
    let (id, _) = users::ensure_person(&app.pool, app.clock.as_ref(), email)
        .await
        .unwrap();
    credentials::set_password(&app.pool, id, &Secret::new(PASSWORD))
        .await
        .unwrap();
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    for a in accounts {
        customers::link(&tx, app.clock.as_ref(), id, *a, Via::Invitation, "test")
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    id
}

/// A second account in `s` (its own location, ZIP 62702, holder carrying
/// `marker`) with a pending payment; returns both.
pub async fn neighbour(app: &TestApp, s: &Seeded, marker: &str) -> (AccountId, PaymentId) {
    let clock = app.clock.as_ref();
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let opened = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
    let loc = locations::create(
        &tx,
        clock,
        NewLocation {
            address_line1: format!("2 {marker} Ave"),
            address_line2: None,
            city: "Springfield".into(),
            state: "IL".into(),
            postal_code: "62702".into(),
            route: None,
            sequence: None,
        },
    )
    .await
    .unwrap();
    let a = accounts::create(
        &tx,
        clock,
        NewAccount {
            number: AccountNumber::parse("200-2").unwrap(),
            holder_name: format!("Holder {marker}"),
            email: Some("neighbour@example.com".into()),
            phone: None,
            mailing: None,
            opened_on: opened,
            paperless: false,
        },
    )
    .await
    .unwrap();
    let id = AccountId::from_uuid(a.id);
    locations::move_in(&tx, id, LocationId::from_uuid(loc.id), opened)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let p = aqueduct_payments::checkout::record_pending(
        &app.pool,
        &s.tenant,
        clock,
        id,
        aqueduct_core::Money::usd(1_000),
        "neighbour",
    )
    .await
    .unwrap();
    (id, p)
}

async fn sign_in(
    app: &TestApp,
    b: &mut Browser,
    slug: &str,
    email: &str,
    pw: &str,
) -> TestResponse {
    b.json(
        app,
        Method::POST,
        "/api/v1/customer/sign-in",
        Some(json!({ "slug": slug, "email": email, "password": pw })),
    )
    .await
}

async fn alpha(db: crate::support::TestDb) -> (TestApp, Seeded) {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    (app, a)
}

async fn suspend(app: &TestApp, s: &Seeded) {
    let tx = app
        .pool
        .platform(
            aqueduct_tenant::PlatformAccess {
                actor: "test".into(),
                reason: "suspend",
                request_id: None,
            },
            app.clock.as_ref(),
        )
        .await
        .unwrap();
    aqueduct_tenant::directory::set_status(
        &tx,
        app.clock.as_ref(),
        s.tenant.id(),
        TenantStatus::Suspended,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

db_test!(
    customer_password_sign_in_cookie_rotation_and_same_answers,
    |db| {
        let (app, a) = alpha(db).await;
        customer(&app, &a, "Pat@Example.com", &[a.account]).await;
        let mut b = Browser::default();
        let res = sign_in(&app, &mut b, "alpha", "pat@example.com", PASSWORD).await;
        assert_eq!(res.status, 200, "{}", res.text);
        let cookie = res.headers.get("set-cookie").unwrap().to_str().unwrap();
        assert!(cookie.starts_with("__Host-aqueduct="), "{cookie}");
        for attr in ["; Secure", "; HttpOnly", "; SameSite=Lax", "; Path=/"] {
            assert!(cookie.contains(attr), "{cookie} lacks {attr}");
        }
        assert_eq!(res.json()["association"], "alpha");
        assert_eq!(res.json()["accounts"][0], a.account.to_string());
        let first = b.cookie.clone().unwrap();
        // The id changes at every sign-in; the old one is dead.
        let again = sign_in(&app, &mut b, "alpha", "pat@example.com", PASSWORD).await;
        assert_eq!(again.status, 200);
        assert_ne!(b.cookie.clone().unwrap(), first);
        let mut stale = Browser {
            cookie: Some(first),
            ..Browser::default()
        };
        assert_eq!(
            stale.get(&app, "/api/v1/customer/session").await.status,
            401
        );
        // The customer reaches their own account, never a staff route.
        let own = b
            .get(&app, &format!("/api/v1/customer/accounts/{}", a.account))
            .await;
        assert_eq!(own.status, 200, "{}", own.text);
        assert!(
            own.json()["balance_cents"].as_i64().is_some(),
            "{}",
            own.text
        );
        assert!(own.json()["due_on"].is_string(), "{}", own.text);
        assert_eq!(b.get(&app, "/api/v1/accounts").await.status, 401);
        // Wrong password and unknown email get one answer.
        let mut other = Browser::from_ip("198.51.100.9");
        let wrong = sign_in(
            &app,
            &mut other,
            "alpha",
            "pat@example.com",
            "not-it-at-all",
        )
        .await;
        let unknown = sign_in(
            &app,
            &mut other,
            "alpha",
            "nobody@example.com",
            "not-it-at-all",
        )
        .await;
        assert_eq!(wrong.status, 401);
        let strip = |r: &TestResponse| {
            let mut j = r.json();
            j["error"]["request_id"] = json!(null);
            j
        };
        assert_eq!(strip(&wrong), strip(&unknown));
        // Throttled per account after repeated failures.
        let mut last = 0;
        for _ in 0..6 {
            last = sign_in(
                &app,
                &mut other,
                "alpha",
                "pat@example.com",
                "not-it-at-all",
            )
            .await
            .status
            .as_u16();
        }
        assert_eq!(last, 429);
        // Audited in the association's log.
        let log = tenant_audit(&app, &a).await;
        assert!(
            log.iter()
                .any(|e| e.action == "customer.sign_in" && e.outcome == "success")
        );
        // A staff API key is no customer.
        let res = app
            .get("/api/v1/customer/accounts", a.admin_key.expose())
            .await;
        assert_eq!(res.status, 401);
    }
);

db_test!(email_link_sign_in_is_single_use_and_expires, |db| {
    let (app, a) = alpha(db).await;
    customer(&app, &a, "pat@example.com", &[a.account]).await;
    let mut b = Browser::default();
    let ask = |b: &mut Browser, email: &'static str| {
        let mut b = b.clone();
        let app = &app;
        async move {
            b.json(
                app,
                Method::POST,
                "/api/v1/customer/sign-in-link",
                Some(json!({ "slug": "alpha", "email": email })),
            )
            .await
        }
    };
    let known = ask(&mut b, "pat@example.com").await;
    let unknown = ask(&mut b, "nobody@example.com").await;
    assert_eq!(known.status, 202);
    assert_eq!(known.text, unknown.text, "same answer either way");
    let sent = app.mailer.sent();
    assert_eq!(sent.len(), 1, "only the known email gets a link");
    assert_eq!(sent[0].to, "pat@example.com");
    let token = token_in(&sent[0].body);
    assert!(sent[0].body.contains("/alpha/link?token="));
    let confirm = |b: &mut Browser, token: String| {
        let mut b2 = b.clone();
        let app = &app;
        async move {
            let r = b2
                .json(
                    app,
                    Method::POST,
                    "/api/v1/customer/sign-in-link/confirm",
                    Some(json!({ "slug": "alpha", "token": token })),
                )
                .await;
            (r, b2)
        }
    };
    let (ok, mut signed) = confirm(&mut b, token.clone()).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(
        signed
            .get(&app, &format!("/api/v1/customer/accounts/{}", a.account))
            .await
            .status,
        200
    );
    // Single use.
    let (twice, _) = confirm(&mut Browser::default(), token).await;
    assert_eq!(twice.status, 422, "{}", twice.text);
    // Expiry: a fresh link, 16 minutes later, is refused.
    ask(&mut b, "pat@example.com").await;
    let token = token_in(&app.mailer.sent()[1].body);
    app.clock.advance(Duration::minutes(16));
    let (late, _) = confirm(&mut Browser::default(), token).await;
    assert_eq!(late.status, 422, "{}", late.text);
    let log = tenant_audit(&app, &a).await;
    assert!(
        log.iter()
            .any(|e| e.action == "customer.sign_in" && e.outcome == "failure")
    );
});

db_test!(
    a_sign_in_link_works_only_in_the_association_that_mailed_it,
    |db| {
        let (app, a) = alpha(db).await;
        seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
        customer(&app, &a, "pat@example.com", &[a.account]).await;
        let mut b = Browser::default();
        let asked = b
            .json(
                &app,
                Method::POST,
                "/api/v1/customer/sign-in-link",
                Some(json!({ "slug": "alpha", "email": "pat@example.com" })),
            )
            .await;
        assert_eq!(asked.status, 202, "{}", asked.text);
        let token = token_in(&app.mailer.sent()[0].body);
        let confirm = |slug: &'static str, token: String| {
            let app = &app;
            async move {
                let mut b = Browser::default();
                let r = b
                    .json(
                        app,
                        Method::POST,
                        "/api/v1/customer/sign-in-link/confirm",
                        Some(json!({ "slug": slug, "token": token })),
                    )
                    .await;
                (r, b)
            }
        };
        // Alpha's link at bravo's address: refused, and no session cookie.
        let (elsewhere, mut other) = confirm("bravo", token.clone()).await;
        assert_eq!(elsewhere.status, 422, "{}", elsewhere.text);
        assert_eq!(
            other.get(&app, "/api/v1/customer/session").await.status,
            401,
            "no bravo session was started"
        );
        // The refusal did not use the link up: it still works at alpha.
        let (home, mut signed) = confirm("alpha", token).await;
        assert_eq!(home.status, 200, "{}", home.text);
        assert_eq!(
            signed
                .get(&app, &format!("/api/v1/customer/accounts/{}", a.account))
                .await
                .status,
            200
        );
    }
);

db_test!(sign_up_then_link_by_account_and_zip, |db| {
    let (app, a) = alpha(db).await;
    let mut b = Browser::default();
    let res = b
        .json(
            &app,
            Method::POST,
            "/api/v1/customer/sign-up",
            Some(json!({ "slug": "alpha", "email": "new@example.com" })),
        )
        .await;
    assert_eq!(res.status, 202, "{}", res.text);
    let token = token_in(&app.mailer.sent()[0].body);
    let res = b
        .json(
            &app,
            Method::POST,
            "/api/v1/customer/sign-in-link/confirm",
            Some(json!({ "slug": "alpha", "token": token })),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.json()["accounts"], json!([]));
    // Not yet linked: the seeded account is 404.
    let path = format!("/api/v1/customer/accounts/{}", a.account);
    assert_eq!(b.get(&app, &path).await.status, 404);
    // Wrong ZIP refused.
    let linker = b.clone();
    let link = |zip: &'static str| {
        let mut b = linker.clone();
        let app = &app;
        async move {
            b.json(
                app,
                Method::POST,
                "/api/v1/customer/accounts",
                Some(json!({ "account_number": "100-1", "zip": zip })),
            )
            .await
        }
    };
    let wrong = link("99999").await;
    assert_eq!(wrong.status, 422, "{}", wrong.text);
    let right = link("62701").await;
    assert_eq!(right.status, 201, "{}", right.text);
    assert_eq!(right.json()["account_id"], a.account.to_string());
    assert_eq!(b.get(&app, &path).await.status, 200);
    // Guessing is throttled per account number.
    let mut last = 0;
    for _ in 0..10 {
        last = link("11111").await.status.as_u16();
    }
    assert_eq!(last, 429);
    let log = tenant_audit(&app, &a).await;
    assert!(
        log.iter()
            .any(|e| e.action == "customer.link_account" && e.outcome == "success")
    );
});

db_test!(staff_invitation_links_the_account, |db| {
    let (app, a) = alpha(db).await;
    let path = format!("/api/v1/accounts/{}/customer-invitations", a.account);
    let viewer = app
        .request(
            Method::POST,
            &path,
            Some(a.viewer_key.expose()),
            Some(json!({ "email": "invitee@example.com" })),
        )
        .await;
    assert_eq!(viewer.status, 403);
    let res = app
        .request(
            Method::POST,
            &path,
            Some(a.admin_key.expose()),
            Some(json!({ "email": "Invitee@Example.com" })),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let mail = &app.mailer.sent()[0];
    assert_eq!(mail.to, "invitee@example.com");
    let token = token_in(&mail.body);
    let mut b = Browser::default();
    let res = b
        .json(
            &app,
            Method::POST,
            "/api/v1/customer/sign-in-link/confirm",
            Some(json!({ "slug": "alpha", "token": token })),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.json()["accounts"][0], a.account.to_string());
    let log = tenant_audit(&app, &a).await;
    assert!(log.iter().any(|e| e.action == "customer.invited"));
});

db_test!(customer_x_never_sees_customer_y, |db| {
    let (app, a) = alpha(db).await;
    let (x_account, x_payment) = neighbour(&app, &a, "XCANARY").await;
    customer(&app, &a, "x@example.com", &[x_account]).await;
    customer(&app, &a, "y@example.com", &[a.account]).await;
    let mut x = Browser::default();
    assert_eq!(
        sign_in(&app, &mut x, "alpha", "x@example.com", PASSWORD)
            .await
            .status,
        200
    );
    let mut y = Browser::from_ip("198.51.100.8");
    assert_eq!(
        sign_in(&app, &mut y, "alpha", "y@example.com", PASSWORD)
            .await
            .status,
        200
    );
    let y_paths = [
        format!("/api/v1/customer/accounts/{}", a.account),
        format!(
            "/api/v1/customer/accounts/{}/bills/{}/document",
            a.account, a.bill
        ),
        format!(
            "/api/v1/customer/accounts/{}/payments/{}",
            a.account, a.payment
        ),
        // Y's objects under X's own account id.
        format!(
            "/api/v1/customer/accounts/{x_account}/bills/{}/document",
            a.bill
        ),
        format!(
            "/api/v1/customer/accounts/{x_account}/payments/{}",
            a.payment
        ),
        format!("/alpha/account/{}", a.account),
        format!("/alpha/account/{}/bills/{}", a.account, a.bill),
        format!("/api/v1/customer/accounts/{}/export", a.account),
    ];
    for p in &y_paths {
        if !p.contains(&x_account.to_string()) {
            let own = y.get(&app, p).await;
            assert_eq!(own.status, 200, "Y on {p}: {}", own.text);
        }
        let res = x.get(&app, p).await;
        assert_eq!(res.status, 404, "X on {p}: {}", res.text);
        assert!(!res.text.contains(&a.marker), "leak on {p}");
    }
    // X's own receipt works; Y cannot open it.
    let xp = format!("/api/v1/customer/accounts/{x_account}/payments/{x_payment}");
    assert_eq!(x.get(&app, &xp).await.status, 200);
    assert_eq!(y.get(&app, &xp).await.status, 404);
    // X's list shows only X's account.
    let list = x.get(&app, "/api/v1/customer/accounts").await;
    assert!(list.text.contains("XCANARY") && !list.text.contains(&a.marker));
    let log = tenant_audit(&app, &a).await;
    let denials = log
        .iter()
        .filter(|e| e.action == "access.not_found" && e.actor.starts_with("customer:"))
        .count();
    assert_eq!(denials, y_paths.len() + 1);
});

db_test!(suspended_tenant_refuses_customer_sign_in, |db| {
    let (app, a) = alpha(db).await;
    customer(&app, &a, "pat@example.com", &[a.account]).await;
    let mut live = Browser::default();
    assert_eq!(
        sign_in(&app, &mut live, "alpha", "pat@example.com", PASSWORD)
            .await
            .status,
        200
    );
    suspend(&app, &a).await;
    let mut b = Browser::from_ip("198.51.100.20");
    let res = sign_in(&app, &mut b, "alpha", "pat@example.com", PASSWORD).await;
    assert_eq!(res.status, 403, "{}", res.text);
    assert_eq!(res.json()["error"]["code"], "tenant_unavailable");
    assert!(res.headers.get("set-cookie").is_none());
    let link = b
        .json(
            &app,
            Method::POST,
            "/api/v1/customer/sign-in-link",
            Some(json!({ "slug": "alpha", "email": "pat@example.com" })),
        )
        .await;
    assert_eq!(link.status, 403);
    assert!(app.mailer.sent().is_empty());
    // A session from before the suspension reaches nothing.
    let res = live.get(&app, "/api/v1/customer/accounts").await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["error"]["code"], "tenant_unavailable");
});

db_test!(dsar_download_holds_own_data_only, |db| {
    let (app, a) = alpha(db).await;
    let bravo = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    let (x_account, _) = neighbour(&app, &a, "NEIGHBOURCANARY").await;
    customer(&app, &a, "pat@example.com", &[a.account]).await;
    customer(&app, &bravo, "pat@example.com", &[bravo.account]).await;
    customer(&app, &a, "x@example.com", &[x_account]).await;
    let mut b = Browser::default();
    assert_eq!(
        sign_in(&app, &mut b, "alpha", "pat@example.com", PASSWORD)
            .await
            .status,
        200
    );
    let res = app
        .send(
            b.build(Method::GET, &format!("/alpha/account/{}/export", a.account))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.headers["content-type"], "application/zip");
    // The body went through `text` lossily; read it again as bytes.
    let req = b
        .build(Method::GET, &format!("/alpha/account/{}/export", a.account))
        .body(Body::empty())
        .unwrap();
    let bytes = {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let r = app.router.clone().oneshot(req).await.unwrap();
        r.into_body().collect().await.unwrap().to_bytes().to_vec()
    };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut everything = String::new();
    for i in 0..archive.len() {
        archive
            .by_index(i)
            .unwrap()
            .read_to_string(&mut everything)
            .unwrap();
    }
    assert!(everything.contains(&a.marker), "own data missing");
    assert!(everything.contains("pat@example.com"), "own login missing");
    assert!(
        !everything.contains(&bravo.marker),
        "another association leaked"
    );
    assert!(
        !everything.contains("NEIGHBOURCANARY"),
        "another customer leaked"
    );
    let log = tenant_audit(&app, &a).await;
    assert!(
        log.iter()
            .any(|e| e.actor.starts_with("customer:") && e.action.contains("export")),
        "the export is audited: {:?}",
        log.iter().map(|e| e.action.clone()).collect::<Vec<_>>()
    );
});

fn form(b: &Browser, path: &str, body: String) -> http::Request<Body> {
    b.build(Method::POST, path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

fn csrf_in(html: &str) -> String {
    html.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no csrf token in {html}"))[..64]
        .to_owned()
}

db_test!(customer_pages_work_without_javascript, |db| {
    let (app, a) = alpha(db).await;
    customer(&app, &a, "pat@example.com", &[a.account]).await;
    let mut b = Browser::default();
    // Not signed in: the account pages send to the sign-in form.
    let res = b.get(&app, "/alpha/account").await;
    assert_eq!(res.status, 303);
    assert_eq!(res.headers["location"], "/alpha/signin");
    let page = b.get(&app, "/alpha/signin").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("action=\"/alpha/signin\""));
    let bad = b
        .send(
            &app,
            form(
                &b,
                "/alpha/signin",
                "email=pat%40example.com&password=wrong-password".to_owned(),
            ),
        )
        .await;
    assert_eq!(bad.status, 401);
    assert!(bad.headers.get("set-cookie").is_none());
    let res = b
        .send(
            &app,
            form(
                &b,
                "/alpha/signin",
                format!("email=pat%40example.com&password={PASSWORD}"),
            ),
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.text);
    assert_eq!(res.headers["location"], "/alpha/account");
    let list = b.get(&app, "/alpha/account").await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert!(list.text.contains("100-1"));
    let page = b.get(&app, &format!("/alpha/account/{}", a.account)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains("<svg class=\"usage\""),
        "the usage chart"
    );
    assert!(
        page.text.contains("id=\"usage-table\""),
        "the table alternative"
    );
    assert!(
        page.text
            .contains(&format!("/alpha/account/{}/bills/{}", a.account, a.bill))
    );
    // Paperless on through the settings form (needs the CSRF token).
    let settings = b
        .get(&app, &format!("/alpha/account/{}/settings", a.account))
        .await;
    assert_eq!(settings.status, 200, "{}", settings.text);
    let token = csrf_in(&settings.text);
    let path = format!("/alpha/account/{}/settings", a.account);
    let no_token = b
        .send(
            &app,
            form(&b, &path, "paperless=on&email=pat%40example.com".into()),
        )
        .await;
    assert_eq!(no_token.status, 403, "CSRF refused");
    let res = b
        .send(
            &app,
            form(
                &b,
                &path,
                format!(
                    "csrf_token={token}&paperless=on&email=pat%40example.com&phone=&language=es"
                ),
            ),
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.text);
    let json = b
        .get(&app, &format!("/api/v1/customer/accounts/{}", a.account))
        .await;
    assert_eq!(json.json()["paperless"], true, "{}", json.text);
    assert_eq!(json.json()["email"], "pat@example.com");
    // Spanish.
    let es = b
        .get(&app, &format!("/alpha/account/{}?lang=es", a.account))
        .await;
    assert!(es.text.contains("Historial de facturas"), "{}", es.text);
    // The bill document opens for its customer.
    let bill = b
        .get(
            &app,
            &format!("/alpha/account/{}/bills/{}", a.account, a.bill),
        )
        .await;
    assert_eq!(bill.status, 200);
    assert!(bill.text.contains("Water bill no."));
    // Sign out ends the session.
    let list = b.get(&app, "/alpha/account").await;
    let token = csrf_in(&list.text);
    let out = b
        .send(
            &app,
            form(&b, "/alpha/signout", format!("csrf_token={token}")),
        )
        .await;
    assert_eq!(out.status, 303);
    assert_eq!(b.get(&app, "/alpha/account").await.status, 303);
});
