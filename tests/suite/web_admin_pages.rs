//! Workspace pages for issues 3, 7 and 8: users and roles, API keys (the
//! key shown exactly once), notifications (list, filters, pages, resend),
//! notification settings, and the account page's credits, adjustments,
//! payment plans and notification status. Each page is checked for the
//! right role and refused to the wrong one; the forms work as plain HTML
//! posts and are refused without the session's CSRF token.

use crate::db_test;
use crate::support::app::TestResponse;
use crate::support::audits::{has, tenant_audit};
use crate::support::browser::{self, Browser, PASSWORD};
use crate::support::{TestApp, seed};
use aqueduct_core::Clock;
use aqueduct_notify::entity::notification;
use aqueduct_tenant::{Access, Role, directory, scoped, staff};
use axum::body::Body;
use http::{Method, Request};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// A form post with an API key (no session: no CSRF token needed).
async fn post(app: &TestApp, key: &str, path: &str, form: &str) -> TestResponse {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap();
    app.send(req).await
}

/// A form post from a signed-in browser; the token travels only in the
/// form body (as a plain HTML form sends it), never in the header.
async fn form(b: &Browser, app: &TestApp, path: &str, body: &str) -> TestResponse {
    let mut bare = b.clone();
    bare.csrf = None;
    let req = bare
        .build(Method::POST, path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap();
    bare.send(app, req).await
}

fn location(res: &TestResponse) -> String {
    res.headers
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn attempt() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

async fn members(app: &TestApp, a: &seed::Seeded) -> Vec<staff::Member> {
    let tx = app.pool.tenant_with(&a.tenant, Access::Read).await.unwrap();
    let m = staff::list(&tx).await.unwrap();
    tx.commit().await.unwrap();
    m
}

db_test!(
    web_staff_page_invites_changes_roles_and_keeps_an_admin,
    |db| {
        let (app, a) = browser::alpha_with(db, "boss@alpha.test", Role::Admin).await;
        let key = a.admin_key.expose();
        let page = app.get("/app/staff", key).await;
        assert_eq!(page.status, 200, "{}", page.text);
        for part in [
            "staff@alpha.test",
            "boss@alpha.test",
            "invitee@alpha.test",
            "password; second factor off",
            "action=\"/app/staff/invitations\"",
            &format!("action=\"/app/staff/{}/role\"", a.staff_user),
            &format!("action=\"/app/staff/invitations/{}/revoke\"", a.invitation),
        ] {
            assert!(page.text.contains(part), "{part}: {}", page.text);
        }
        assert_eq!(
            app.get("/app/staff", a.viewer_key.expose()).await.status,
            403
        );

        // Invite: mailed, listed, audited.
        let sent = post(
            &app,
            key,
            "/app/staff/invitations",
            "email=New%40Alpha.test&role=clerk",
        )
        .await;
        assert_eq!(sent.status, 303, "{}", sent.text);
        assert_eq!(location(&sent), "/app/staff?done=invited");
        assert!(
            app.mailer
                .sent()
                .iter()
                .any(|m| m.to == "new@alpha.test" && m.body.contains("/invite?token=")),
            "the invitation is mailed"
        );
        let page = app.get("/app/staff?done=invited", key).await;
        assert!(page.text.contains("new@alpha.test") && page.text.contains("Invitation sent"));
        // A bad address is shown in the page, with what was typed.
        let bad = post(
            &app,
            key,
            "/app/staff/invitations",
            "email=not+an+address&role=clerk",
        )
        .await;
        assert_eq!(bad.status, 200);
        assert!(bad.text.contains("class=\"error\""), "{}", bad.text);
        assert!(bad.text.contains("value=\"not an address\""));
        let no_role = post(
            &app,
            key,
            "/app/staff/invitations",
            "email=x%40alpha.test&role=owner",
        )
        .await;
        assert!(no_role.text.contains("Choose a role"));

        // Role change.
        let changed = post(
            &app,
            key,
            &format!("/app/staff/{}/role", a.staff_user),
            "role=clerk",
        )
        .await;
        assert_eq!(changed.status, 303, "{}", changed.text);
        let now = members(&app, &a).await;
        let seeded = now.iter().find(|m| m.user == a.staff_user).unwrap();
        assert_eq!(seeded.role, Role::Clerk);

        // The only admin can be neither demoted nor removed.
        let boss = now
            .iter()
            .find(|m| m.email == "boss@alpha.test")
            .unwrap()
            .user;
        let demote = post(&app, key, &format!("/app/staff/{boss}/role"), "role=viewer").await;
        assert_eq!(demote.status, 200);
        assert!(
            demote.text.contains("keeps at least one admin")
                && demote.text.contains("role=\"alert\""),
            "{}",
            demote.text
        );
        let gone = post(&app, key, &format!("/app/staff/{boss}/remove"), "").await;
        assert_eq!(gone.status, 200);
        assert!(gone.text.contains("keeps at least one admin"));
        let now = members(&app, &a).await;
        assert_eq!(
            now.iter().find(|m| m.user == boss).unwrap().role,
            Role::Admin
        );

        // Remove the seeded member; withdraw the seeded invitation.
        let removed = post(
            &app,
            key,
            &format!("/app/staff/{}/remove", a.staff_user),
            "",
        )
        .await;
        assert_eq!(removed.status, 303, "{}", removed.text);
        assert!(
            !members(&app, &a)
                .await
                .iter()
                .any(|m| m.user == a.staff_user)
        );
        let withdrawn = post(
            &app,
            key,
            &format!("/app/staff/invitations/{}/revoke", a.invitation),
            "",
        )
        .await;
        assert_eq!(withdrawn.status, 303);
        let page = app.get("/app/staff", key).await;
        assert!(!page.text.contains("invitee@alpha.test"));
        assert!(!page.text.contains("staff@alpha.test"));

        // Require a second factor, then not.
        let on = post(&app, key, "/app/staff/second-factor", "required=on").await;
        assert_eq!(on.status, 303);
        let t = directory::by_id(&app.pool, a.tenant.id())
            .await
            .unwrap()
            .unwrap();
        assert!(t.staff_totp_required());
        assert!(
            app.get("/app/staff", key)
                .await
                .text
                .contains("name=\"required\" checked")
        );
        let off = post(&app, key, "/app/staff/second-factor", "").await;
        assert_eq!(off.status, 303);
        let t = directory::by_id(&app.pool, a.tenant.id())
            .await
            .unwrap()
            .unwrap();
        assert!(!t.staff_totp_required());

        let log = tenant_audit(&app, &a).await;
        for action in [
            "staff.invite",
            "staff.role_change",
            "staff.remove",
            "staff.invitation_revoke",
            "association.second_factor_policy",
        ] {
            assert!(has(&log, action, "success"), "{action} audited");
        }
    }
);

/// The API keys in a page.
fn keys_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("aqk_") {
        let k: String = rest[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[i + k.len()..];
        out.push(k);
    }
    out
}

/// A key's stored last use, read straight from the table (reading it
/// through the API would count as a use of the admin key only).
async fn last_used(app: &TestApp, name: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let owner = app.db.owner().await;
    aqueduct_tenant::entity::api_key::Entity::find()
        .filter(aqueduct_tenant::entity::api_key::Column::Name.eq(name))
        .one(&owner)
        .await
        .unwrap()
        .unwrap()
        .last_used_at
}

db_test!(web_api_key_is_shown_once_and_can_be_revoked, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.admin_key.expose();
    let page = app.get("/app/api-keys", key).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("<td>viewer</td>"));
    assert!(keys_in(&page.text).is_empty(), "no key in the list page");
    assert_eq!(
        app.get("/app/api-keys", a.viewer_key.expose()).await.status,
        403
    );
    assert_eq!(
        post(
            &app,
            a.viewer_key.expose(),
            "/app/api-keys",
            "name=x&role=admin"
        )
        .await
        .status,
        403
    );

    assert!(page.text.contains("<td>never</td>"), "unused keys say so");
    let made = post(&app, key, "/app/api-keys", "name=Meter+reader&role=clerk").await;
    assert_eq!(made.status, 200, "{}", made.text);
    assert_eq!(made.headers["cache-control"], "no-store");
    let shown = keys_in(&made.text);
    assert_eq!(shown.len(), 1, "the key appears exactly once: {shown:?}");
    let secret = shown[0].clone();
    assert!(made.text.contains("only time it is shown"));
    // It works, with the role it was given.
    assert_eq!(app.get("/api/v1/accounts", &secret).await.status, 200);
    assert_eq!(app.get("/app/staff", &secret).await.status, 403);
    // Its use is recorded (to within a few minutes).
    let used = app.get("/api/v1/api-keys", key).await.json();
    let reader = used
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "Meter reader")
        .unwrap()
        .clone();
    let at: chrono::DateTime<chrono::Utc> =
        reader["last_used_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(at, app.clock.now());
    // A busy key is not a write per request: within 5 minutes the time
    // stays, after that it moves.
    app.clock.advance(chrono::Duration::minutes(2));
    assert_eq!(app.get("/api/v1/accounts", &secret).await.status, 200);
    assert_eq!(last_used(&app, "Meter reader").await, Some(at));
    app.clock.advance(chrono::Duration::minutes(4));
    assert_eq!(app.get("/api/v1/accounts", &secret).await.status, 200);
    assert_eq!(last_used(&app, "Meter reader").await, Some(app.clock.now()));
    // It is never shown again.
    let again = app.get("/app/api-keys", key).await;
    assert!(again.text.contains("Meter reader"));
    assert!(!again.text.contains(&secret) && keys_in(&again.text).is_empty());
    let listed = app.get("/api/v1/api-keys", key).await;
    assert_eq!(listed.status, 200);
    assert!(!listed.text.contains(&secret) && !listed.text.contains("key_hash"));
    let id = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "Meter reader")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A blank name is refused in the page, and no key is made.
    let blank = post(&app, key, "/app/api-keys", "name=+&role=viewer").await;
    assert_eq!(blank.status, 200);
    assert!(blank.text.contains("class=\"error\"") && keys_in(&blank.text).is_empty());
    assert_eq!(
        app.get("/api/v1/api-keys", key)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let revoked = post(&app, key, &format!("/app/api-keys/{id}/revoke"), "").await;
    assert_eq!(revoked.status, 303, "{}", revoked.text);
    assert_eq!(app.get("/api/v1/accounts", &secret).await.status, 401);
    let page = app.get("/app/api-keys?done=revoked", key).await;
    assert!(page.text.contains("revoked "), "{}", page.text);
    assert!(!page.text.contains(&format!("/app/api-keys/{id}/revoke")));
    let log = tenant_audit(&app, &a).await;
    assert!(has(&log, "api_key.create", "success") && has(&log, "api_key.revoke", "success"));

    // The JSON API does the same.
    let created = app
        .request(
            Method::POST,
            "/api/v1/api-keys",
            Some(key),
            Some(serde_json::json!({"name": "script", "role": "viewer"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let k = created.json()["key"].as_str().unwrap().to_owned();
    let kid = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/accounts", &k).await.status, 200);
    let del = app
        .request(
            Method::DELETE,
            &format!("/api/v1/api-keys/{kid}"),
            Some(key),
            None,
        )
        .await;
    assert_eq!(del.status, 204);
    assert_eq!(app.get("/api/v1/accounts", &k).await.status, 401);
});

db_test!(web_admin_forms_need_the_session_csrf_token, |db| {
    let (app, a) = browser::alpha_with(db, "boss@alpha.test", Role::Admin).await;
    browser::staff(
        &app.pool,
        app.clock.as_ref(),
        &a.tenant,
        "look@alpha.test",
        Role::Viewer,
    )
    .await;
    let mut admin = Browser::default();
    assert_eq!(
        admin
            .sign_in(&app, "boss@alpha.test", PASSWORD)
            .await
            .status,
        200
    );
    let token = admin.csrf.clone().unwrap();
    let page = admin.get(&app, "/app/staff").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text
            .contains(&format!("name=\"csrf_token\" value=\"{token}\"")),
        "the forms carry the token"
    );
    let forms = [
        (
            "/app/staff/invitations".to_owned(),
            "email=csrf%40alpha.test&role=viewer".to_owned(),
        ),
        (
            format!("/app/staff/{}/role", a.staff_user),
            "role=clerk".to_owned(),
        ),
        (format!("/app/staff/{}/remove", a.staff_user), String::new()),
        (
            format!("/app/staff/invitations/{}/revoke", a.invitation),
            String::new(),
        ),
        (
            "/app/staff/second-factor".to_owned(),
            "required=on".to_owned(),
        ),
        (
            "/app/api-keys".to_owned(),
            "name=csrf&role=viewer".to_owned(),
        ),
        (
            format!("/app/notifications/{}/resend", a.notification),
            String::new(),
        ),
        (
            "/app/settings/notifications".to_owned(),
            "reminder_days_before=5".to_owned(),
        ),
        (
            format!("/app/accounts/{}/adjustments", a.account),
            format!("kind=credit&amount=1.00&reason=x&attempt={}", attempt()),
        ),
        (
            format!("/app/accounts/{}/payment-plan", a.account),
            "installments=3&first_due_on=2030-01-01".to_owned(),
        ),
    ];
    for (path, body) in &forms {
        let none = form(&admin, &app, path, body).await;
        assert_eq!(none.status, 403, "{path} without a token: {}", none.text);
        let wrong = form(&admin, &app, path, &format!("csrf_token=nope&{body}")).await;
        assert_eq!(wrong.status, 403, "{path} with a wrong token");
    }
    // Nothing changed.
    assert_eq!(members(&app, &a).await.len(), 3);
    assert!(!app.mailer.sent().iter().any(|m| m.to == "csrf@alpha.test"));
    // With the token, a plain form post works.
    let ok = form(
        &admin,
        &app,
        "/app/staff/invitations",
        &format!("csrf_token={token}&email=csrf%40alpha.test&role=viewer"),
    )
    .await;
    assert_eq!(ok.status, 303, "{}", ok.text);
    let made = form(
        &admin,
        &app,
        "/app/api-keys",
        &format!("csrf_token={token}&name=browser&role=viewer"),
    )
    .await;
    assert_eq!(made.status, 200);
    assert_eq!(keys_in(&made.text).len(), 1);

    // A signed-in viewer reads notifications but not the admin pages.
    let mut viewer = Browser::from_ip("198.51.100.9");
    assert_eq!(
        viewer
            .sign_in(&app, "look@alpha.test", PASSWORD)
            .await
            .status,
        200
    );
    assert_eq!(viewer.get(&app, "/app/notifications").await.status, 200);
    for path in ["/app/staff", "/app/api-keys", "/app/settings/notifications"] {
        assert_eq!(viewer.get(&app, path).await.status, 403, "{path}");
    }
    let vt = viewer.csrf.clone().unwrap();
    let res = form(
        &viewer,
        &app,
        &format!("/app/notifications/{}/resend", a.notification),
        &format!("csrf_token={vt}"),
    )
    .await;
    assert_eq!(res.status, 403, "a viewer cannot resend");
});

async fn set_status(app: &TestApp, a: &seed::Seeded, id: uuid::Uuid, status: &str, error: &str) {
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    notification::Entity::update_many()
        .col_expr(notification::Column::Status, status.into())
        .col_expr(
            notification::Column::LastError,
            Some(error.to_owned()).into(),
        )
        .filter(notification::Column::TenantId.eq(a.tenant.id().uuid()))
        .filter(notification::Column::Id.eq(id))
        .exec(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn rows_on(text: &str) -> usize {
    text.matches("@example.com</td>").count()
}

db_test!(web_notifications_page_filters_pages_and_resends, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let viewer = a.viewer_key.expose();
    let key = a.admin_key.expose();
    let recipient = format!("{}@example.com", a.marker.to_lowercase());
    let list = app.get("/app/notifications", viewer).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert!(list.text.contains(&recipient) && list.text.contains("high usage"));
    assert!(list.text.contains("logged only"), "{}", list.text);
    assert!(
        !list.text.contains("/resend\""),
        "viewers get no resend button"
    );
    let sent = app.get("/app/notifications?status=sent", viewer).await;
    assert!(!sent.text.contains(&recipient) && sent.text.contains("No notifications match"));
    let by_kind = app.get("/app/notifications?kind=bill_ready", viewer).await;
    assert!(!by_kind.text.contains(&recipient));
    let by_account = app
        .get("/app/notifications?account=100-1&kind=high_usage", viewer)
        .await;
    assert!(by_account.text.contains(&recipient));
    let unknown = app
        .get("/app/notifications?account=999-9&status=bogus", viewer)
        .await;
    assert_eq!(unknown.status, 200);
    assert!(
        unknown.text.contains("No account numbered") && unknown.text.contains("Unknown status")
    );

    // Failed for good: shown on the list and on the account, with the error.
    set_status(
        &app,
        &a,
        a.notification,
        "failed_permanent",
        "550 5.1.1 mailbox unavailable",
    )
    .await;
    let failed = app
        .get("/app/notifications?status=failed_permanent", key)
        .await;
    assert!(failed.text.contains("failed for good") && failed.text.contains("550 5.1.1"));
    let account = app
        .get(&format!("/app/accounts/{}", a.account), viewer)
        .await;
    assert_eq!(account.status, 200);
    assert!(account.text.contains("id=\"mail-failed\"") && account.text.contains("550 5.1.1"));
    assert!(
        !account.text.contains("/resend\""),
        "viewer: no resend on the account"
    );

    // Resend from the account page goes back there.
    let back = format!("/app/accounts/{}", a.account);
    let resent = post(
        &app,
        key,
        &format!("/app/notifications/{}/resend", a.notification),
        &format!("return_to={}", back.replace('/', "%2F")),
    )
    .await;
    assert_eq!(resent.status, 303, "{}", resent.text);
    assert_eq!(location(&resent), format!("{back}?done=resent"));
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let row = aqueduct_notify::outbox::get(&tx, a.notification)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(row.status, "queued");
    // Another site is never a return address.
    set_status(
        &app,
        &a,
        a.notification,
        "failed_temporary",
        "421 try later",
    )
    .await;
    let elsewhere = post(
        &app,
        key,
        &format!("/app/notifications/{}/resend", a.notification),
        "return_to=https%3A%2F%2Fevil.test%2F",
    )
    .await;
    assert_eq!(location(&elsewhere), "/app/notifications?done=resent");

    // Pages of 50, newest first.
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    for i in 0..55 {
        aqueduct_notify::record(
            &tx,
            app.clock.as_ref(),
            aqueduct_notify::NewNotification {
                kind: aqueduct_notify::Kind::DueReminder,
                subject_id: format!("page:{i}"),
                recipient: format!("pager{i}@example.com"),
                account: Some(a.account),
                data: serde_json::json!({ "holder": "Ana", "amount_cents": 100, "date": "2026-12-20" }),
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let first = app
        .get("/app/notifications?kind=due_reminder", viewer)
        .await;
    assert_eq!(rows_on(&first.text), 50, "{}", first.text);
    assert!(
        first
            .text
            .contains("kind=due_reminder&#38;page=2\" rel=\"next\""),
        "the next page keeps the filter: {}",
        first.text
    );
    let second = app
        .get("/app/notifications?kind=due_reminder&page=2", viewer)
        .await;
    assert_eq!(rows_on(&second.text), 5);
    assert!(second.text.contains("rel=\"prev\"") && !second.text.contains("rel=\"next\""));
    let all: std::collections::HashSet<String> = [&first.text, &second.text]
        .iter()
        .flat_map(|t| {
            (0..55)
                .filter(|i| t.contains(&format!("pager{i}@")))
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(all.len(), 55, "every row on exactly one of the pages");
    // A sent one cannot be resent.
    let n = {
        let tx = app.pool.tenant(&a.tenant).await.unwrap();
        let n = scoped::<notification::Entity>(&tx)
            .filter(notification::Column::SubjectId.eq("page:0"))
            .one(tx.conn())
            .await
            .unwrap()
            .unwrap()
            .id;
        tx.commit().await.unwrap();
        n
    };
    set_status(&app, &a, n, "sent", "").await;
    let no = post(&app, key, &format!("/app/notifications/{n}/resend"), "").await;
    assert_eq!(location(&no), "/app/notifications?done=already_sent");
});

db_test!(web_notification_settings_form_saves_through_the_api, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.admin_key.expose();
    let page = app.get("/app/settings/notifications", key).await;
    assert_eq!(page.status, 200, "{}", page.text);
    for name in [
        "from_name",
        "reply_to",
        "staff_address",
        "default_locale",
        "bill_pdf",
        "reminder_days_before",
        "shutoff_lead_days",
        "shutoff_min_overdue",
        "high_usage_factor",
        "daily_summary",
    ] {
        assert!(page.text.contains(&format!("name=\"{name}\"")), "{name}");
        assert!(
            page.text.contains(&format!("<label for=\"ns_{name}\"")),
            "{name} has a label"
        );
    }
    assert_eq!(
        app.get("/app/settings/notifications", a.viewer_key.expose())
            .await
            .status,
        403
    );
    let saved = post(
        &app,
        key,
        "/app/settings/notifications",
        "from_name=Alpha+Water&reply_to=office%40alpha.test&staff_address=&default_locale=es&bill_pdf=attach&reminder_days_before=5&shutoff_lead_days=10&shutoff_min_overdue=50.00&high_usage_factor=4&daily_summary=off",
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    let stored = app.get("/api/v1/notification-settings", key).await.json();
    assert_eq!(stored["from_name"], "Alpha Water");
    assert_eq!(stored["reply_to"], "office@alpha.test");
    assert!(stored["staff_address"].is_null());
    assert_eq!(stored["default_locale"], "es");
    assert_eq!(stored["bill_pdf"], "attach");
    assert_eq!(stored["reminder_days_before"], 5);
    assert_eq!(stored["shutoff_lead_days"], 10);
    assert_eq!(stored["shutoff_min_overdue_cents"], 5000);
    assert_eq!(stored["high_usage_factor"], 4);
    assert_eq!(stored["daily_summary"], false);
    let shown = app.get("/app/settings/notifications?saved=1", key).await;
    assert!(
        shown.text.contains("value=\"office@alpha.test\"")
            && shown.text.contains("value=\"50.00\"")
    );
    assert!(shown.text.contains("<option value=\"attach\" selected>"));

    for (body, says) in [
        (
            "reply_to=office%40alpha.test&reminder_days_before=soon",
            "whole number",
        ),
        (
            "reply_to=not-an-address&reminder_days_before=5",
            "not an email address",
        ),
        (
            "reply_to=office%40alpha.test&reminder_days_before=99",
            "1 to 60",
        ),
        (
            "reply_to=office%40alpha.test&shutoff_min_overdue=lots",
            "dollars",
        ),
        (
            "reply_to=office%40alpha.test&high_usage_factor=11",
            "2 to 10",
        ),
        (
            "reply_to=office%40alpha.test&daily_summary=on",
            "staff_address",
        ),
    ] {
        let bad = post(&app, key, "/app/settings/notifications", body).await;
        assert_eq!(bad.status, 200, "{body}");
        assert!(
            bad.text.contains("class=\"error\"") && bad.text.contains(says),
            "{body}: {}",
            bad.text
        );
    }
    let typed = post(
        &app,
        key,
        "/app/settings/notifications",
        "reply_to=office%40alpha.test&reminder_days_before=soon",
    )
    .await;
    assert!(
        typed.text.contains("value=\"soon\""),
        "what was typed is kept"
    );
    let after = app.get("/api/v1/notification-settings", key).await.json();
    assert_eq!(after, stored, "a refused form changes nothing");
});

db_test!(web_account_page_credits_adjusts_and_arranges_a_plan, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.admin_key.expose();
    let viewer = a.viewer_key.expose();
    let path = format!("/app/accounts/{}", a.account);
    let balance = || async {
        let tx = app.pool.tenant_with(&a.tenant, Access::Read).await.unwrap();
        let b = aqueduct_billing::ledger::balance(&tx, a.account)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        b.cents
    };
    let start = balance().await;
    assert!(start > 0, "the seeded account owes something");
    let seen = app.get(&path, viewer).await;
    assert_eq!(seen.status, 200);
    assert!(
        seen.text.contains("Payment plan") && seen.text.contains("id=\"account-notifications\"")
    );
    assert!(!seen.text.contains("/adjustments\"") && !seen.text.contains("/payment-plan\""));
    assert_eq!(
        post(
            &app,
            viewer,
            &format!("{path}/adjustments"),
            "kind=credit&amount=1&reason=x"
        )
        .await
        .status,
        403
    );
    let page = app.get(&path, key).await;
    assert!(page.text.contains("/adjustments\"") && page.text.contains("/payment-plan\""));

    let once = attempt();
    let body = format!("kind=credit&amount=10.00&reason=Leak+repaired&attempt={once}");
    let credit = post(&app, key, &format!("{path}/adjustments"), &body).await;
    assert_eq!(credit.status, 303, "{}", credit.text);
    assert_eq!(balance().await, start - 1000);
    // A double submit posts once.
    assert_eq!(
        post(&app, key, &format!("{path}/adjustments"), &body)
            .await
            .status,
        303
    );
    assert_eq!(balance().await, start - 1000);
    let up = post(
        &app,
        key,
        &format!("{path}/adjustments"),
        &format!(
            "kind=adjustment&amount=2.50&reason=Meter+misread&attempt={}",
            attempt()
        ),
    )
    .await;
    assert_eq!(up.status, 303);
    assert_eq!(balance().await, start - 750);
    let shown = app.get(&format!("{path}?done=adjusted"), key).await;
    assert!(shown.text.contains("Leak repaired") && shown.text.contains("Posted to the ledger"));
    for (body, says) in [
        (
            format!("kind=credit&amount=5&reason=+&attempt={}", attempt()),
            "Give the reason",
        ),
        (
            format!("kind=credit&amount=-5&reason=x&attempt={}", attempt()),
            "Enter the amount",
        ),
        (
            format!("kind=refund&amount=5&reason=x&attempt={}", attempt()),
            "Choose a credit",
        ),
    ] {
        let bad = post(&app, key, &format!("{path}/adjustments"), &body).await;
        assert_eq!(bad.status, 200);
        assert!(bad.text.contains(says), "{body}: {}", bad.text);
    }
    assert_eq!(balance().await, start - 750, "refused forms post nothing");
    assert!(has(
        &tenant_audit(&app, &a).await,
        "ledger.credit",
        "success"
    ));

    // A payment plan over the balance.
    let first = app.clock.now().date_naive() + chrono::Months::new(1);
    let too_many = post(
        &app,
        key,
        &format!("{path}/payment-plan"),
        &format!("installments=30&first_due_on={first}"),
    )
    .await;
    assert_eq!(too_many.status, 200);
    assert!(too_many.text.contains("2 to 24"), "{}", too_many.text);
    let made = post(
        &app,
        key,
        &format!("{path}/payment-plan"),
        &format!("installments=3&first_due_on={first}"),
    )
    .await;
    assert_eq!(made.status, 303, "{}", made.text);
    let page = app.get(&path, key).await;
    assert!(page.text.contains("<strong>kept</strong>"), "{}", page.text);
    assert!(page.text.contains(&first.to_string()));
    assert!(
        page.text.contains("/payment-plan/cancel\"")
            && !page.text.contains("/payment-plan\" class")
    );
    let twice = post(
        &app,
        key,
        &format!("{path}/payment-plan"),
        &format!("installments=3&first_due_on={first}"),
    )
    .await;
    assert!(twice.text.contains("open payment plan"), "{}", twice.text);
    let cancelled = post(&app, key, &format!("{path}/payment-plan/cancel"), "").await;
    assert_eq!(cancelled.status, 303);
    let page = app.get(&path, key).await;
    assert!(page.text.contains("<strong>cancelled</strong>"));
    assert!(
        page.text.contains("action=\"/app/accounts/")
            && page.text.contains("/payment-plan\" class=\"card\"")
    );
});

db_test!(web_restricted_accounts_mail_and_forms_are_hidden, |db| {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.admin_key.expose();
    let recipient = format!("{}@example.com", a.marker.to_lowercase());
    assert!(
        app.get("/app/notifications", key)
            .await
            .text
            .contains(&recipient)
    );
    // Closed two years ago, then the holder asks for erasure: restricted.
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let mut am = aqueduct_retention::accounts::find(&tx, a.account)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    am.status = Set("closed".into());
    am.closed_at = Set(Some(
        app.clock
            .now()
            .checked_sub_months(chrono::Months::new(24))
            .unwrap(),
    ));
    am.update(tx.conn()).await.unwrap();
    let answer = aqueduct_retention::erasure::request(
        &tx,
        app.clock.as_ref(),
        "customer",
        a.account,
        &aqueduct_retention::policy::Limits::default(),
    )
    .await
    .unwrap();
    assert!(answer.erase_after.is_some());
    tx.commit().await.unwrap();
    let list = app.get("/app/notifications", key).await;
    assert_eq!(list.status, 200);
    assert!(!list.text.contains(&recipient), "{}", list.text);
    let by_number = app.get("/app/notifications?account=100-1", key).await;
    assert!(by_number.text.contains("No account numbered"));
    let path = format!("/app/accounts/{}", a.account);
    let credit = post(
        &app,
        key,
        &format!("{path}/adjustments"),
        &format!("kind=credit&amount=1.00&reason=x&attempt={}", attempt()),
    )
    .await;
    assert_eq!(credit.status, 404);
    assert_eq!(
        post(&app, key, &format!("{path}/payment-plan/cancel"), "")
            .await
            .status,
        404
    );
});

db_test!(staff_edit_an_accounts_details_and_notes, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    // Admin ⊃ clerk: the admin key stands for "clerk or above".
    let (admin, clerk, viewer) = (
        a.admin_key.expose(),
        a.admin_key.expose(),
        a.viewer_key.expose(),
    );
    let api = format!("/api/v1/accounts/{}", a.account);
    // JSON: only the fields given change; unknown fields are refused.
    let res = app
        .request(
            Method::PATCH,
            &api,
            Some(clerk),
            Some(serde_json::json!({"email": "new@cust.test", "notes": "Gate code 4411; dog."})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let v = res.json();
    assert_eq!(v["email"], "new@cust.test");
    assert_eq!(v["notes"], "Gate code 4411; dog.");
    let before_holder = v["holder_name"].clone();
    assert!(before_holder.is_string());
    for bad in [
        serde_json::json!({"email": "not-an-address"}),
        serde_json::json!({"holder_name": "  "}),
        serde_json::json!({"account_number": "X-1"}),
    ] {
        let r = app
            .request(Method::PATCH, &api, Some(clerk), Some(bad.clone()))
            .await;
        assert!(
            r.status == 422 || r.status == 400,
            "{bad}: {} {}",
            r.status,
            r.text
        );
    }
    let r = app
        .request(
            Method::PATCH,
            &api,
            Some(viewer),
            Some(serde_json::json!({"notes": "x"})),
        )
        .await;
    assert_eq!(r.status, 403);
    let now = app.get(&api, viewer).await.json();
    assert_eq!(now["email"], "new@cust.test", "refusals changed nothing");
    assert_eq!(now["holder_name"], before_holder);
    // The audit entry names the fields, never the values.
    let log = tenant_audit(&app, &a).await;
    let e = log
        .iter()
        .find(|e| e.action == "account.updated")
        .expect("audited");
    let details = e.details.clone().unwrap_or_default();
    assert!(
        details.contains("email") && !details.contains("new@cust.test"),
        "{details}"
    );

    // The page: notes shown, the form for clerks and admins only.
    let path = format!("/app/accounts/{}", a.account);
    let seen = app.get(&path, viewer).await;
    assert!(seen.text.contains("Gate code 4411; dog."));
    assert!(!seen.text.contains("/details\""));
    let page = app.get(&path, admin).await;
    assert!(page.text.contains(&format!("action=\"{path}/details\"")));
    let saved = post(
        &app,
        admin,
        &format!("{path}/details"),
        "holder_name=Ana+Ruiz&co_holder_name=&email=ana%40cust.test&phone=555-0100&paperless=on&notes=Meter+behind+fence",
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    let now = app.get(&api, viewer).await.json();
    assert_eq!(now["holder_name"], "Ana Ruiz");
    assert_eq!(now["phone"], "555-0100");
    assert_eq!(now["paperless"], true);
    assert_eq!(now["notes"], "Meter behind fence");
    let refused = post(
        &app,
        admin,
        &format!("{path}/details"),
        "holder_name=Ana+Ruiz&email=nope&notes=changed",
    )
    .await;
    assert_eq!(refused.status, 200, "the page again");
    assert!(
        refused.text.contains("not an email address"),
        "{}",
        refused.text
    );
    assert_eq!(
        app.get(&api, viewer).await.json()["notes"],
        "Meter behind fence",
        "a refused form changes nothing"
    );
});
