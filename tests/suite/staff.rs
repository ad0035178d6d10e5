//! Staff management: invitations (mailed, 7 days, single use), accepting
//! one, the staff list, role changes and removal — each audited in the
//! association's log; and staff sign-ins written to that log too.

use crate::db_test;
use crate::support::audits::{has, tenant_audit};
use crate::support::browser::{self, Browser, PASSWORD};
use crate::support::{TestApp, seed};
use aqueduct_tenant::Role;
use axum::body::Body;
use chrono::Duration;
use http::Method;
use serde_json::json;

async fn setup(db: crate::support::TestDb) -> (TestApp, seed::Seeded, Browser) {
    let (app, a) = browser::alpha_with(db, "admin@alpha.test", Role::Admin).await;
    let mut admin = Browser::default();
    let res = admin.sign_in(&app, "admin@alpha.test", PASSWORD).await;
    assert_eq!(res.status, 200, "{}", res.text);
    (app, a, admin)
}

/// The token in the last invitation mailed to `to`.
fn mailed_token(app: &TestApp, to: &str) -> String {
    let mail = app
        .mailer
        .sent()
        .into_iter()
        .rev()
        .find(|m| m.to == to)
        .unwrap_or_else(|| panic!("no mail to {to}"));
    mail.body
        .split("/invite?token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

async fn invite(app: &TestApp, admin: &mut Browser, email: &str, role: &str) -> String {
    let res = admin
        .json(
            app,
            Method::POST,
            "/api/v1/staff/invitations",
            Some(json!({"email": email, "role": role})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.json()["role"], role);
    mailed_token(app, &email.to_lowercase())
}

async fn accept(
    app: &TestApp,
    token: &str,
    password: Option<&str>,
) -> crate::support::app::TestResponse {
    let mut body = json!({"token": token, "display_name": "New Person"});
    if let Some(p) = password {
        body["password"] = json!(p);
    }
    Browser::from_ip("203.0.113.5")
        .json(app, Method::POST, "/api/v1/invitations/accept", Some(body))
        .await
}

db_test!(an_invitation_is_mailed_accepted_once_and_signs_in, |db| {
    let (app, a, mut admin) = setup(db).await;
    let token = invite(&app, &mut admin, "New@Alpha.test", "clerk").await;
    let pending = admin.get(&app, "/api/v1/staff/invitations").await;
    assert!(pending.text.contains("new@alpha.test"), "{}", pending.text);
    assert!(!pending.text.contains(&token), "tokens are never listed");
    // A first password is required and must meet the policy; a refused
    // attempt does not use the invitation up.
    assert_eq!(accept(&app, &token, None).await.status, 422);
    assert_eq!(accept(&app, &token, Some("password")).await.status, 422);
    let ok = accept(&app, &token, Some("a-brand-new-pass-9")).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json()["role"], "clerk");
    // Single use.
    assert_eq!(
        accept(&app, &token, Some("a-brand-new-pass-9"))
            .await
            .status,
        422
    );
    // A forged token naming the association is refused.
    let forged = format!("{}.{}", a.tenant.id().uuid().simple(), "ab".repeat(32));
    assert_eq!(
        accept(&app, &forged, Some("a-brand-new-pass-9"))
            .await
            .status,
        422
    );
    let mut new = Browser::from_ip("203.0.113.6");
    let res = new
        .sign_in(&app, "new@alpha.test", "a-brand-new-pass-9")
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.json()["active_tenant"], "alpha");
    assert_eq!(res.json()["memberships"][0]["role"], "clerk");
    // The new clerk cannot invite (admin only).
    let refused = new
        .json(
            &app,
            Method::POST,
            "/api/v1/staff/invitations",
            Some(json!({"email": "x@alpha.test", "role": "admin"})),
        )
        .await;
    assert_eq!(refused.status, 403);
    let log = tenant_audit(&app, &a).await;
    assert!(has(&log, "staff.invite", "success"));
    assert!(has(&log, "staff.invitation_accept", "success"));
    assert!(has(&log, "staff.invitation_accept", "failure"));
    assert!(has(&log, "access.denied", "denied"));
    // The staff sign-in is in the association's log, too.
    assert!(
        log.iter()
            .filter(|e| e.action == "auth.sign_in" && e.outcome == "success")
            .count()
            >= 2
    );
    assert!(log.iter().all(|e| !format!("{e:?}").contains(&token)));
});

db_test!(
    invitations_expire_after_seven_days_and_can_be_revoked,
    |db| {
        let (app, _a, mut admin) = setup(db).await;
        let late = invite(&app, &mut admin, "late@alpha.test", "viewer").await;
        let revoked = invite(&app, &mut admin, "revoked@alpha.test", "viewer").await;
        let list = admin.get(&app, "/api/v1/staff/invitations").await;
        let id = list
            .json()
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["email"] == "revoked@alpha.test")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let del = admin
            .json(
                &app,
                Method::DELETE,
                &format!("/api/v1/staff/invitations/{id}"),
                None,
            )
            .await;
        assert_eq!(del.status, 204, "{}", del.text);
        assert_eq!(
            accept(&app, &revoked, Some("a-brand-new-pass-9"))
                .await
                .status,
            422
        );
        app.clock.advance(Duration::days(7) + Duration::minutes(1));
        assert_eq!(
            accept(&app, &late, Some("a-brand-new-pass-9")).await.status,
            422
        );
        let list = admin.get(&app, "/api/v1/staff/invitations").await;
        assert!(!list.text.contains("late@alpha.test"), "{}", list.text);
    }
);

db_test!(admins_list_staff_change_roles_and_remove_members, |db| {
    let (app, a, mut admin) = setup(db).await;
    let clerk_id = browser::staff(
        &app.pool,
        app.clock.as_ref(),
        &a.tenant,
        "clerk@alpha.test",
        Role::Clerk,
    )
    .await;
    let mut clerk = Browser::from_ip("203.0.113.9");
    clerk.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    assert_eq!(clerk.get(&app, "/api/v1/staff").await.status, 403);
    let list = admin.get(&app, "/api/v1/staff").await;
    assert_eq!(list.status, 200, "{}", list.text);
    let emails: Vec<_> = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        emails,
        vec!["admin@alpha.test", "clerk@alpha.test", "staff@alpha.test"]
    );
    // Role change, audited with from/to; the next request sees it.
    let path = format!("/api/v1/staff/{clerk_id}/role");
    let missing = admin.json(&app, Method::PUT, &path, Some(json!({}))).await;
    assert_eq!(missing.status, 422);
    let res = admin
        .json(&app, Method::PUT, &path, Some(json!({"role": "viewer"})))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let create = clerk
        .json(
            &app,
            Method::POST,
            "/api/v1/accounts",
            Some(json!({"account_number": "200-1", "holder_name": "X", "opened_on": "2026-01-01"})),
        )
        .await;
    assert_eq!(create.status, 403, "a viewer now: {}", create.text);
    // The last admin cannot be demoted or removed.
    let me = admin.get(&app, "/api/v1/auth/session").await.json()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let demote = admin
        .json(
            &app,
            Method::PUT,
            &format!("/api/v1/staff/{me}/role"),
            Some(json!({"role": "clerk"})),
        )
        .await;
    assert_eq!(demote.status, 409);
    let self_remove = admin
        .json(&app, Method::DELETE, &format!("/api/v1/staff/{me}"), None)
        .await;
    assert_eq!(self_remove.status, 409);
    // Removal ends the member's sessions in this association.
    let del = admin
        .json(
            &app,
            Method::DELETE,
            &format!("/api/v1/staff/{clerk_id}"),
            None,
        )
        .await;
    assert_eq!(del.status, 204, "{}", del.text);
    assert_eq!(clerk.get(&app, "/api/v1/accounts").await.status, 401);
    let again = admin
        .json(
            &app,
            Method::DELETE,
            &format!("/api/v1/staff/{clerk_id}"),
            None,
        )
        .await;
    assert_eq!(again.status, 404);
    let log = tenant_audit(&app, &a).await;
    let change = log
        .iter()
        .find(|e| e.action == "staff.role_change")
        .unwrap();
    assert!(
        change
            .details
            .as_deref()
            .unwrap()
            .contains("\"from\":\"clerk\"")
    );
    assert_eq!(
        change.target.as_deref(),
        Some(format!("user:{clerk_id}").as_str())
    );
    assert!(has(&log, "staff.remove", "success"));
});

db_test!(staff_sign_in_failures_reach_the_association_log, |db| {
    let (app, a, _admin) = setup(db).await;
    let mut b = Browser::from_ip("203.0.113.20");
    let res = b
        .sign_in(&app, "admin@alpha.test", "not-the-password")
        .await;
    assert_eq!(res.status, 401);
    let log = tenant_audit(&app, &a).await;
    assert!(has(&log, "auth.sign_in", "failure"));
});

db_test!(an_invitation_can_be_accepted_with_the_html_form, |db| {
    let (app, _a, mut admin) = setup(db).await;
    let token = invite(&app, &mut admin, "form@alpha.test", "viewer").await;
    let mut h = Browser::from_ip("203.0.113.30");
    let page = h.get(&app, &format!("/invite?token={token}")).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains(&token) && page.text.contains("name=\"password\""));
    let req = h
        .build(Method::POST, "/invite")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "token={token}&display_name=Form+Person&password=a-brand-new-pass-9"
        )))
        .unwrap();
    let res = h.send(&app, req).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(res.text.contains("Welcome"), "{}", res.text);
    let signed = h
        .sign_in(&app, "form@alpha.test", "a-brand-new-pass-9")
        .await;
    assert_eq!(signed.status, 200, "{}", signed.text);
});
