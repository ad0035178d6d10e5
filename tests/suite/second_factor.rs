//! TOTP (RFC 6238) with recovery codes: enrolment, the sign-in second step
//! with a clock stepped 30 s at a time, replay refusal, operators' mandatory
//! second factor and an association requiring it of its staff.

use crate::db_test;
use crate::support::audits::{all_audit, has, tenant_audit};
use crate::support::browser::{self, Browser, PASSWORD, totp_now};
use crate::support::{TestApp, seed};
use aqueduct_core::Clock;
use aqueduct_tenant::{Role, otp};
use axum::body::Body;
use chrono::Duration;
use http::Method;
use sea_orm::EntityTrait;
use serde_json::json;

fn step(app: &TestApp) {
    app.clock.advance(Duration::seconds(otp::STEP_SECONDS));
}

db_test!(totp_enrolment_then_sign_in_with_a_stepped_clock, |db| {
    let (app, a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
    let mut b = Browser::default();
    b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    let start = b
        .json(&app, Method::POST, "/api/v1/auth/totp/enrolment", None)
        .await;
    assert_eq!(start.status, 200, "{}", start.text);
    let uri = start.json()["otpauth_uri"].as_str().unwrap().to_owned();
    let secret = start.json()["secret"].as_str().unwrap().to_owned();
    assert!(
        uri.starts_with("otpauth://totp/Aqueduct:clerk%40alpha.test?secret=")
            && uri.contains(&secret),
        "{uri}"
    );
    let key = otp::base32_decode(&secret).unwrap();
    assert_eq!(key.len(), 20);
    // Not active until confirmed: signing in elsewhere needs no code yet.
    let mut other = Browser::from_ip("198.51.100.9");
    let plain = other.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    assert_eq!(plain.json()["active_tenant"], "alpha", "{}", plain.text);
    // A wrong code does not confirm.
    let wrong = b
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/totp/enrolment/confirm",
            Some(json!({"code": "000000"})),
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.text);
    let old_cookie = b.cookie.clone().unwrap();
    let code = totp_now(&app, &key);
    let done = b
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/totp/enrolment/confirm",
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.json()["recovery_codes"].as_array().unwrap().len(), 10);
    assert_ne!(b.cookie.clone().unwrap(), old_cookie, "id rotated");
    assert_eq!(b.get(&app, "/api/v1/accounts").await.status, 200);
    // Enrolling again while on is refused.
    let again = b
        .json(&app, Method::POST, "/api/v1/auth/totp/enrolment", None)
        .await;
    assert_eq!(again.status, 409);

    // A new sign-in now stops at the second step.
    let mut c = Browser::from_ip("198.51.100.10");
    let res = c.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.json()["second_factor_required"], true);
    assert!(res.json().get("memberships").is_none());
    // A pending session gets nothing else.
    assert_eq!(c.get(&app, "/api/v1/accounts").await.status, 401);
    assert_eq!(c.get(&app, "/api/v1/auth/session").await.status, 401);
    let enrol = c
        .json(&app, Method::POST, "/api/v1/auth/totp/enrolment", None)
        .await;
    assert_eq!(enrol.status, 401);
    // The code used to confirm cannot be replayed in its window.
    assert_eq!(c.second_factor(&app, &code).await.status, 422);
    step(&app);
    let pending_cookie = c.cookie.clone().unwrap();
    let now_code = totp_now(&app, &key);
    let ok = c.second_factor(&app, &now_code).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json()["active_tenant"], "alpha");
    assert_ne!(c.cookie.clone().unwrap(), pending_cookie, "id rotated");
    assert_eq!(c.get(&app, "/api/v1/accounts").await.status, 200);

    // The same code in another sign-in within its window: refused.
    let mut d = Browser::from_ip("198.51.100.11");
    d.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    assert_eq!(d.second_factor(&app, &now_code).await.status, 422);
    // ±1 step: the next step's code is accepted (clock drift)…
    let ahead = otp::code_at_step(
        &key,
        otp::step_at(app.clock.now().timestamp()) + 1,
        otp::DIGITS,
    );
    assert_eq!(d.second_factor(&app, &ahead).await.status, 200);
    // …but a code two steps old is not.
    let mut e = Browser::from_ip("198.51.100.12");
    e.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    let stale = totp_now(&app, &key);
    for _ in 0..4 {
        step(&app);
    }
    assert_eq!(e.second_factor(&app, &stale).await.status, 422);

    // Audited, in the association's log (its admins see their staff).
    let log = tenant_audit(&app, &a).await;
    assert!(has(&log, "auth.totp_enrolment", "success"));
    assert!(has(&log, "auth.totp_enrolment", "failure"));
    assert!(has(&log, "auth.second_factor", "success"));
    assert!(has(&log, "auth.second_factor", "failure"));
    // The secret never reaches the audit log.
    let all = all_audit(&app).await;
    assert!(
        all.iter()
            .all(|e| !format!("{e:?}").contains(&secret) && !format!("{e:?}").contains(&code))
    );
});

db_test!(recovery_codes_are_single_use_and_failures_throttled, |db| {
    let (app, a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
    let mut b = Browser::default();
    b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    let (_key, codes) = b.enrol_totp(&app).await;
    step(&app);
    let mut c = Browser::from_ip("198.51.100.20");
    c.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    let ok = c.second_factor(&app, &codes[3].to_uppercase()).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let mut d = Browser::from_ip("198.51.100.21");
    d.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    assert_eq!(d.second_factor(&app, &codes[3]).await.status, 422, "used");
    assert_eq!(d.second_factor(&app, &codes[4]).await.status, 200);
    let log = tenant_audit(&app, &a).await;
    assert!(
        log.iter().any(|e| e.action == "auth.second_factor"
            && e.details.as_deref().unwrap_or("").contains("recovery_code")),
        "recovery code use audited"
    );
    // Stored hashed only.
    let owner = app.db.owner().await;
    let rows = aqueduct_tenant::entity::recovery_code::Entity::find()
        .all(&owner)
        .await
        .unwrap();
    assert_eq!(rows.len(), 10);
    assert!(
        rows.iter()
            .all(|r| codes.iter().all(|c| !r.code_hash.contains(c.as_str())))
    );
    // Guessing is throttled per person (429 with Retry-After).
    let mut g = Browser::from_ip("198.51.100.22");
    g.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    let mut last = None;
    for _ in 0..6 {
        last = Some(g.second_factor(&app, "123456").await);
    }
    let last = last.unwrap();
    assert_eq!(last.status, 429);
    assert!(last.headers.contains_key("retry-after"));
});

db_test!(operators_must_enrol_before_any_operator_route, |db| {
    let app = TestApp::new(db).await;
    seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    browser::operator(&app.pool, app.clock.as_ref(), "ops@platform.test").await;
    let mut op = Browser::default();
    op.sign_in(&app, "ops@platform.test", PASSWORD).await;
    let refused = op.get(&app, "/api/v1/operator/tenants").await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["error"]["code"], "second_factor_required");
    let (key, codes) = op.enrol_totp(&app).await;
    assert_eq!(op.get(&app, "/api/v1/operator/tenants").await.status, 200);
    // Operators cannot turn it off.
    step(&app);
    let off = op
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/totp/disable",
            Some(json!({"code": totp_now(&app, &key)})),
        )
        .await;
    assert_eq!(off.status, 403);
    // The next sign-in needs the code before operator routes answer.
    let mut again = Browser::from_ip("198.51.100.30");
    again.sign_in(&app, "ops@platform.test", PASSWORD).await;
    assert_eq!(
        again.get(&app, "/api/v1/operator/tenants").await.status,
        401
    );
    assert_eq!(again.second_factor(&app, &codes[0]).await.status, 200);
    assert_eq!(
        again.get(&app, "/api/v1/operator/tenants").await.status,
        200
    );
    let log = all_audit(&app).await;
    assert!(has(&log, "auth.totp_enrolment", "success"));
    assert!(has(&log, "auth.totp_disable", "denied"));
});

db_test!(an_admin_can_require_a_second_factor_of_staff, |db| {
    let (app, a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
    let mut clerk = Browser::default();
    clerk.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    // Clerks and viewers may not change the policy.
    let path = "/api/v1/association/second-factor";
    let body = json!({"staff_totp_required": true});
    let as_clerk = clerk
        .json(&app, Method::PUT, path, Some(body.clone()))
        .await;
    assert_eq!(as_clerk.status, 403);
    let as_viewer = app
        .request(
            Method::PUT,
            path,
            Some(a.viewer_key.expose()),
            Some(body.clone()),
        )
        .await;
    assert_eq!(as_viewer.status, 403);
    let set = app
        .request(Method::PUT, path, Some(a.admin_key.expose()), Some(body))
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    let shown = app.get("/api/v1/association", a.admin_key.expose()).await;
    assert_eq!(shown.json()["staff_totp_required"], true);
    // The clerk without TOTP is stopped until they enrol.
    let stopped = clerk.get(&app, "/api/v1/accounts").await;
    assert_eq!(stopped.status, 403);
    assert_eq!(stopped.json()["error"]["code"], "second_factor_required");
    let (key, _) = clerk.enrol_totp(&app).await;
    assert_eq!(clerk.get(&app, "/api/v1/accounts").await.status, 200);
    // …and may not turn it off while the association requires it.
    step(&app);
    let off = clerk
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/totp/disable",
            Some(json!({"code": totp_now(&app, &key)})),
        )
        .await;
    assert_eq!(off.status, 403);
    let log = tenant_audit(&app, &a).await;
    assert!(has(&log, "association.second_factor_policy", "success"));
    assert!(
        log.iter().any(|e| e.action == "access.denied"
            && e.details
                .as_deref()
                .unwrap_or("")
                .contains("second factor required")),
        "the refusal is audited"
    );
});

db_test!(staff_may_turn_totp_off_with_a_code, |db| {
    let (app, _a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
    let mut b = Browser::default();
    b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    let (key, _) = b.enrol_totp(&app).await;
    step(&app);
    let bad = b
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/totp/disable",
            Some(json!({"code": "999999"})),
        )
        .await;
    assert_eq!(bad.status, 422);
    let off = b
        .json(
            &app,
            Method::POST,
            "/api/v1/auth/totp/disable",
            Some(json!({"code": totp_now(&app, &key)})),
        )
        .await;
    assert_eq!(off.status, 204, "{}", off.text);
    let mut c = Browser::from_ip("198.51.100.40");
    let res = c.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    assert_eq!(res.json()["active_tenant"], "alpha", "no second step now");
});

db_test!(html_sign_in_asks_for_the_code, |db| {
    let (app, _a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
    let mut b = Browser::default();
    b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    let (key, _) = b.enrol_totp(&app).await;
    step(&app);
    let mut h = Browser::from_ip("198.51.100.50");
    let req = h
        .build(Method::POST, "/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "email=clerk%40alpha.test&password={PASSWORD}"
        )))
        .unwrap();
    let res = h.send(&app, req).await;
    assert_eq!(res.status, 303, "{}", res.text);
    assert_eq!(res.headers["location"], "/login/second-factor");
    // The account page is not reachable yet.
    let account = h.get(&app, "/app/account").await;
    assert_eq!(account.headers["location"], "/login");
    let page = h.get(&app, "/login/second-factor").await;
    assert!(page.text.contains("name=\"code\""), "{}", page.text);
    let token = page
        .text
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let req = h
        .build(Method::POST, "/login/second-factor")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "csrf_token={token}&code={}",
            totp_now(&app, &key)
        )))
        .unwrap();
    let res = h.send(&app, req).await;
    assert_eq!(res.status, 303, "{}", res.text);
    assert_eq!(res.headers["location"], "/app/account");
    assert_eq!(h.get(&app, "/app/account").await.status, 200);
});
