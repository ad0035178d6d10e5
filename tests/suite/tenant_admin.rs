//! Self-service sign-up of an association and operators' tenant
//! management: search, suspend (every sign-in and API key refused, public
//! notice, data untouched), reactivate, close — all audited.

use crate::db_test;
use crate::support::browser::{self, Browser, PASSWORD};
use crate::support::{TestApp, seed};
use aqueduct_tenant::Role;
use aqueduct_tenant::entity::audit_log;
use http::Method;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::json;

async fn all_audit(app: &TestApp) -> Vec<audit_log::Model> {
    let owner = app.db.owner().await;
    audit_log::Entity::find()
        .order_by_asc(audit_log::Column::Id)
        .all(&owner)
        .await
        .unwrap()
}

fn sign_up_body(slug: &str, email: &str) -> serde_json::Value {
    json!({
        "association_name": "Pine Creek Water",
        "slug": slug,
        "time_zone": "America/Denver",
        "admin_email": email,
    })
}

db_test!(
    an_association_signs_up_and_its_admin_verifies_the_email,
    |db| {
        let app = TestApp::new(db).await;
        let mut b = Browser::from_ip("192.0.2.10");
        let res = b
            .json(
                &app,
                Method::POST,
                "/api/v1/sign-up",
                Some(sign_up_body("pine-creek", "pat@pinecreek.test")),
            )
            .await;
        assert_eq!(res.status, 202, "{}", res.text);
        assert_eq!(res.json()["status"], "onboarding");
        // Taken slug: 409; bad time zone or email: 422.
        let taken = b
            .json(
                &app,
                Method::POST,
                "/api/v1/sign-up",
                Some(sign_up_body("pine-creek", "other@pinecreek.test")),
            )
            .await;
        assert_eq!(taken.status, 409);
        let mut bad = sign_up_body("elk-ridge", "x@elk.test");
        bad["time_zone"] = json!("Mars/Olympus");
        assert_eq!(
            b.json(&app, Method::POST, "/api/v1/sign-up", Some(bad))
                .await
                .status,
            422
        );
        // No password until the email is proven: sign-in is refused.
        let early = Browser::default()
            .sign_in(&app, "pat@pinecreek.test", PASSWORD)
            .await;
        assert_eq!(early.status, 401);
        let mail = app
            .mailer
            .sent()
            .into_iter()
            .find(|m| m.to == "pat@pinecreek.test")
            .unwrap();
        let token = mail
            .body
            .split("/invite?token=")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned();
        let confirm = Browser::default()
            .json(
                &app,
                Method::POST,
                "/api/v1/invitations/accept",
                Some(json!({"token": token, "display_name": "Pat Admin", "password": PASSWORD})),
            )
            .await;
        assert_eq!(confirm.status, 200, "{}", confirm.text);
        assert_eq!(confirm.json()["role"], "admin");
        let mut admin = Browser::default();
        let signed = admin.sign_in(&app, "pat@pinecreek.test", PASSWORD).await;
        assert_eq!(signed.status, 200, "{}", signed.text);
        assert_eq!(signed.json()["active_tenant"], "pine-creek");
        assert_eq!(signed.json()["memberships"][0]["role"], "admin");
        assert_eq!(signed.json()["memberships"][0]["status"], "onboarding");
        let log = all_audit(&app).await;
        assert!(
            log.iter()
                .any(|e| e.action == "platform.tenant.sign_up" && e.tenant_id.is_none())
        );
        assert!(
            log.iter()
                .any(|e| e.action == "tenant.sign_up" && e.tenant_id.is_some())
        );
        // An existing person named as admin of a new sign-up is not attached
        // to it until they accept the mailed link.
        let other = b
            .json(
                &app,
                Method::POST,
                "/api/v1/sign-up",
                Some(sign_up_body("elk-ridge", "pat@pinecreek.test")),
            )
            .await;
        assert_eq!(other.status, 202, "{}", other.text);
        let session = admin.get(&app, "/api/v1/auth/session").await;
        assert_eq!(session.json()["memberships"].as_array().unwrap().len(), 1);
        // Sign-ups are throttled per address.
        let mut last = None;
        for n in 0..4 {
            last = Some(
                b.json(
                    &app,
                    Method::POST,
                    "/api/v1/sign-up",
                    Some(sign_up_body(&format!("assoc-{n}"), &format!("a{n}@x.test"))),
                )
                .await,
            );
        }
        assert_eq!(last.unwrap().status, 429);
    }
);

db_test!(
    operators_search_suspend_reactivate_and_close_tenants,
    |db| {
        let app = TestApp::new(db).await;
        let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
        browser::staff(
            &app.pool,
            app.clock.as_ref(),
            &a.tenant,
            "clerk@alpha.test",
            Role::Clerk,
        )
        .await;
        let mut clerk = Browser::from_ip("192.0.2.20");
        clerk.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
        browser::operator(&app.pool, app.clock.as_ref(), "ops@platform.test").await;
        let mut op = Browser::from_ip("192.0.2.21");
        op.sign_in(&app, "ops@platform.test", PASSWORD).await;
        op.enrol_totp(&app).await;

        // Operators see people across associations.
        let people = op.get(&app, "/api/v1/operator/users?q=alpha").await;
        assert_eq!(people.status, 200, "{}", people.text);
        let emails: Vec<_> = people
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(emails, vec!["clerk@alpha.test", "staff@alpha.test"]);
        assert_eq!(people.json()[0]["memberships"][0]["slug"], "alpha");
        assert_eq!(people.json()[0]["memberships"][0]["role"], "clerk");
        let everyone = op.get(&app, "/api/v1/operator/users").await;
        assert!(everyone.text.contains("staff@bravo.test"));
        assert!(everyone.text.contains("ops@platform.test"));
        assert_eq!(clerk.get(&app, "/api/v1/operator/users").await.status, 403);
        let found = op.get(&app, "/api/v1/operator/tenants?q=ALP").await;
        assert_eq!(found.status, 200, "{}", found.text);
        let rows = found.json();
        assert_eq!(rows.as_array().unwrap().len(), 1);
        assert_eq!(rows[0]["slug"], "alpha");
        assert_eq!(rows[0]["accounts"], 1);
        assert_eq!(rows[0]["staff"], 2, "seeded viewer + clerk");

        let res = op
            .json(
                &app,
                Method::POST,
                "/api/v1/operator/tenants/alpha/suspend",
                Some(json!({"reason": "unpaid invoice"})),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert_eq!(res.json()["status"], "suspended");
        // Every way in is refused; the public page shows a notice.
        assert_eq!(clerk.get(&app, "/api/v1/accounts").await.status, 403);
        let again = Browser::from_ip("192.0.2.22")
            .sign_in(&app, "clerk@alpha.test", PASSWORD)
            .await;
        assert_eq!(again.status, 403);
        assert_eq!(again.json()["error"]["code"], "tenant_unavailable");
        let key = app.get("/api/v1/accounts", a.admin_key.expose()).await;
        assert_eq!(key.status, 403);
        let page = Browser::default().get(&app, "/alpha").await;
        assert!(
            page.text.contains("temporarily unavailable"),
            "{}",
            page.text
        );
        // Operators still see it, data untouched.
        let suspended = op
            .get(&app, "/api/v1/operator/tenants?status=suspended")
            .await;
        assert_eq!(suspended.json()[0]["slug"], "alpha");
        assert_eq!(suspended.json()[0]["accounts"], 1);
        assert_eq!(suspended.json().as_array().unwrap().len(), 1);

        let res = op
            .json(
                &app,
                Method::POST,
                "/api/v1/operator/tenants/alpha/reactivate",
                Some(json!({})),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert_eq!(
            app.get("/api/v1/accounts", a.admin_key.expose())
                .await
                .status,
            200
        );
        let back = Browser::from_ip("192.0.2.23")
            .sign_in(&app, "clerk@alpha.test", PASSWORD)
            .await;
        assert_eq!(back.status, 200, "{}", back.text);

        let closed = op
            .json(
                &app,
                Method::POST,
                "/api/v1/operator/tenants/alpha/close",
                Some(json!({})),
            )
            .await;
        assert_eq!(closed.status, 200);
        let reopen = op
            .json(
                &app,
                Method::POST,
                "/api/v1/operator/tenants/alpha/reactivate",
                Some(json!({})),
            )
            .await;
        assert_eq!(reopen.status, 409, "a closed association stays closed");
        let missing = op
            .json(
                &app,
                Method::POST,
                "/api/v1/operator/tenants/nope/suspend",
                Some(json!({})),
            )
            .await;
        assert_eq!(missing.status, 404);

        let log = all_audit(&app).await;
        for action in ["tenant.suspend", "tenant.reactivate", "tenant.close"] {
            let e = log
                .iter()
                .find(|e| e.action == action)
                .unwrap_or_else(|| panic!("{action} not audited"));
            assert_eq!(
                e.target.as_deref(),
                Some(format!("tenant:{}", a.tenant.id()).as_str())
            );
            assert!(e.actor.starts_with("user:"));
        }
    }
);
