//! Sign-in, sessions, CSRF, throttling and password reset (SECURITY.md §E,
//! §F), through the real router on both engines.

use crate::db_test;
use crate::support::audits::all_audit;
use crate::support::browser::{self, Browser, PASSWORD};
use crate::support::seed;
use aqueduct_tenant::audit;
use aqueduct_tenant::entity::user;
use aqueduct_tenant::{Role, TenantStatus, credentials};
use axum::body::Body;
use chrono::Duration;
use http::Method;
use sea_orm::EntityTrait;
use serde_json::json;

db_test!(sign_in_sets_a_host_cookie_and_yields_a_staff_caller, |db| {
    let (app, a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
    let mut b = Browser::default();
    let res = b.sign_in(&app, "Clerk@Alpha.test", PASSWORD).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let cookie = res.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("__Host-aqueduct="), "{cookie}");
    for attr in ["; Secure", "; HttpOnly", "; SameSite=Lax", "; Path=/"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert_eq!(res.json()["active_tenant"], "alpha");
    assert_eq!(res.json()["memberships"][0]["role"], "clerk");
    // The session works on tenant routes as a Caller of alpha.
    let accounts = b.get(&app, "/api/v1/accounts").await;
    assert_eq!(accounts.status, 200, "{}", accounts.text);
    assert!(accounts.text.contains(&a.marker));
    // The stored hash is an argon2id PHC string with the required cost.
    let owner = app.db.owner().await;
    let users = user::Entity::find().all(&owner).await.unwrap();
    let clerk = users
        .iter()
        .find(|u| u.email == "clerk@alpha.test")
        .unwrap();
    let phc = clerk.password_hash.clone().unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    // Audited.
    let log = all_audit(&app).await;
    assert!(
        log.iter()
            .any(|e| e.action == "auth.sign_in" && e.outcome == "success")
    );
});

db_test!(wrong_password_and_unknown_email_get_the_same_answer, |db| {
    let (app, _a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
    let mut b = Browser::default();
    let wrong = b
        .sign_in(&app, "clerk@alpha.test", "not-the-password")
        .await;
    let unknown = b
        .sign_in(&app, "nobody@alpha.test", "not-the-password")
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, wrong.status);
    let strip = |r: &crate::support::app::TestResponse| {
        let mut j = r.json();
        j["error"]["request_id"] = json!(null);
        j
    };
    assert_eq!(strip(&wrong), strip(&unknown));
    assert!(wrong.headers.get("set-cookie").is_none());
    let log = all_audit(&app).await;
    let failures = log
        .iter()
        .filter(|e| e.action == "auth.sign_in" && e.outcome == "failure" && e.tenant_id.is_none())
        .count();
    assert_eq!(failures, 2);
    // The known staff member's failure is also in the association's log.
    let in_alpha = log
        .iter()
        .filter(|e| e.action == "auth.sign_in" && e.tenant_id == Some(_a.tenant.id().uuid()))
        .count();
    assert_eq!(in_alpha, 1);
    assert!(
        log.iter()
            .all(|e| !e.details.clone().unwrap_or_default().contains("nobody"))
    );
});

db_test!(session_id_rotates_at_sign_in_and_logout_kills_it, |db| {
    let (app, _a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
    let mut b = Browser::default();
    b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    let first = b.cookie.clone().unwrap();
    // Fixation: signing in while presenting a session id yields a new id,
    // and the old one is dead.
    let res = b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    assert_eq!(res.status, 200);
    let second = b.cookie.clone().unwrap();
    assert_ne!(first, second);
    let mut stale = Browser {
        cookie: Some(first),
        ..Browser::default()
    };
    assert_eq!(stale.get(&app, "/api/v1/auth/session").await.status, 401);
    // Logout, then replaying the cookie gets nothing.
    let out = b
        .json(&app, Method::POST, "/api/v1/auth/sign-out", None)
        .await;
    assert_eq!(out.status, 204);
    assert!(b.cookie.is_none(), "the cookie is cleared");
    let mut replay = Browser {
        cookie: Some(second),
        ..Browser::default()
    };
    assert_eq!(replay.get(&app, "/api/v1/auth/session").await.status, 401);
    assert_eq!(replay.get(&app, "/api/v1/accounts").await.status, 401);
    let log = all_audit(&app).await;
    assert!(log.iter().any(|e| e.action == "auth.sign_out"));
});

db_test!(idle_and_absolute_timeouts_follow_the_clock, |db| {
    let (app, _a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
    let mut b = Browser::default();
    b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(b.get(&app, "/api/v1/auth/session").await.status, 200);
    app.clock.advance(Duration::minutes(29));
    assert_eq!(
        b.get(&app, "/api/v1/auth/session").await.status,
        200,
        "activity extends idle"
    );
    app.clock.advance(Duration::minutes(31));
    assert_eq!(
        b.get(&app, "/api/v1/auth/session").await.status,
        401,
        "idle 30 min"
    );

    let mut c = Browser::default();
    c.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    for _ in 0..35 {
        app.clock.advance(Duration::minutes(20));
        assert_eq!(c.get(&app, "/api/v1/auth/session").await.status, 200);
    }
    app.clock.advance(Duration::minutes(20));
    assert_eq!(
        c.get(&app, "/api/v1/auth/session").await.status,
        401,
        "absolute 12 h"
    );
});

db_test!(disabling_a_user_and_sign_out_others_end_sessions, |db| {
    let (app, _a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
    let mut one = Browser::default();
    let mut two = Browser::from_ip("198.51.100.8");
    one.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    two.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    let res = one
        .json(&app, Method::POST, "/api/v1/auth/sign-out-others", None)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.json()["ended"], 1);
    assert_eq!(two.get(&app, "/api/v1/auth/session").await.status, 401);
    assert_eq!(one.get(&app, "/api/v1/auth/session").await.status, 200);
    let person = credentials::by_email(&app.pool, "clerk@alpha.test")
        .await
        .unwrap()
        .unwrap();
    credentials::disable(&app.pool, app.clock.as_ref(), person.id)
        .await
        .unwrap();
    assert_eq!(one.get(&app, "/api/v1/auth/session").await.status, 401);
    assert_eq!(
        one.sign_in(&app, "clerk@alpha.test", PASSWORD).await.status,
        401
    );
});

db_test!(
    csrf_refuses_cookie_changes_without_token_or_from_other_sites,
    |db| {
        let (app, a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
        let mut b = Browser::default();
        b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
        let token = b.csrf.clone().unwrap();
        // No token.
        let mut no_token = b.clone();
        no_token.csrf = None;
        let res = no_token
            .json(&app, Method::POST, "/api/v1/auth/sign-out-others", None)
            .await;
        assert_eq!(res.status, 403);
        assert_eq!(res.json()["error"]["code"], "csrf_failed");
        // Wrong token.
        let mut wrong = b.clone();
        wrong.csrf = Some("0".repeat(64));
        let res = wrong
            .json(&app, Method::POST, "/api/v1/auth/sign-out-others", None)
            .await;
        assert_eq!(res.status, 403);
        // Right token but another site (both signals).
        for (h, v) in [
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ] {
            let req = b
                .build(Method::POST, "/api/v1/auth/sign-out-others")
                .header(h, v)
                .body(Body::empty())
                .unwrap();
            let mut req = req;
            req.headers_mut().insert(h, v.parse().unwrap());
            let res = b.clone().send(&app, req).await;
            assert_eq!(res.status, 403, "{h}: {v}");
        }
        // Login CSRF: a cross-site sign-in POST is refused before any session.
        let req = Browser::default()
            .build(Method::POST, "/api/v1/auth/sign-in")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"email":"clerk@alpha.test","password":PASSWORD}).to_string(),
            ))
            .unwrap();
        let mut req = req;
        req.headers_mut()
            .insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert_eq!(app.send(req).await.status, 403);
        // An HTML form with the token in a field passes.
        let req = b
            .build(Method::POST, "/app/account/sign-out-others")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf_token={token}")))
            .unwrap();
        let mut req = req;
        req.headers_mut().remove(aqueduct_api::CSRF_HEADER);
        let res = b.clone().send(&app, req).await;
        assert_eq!(res.status, 303, "{}", res.text);
        // API-key requests are exempt (no browser attaches a bearer by itself).
        let res = app
            .send(
                http::Request::builder()
                    .method(Method::POST)
                    .uri("/api/v1/accounts")
                    .header("authorization", format!("Bearer {}", a.admin_key.expose()))
                    .header("origin", "https://evil.example")
                    .header("content-type", "application/json")
                    .body(Body::from("{}"))
                    .unwrap(),
            )
            .await;
        assert_ne!(res.status, 403, "{}", res.text);
        let log = all_audit(&app).await;
        assert!(log.iter().filter(|e| e.action == "csrf.denied").count() >= 4);
    }
);

db_test!(
    sign_in_is_throttled_per_account_and_per_ip_then_recovers,
    |db| {
        let (app, _a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
        let mut b = Browser::default();
        for _ in 0..5 {
            assert_eq!(
                b.sign_in(&app, "clerk@alpha.test", "wrong-password")
                    .await
                    .status,
                401
            );
        }
        let res = b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
        assert_eq!(res.status, 429, "{}", res.text);
        let retry: i64 = res.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
        // The same for an email that does not exist (no existence oracle).
        for _ in 0..5 {
            b.sign_in(&app, "ghost@alpha.test", "wrong-password").await;
        }
        assert_eq!(
            b.sign_in(&app, "ghost@alpha.test", "x-password")
                .await
                .status,
            429
        );
        // No permanent lockout.
        app.clock.advance(Duration::minutes(16));
        assert_eq!(
            b.sign_in(&app, "clerk@alpha.test", PASSWORD).await.status,
            200
        );
        // Per address: many emails from one address.
        let mut bot = Browser::from_ip("203.0.113.9");
        for n in 0..30 {
            bot.sign_in(&app, &format!("u{n}@alpha.test"), "wrong-password")
                .await;
        }
        let res = bot.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
        assert_eq!(res.status, 429);
        // Another address is unaffected.
        let mut other = Browser::from_ip("203.0.113.10");
        assert_eq!(
            other
                .sign_in(&app, "clerk@alpha.test", PASSWORD)
                .await
                .status,
            200
        );
    }
);

db_test!(password_reset_by_single_use_link, |db| {
    let (app, _a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
    let mut old = Browser::default();
    old.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    let mut b = Browser::from_ip("198.51.100.20");
    let known = b
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/password-reset",
            Some(json!({"email":"clerk@alpha.test"})),
        )
        .await;
    let unknown = b
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/password-reset",
            Some(json!({"email":"nobody@alpha.test"})),
        )
        .await;
    assert_eq!(known.status, 202);
    assert_eq!(
        (unknown.status, unknown.text.clone()),
        (known.status, known.text.clone())
    );
    let mail = app.mailer.sent();
    assert_eq!(mail.len(), 1, "only the existing person gets mail");
    assert_eq!(mail[0].to, "clerk@alpha.test");
    let token = browser::token_in(&mail[0].body);
    let weak = b
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/password-reset/confirm",
            Some(json!({"token":token,"new_password":"password1"})),
        )
        .await;
    assert_eq!(
        weak.status, 422,
        "common passwords are refused: {}",
        weak.text
    );
    let ok = b
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/password-reset/confirm",
            Some(json!({"token":token,"new_password":"a brand new secret"})),
        )
        .await;
    assert_eq!(ok.status, 204, "{}", ok.text);
    let again = b
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/password-reset/confirm",
            Some(json!({"token":token,"new_password":"another new secret"})),
        )
        .await;
    assert_eq!(again.status, 422, "single use");
    assert_eq!(
        old.get(&app, "/api/v1/auth/session").await.status,
        401,
        "old sessions end"
    );
    assert_eq!(
        b.sign_in(&app, "clerk@alpha.test", PASSWORD).await.status,
        401
    );
    assert_eq!(
        b.sign_in(&app, "clerk@alpha.test", "a brand new secret")
            .await
            .status,
        200
    );
    // Expired links are refused.
    b.json(
        &app,
        Method::POST,
        "/api/v1/auth/password-reset",
        Some(json!({"email":"clerk@alpha.test"})),
    )
    .await;
    let mail = app.mailer.sent();
    let token = browser::token_in(&mail[1].body);
    app.clock.advance(Duration::minutes(31));
    let late = b
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/password-reset/confirm",
            Some(json!({"token":token,"new_password":"yet another secret"})),
        )
        .await;
    assert_eq!(late.status, 422);
});

db_test!(suspension_refuses_staff_sign_in_and_live_sessions, |db| {
    let (app, a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
    let mut b = Browser::default();
    b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
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
        a.tenant.id(),
        TenantStatus::Suspended,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let res = b.get(&app, "/api/v1/accounts").await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["error"]["code"], "tenant_unavailable");
    let res = Browser::default()
        .sign_in(&app, "clerk@alpha.test", PASSWORD)
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(
        app.get("/api/v1/accounts", a.admin_key.expose())
            .await
            .status,
        403
    );
});

db_test!(html_sign_in_works_without_javascript, |db| {
    let (app, _a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
    let mut b = Browser::default();
    let page = b.get(&app, "/login").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text
            .contains("<form method=\"post\" action=\"/login\"")
    );
    let req = b
        .build(Method::POST, "/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "email=clerk%40alpha.test&password={PASSWORD}"
        )))
        .unwrap();
    let res = b.send(&app, req).await;
    assert_eq!(res.status, 303, "{}", res.text);
    assert_eq!(res.headers["location"], "/app/account");
    let account = b.get(&app, "/app/account").await;
    assert!(
        account.text.contains("clerk@alpha.test"),
        "{}",
        account.text
    );
    let token = account
        .text
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .unwrap()[..64]
        .to_owned();
    b.csrf = None;
    let req = b
        .build(Method::POST, "/logout")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf_token={token}")))
        .unwrap();
    let res = b.send(&app, req).await;
    assert_eq!(res.status, 303);
    assert_eq!(
        b.get(&app, "/app/account").await.headers["location"],
        "/login"
    );
    let bad = {
        let req = b
            .build(Method::POST, "/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("email=clerk%40alpha.test&password=wrong-one"))
            .unwrap();
        b.send(&app, req).await
    };
    assert!(bad.text.contains("The email or password is incorrect."));
});

db_test!(staff_switch_among_their_associations, |db| {
    let (app, a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
    let bravo = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    browser::staff(
        &app.pool,
        app.clock.as_ref(),
        &bravo.tenant,
        "clerk@alpha.test",
        Role::Viewer,
    )
    .await;
    let mut b = Browser::default();
    let res = b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    assert_eq!(res.json()["memberships"].as_array().unwrap().len(), 2);
    let before = b.cookie.clone();
    let res = b
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/tenant",
            Some(json!({"tenant":"bravo"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_ne!(b.cookie, before, "a privilege change rotates the id");
    let list = b.get(&app, "/api/v1/accounts").await;
    assert!(list.text.contains(&bravo.marker) && !list.text.contains(&a.marker));
    // Viewer in bravo: a clerk action is 403.
    let res = b
        .json(&app, Method::POST, "/api/v1/accounts", Some(json!({})))
        .await;
    assert_eq!(res.status, 403);
    // Not a member of gamma: 404.
    seed::tenant(&app.pool, app.clock.as_ref(), "gamma").await;
    let res = b
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/tenant",
            Some(json!({"tenant":"gamma"})),
        )
        .await;
    assert_eq!(res.status, 404);
    let tx = app.pool.tenant(&bravo.tenant).await.unwrap();
    assert!(
        audit::recent(&tx, 50)
            .await
            .unwrap()
            .iter()
            .any(|e| e.action == "auth.select_tenant")
    );
});
