//! Single sign-on hardening: client secrets sealed at rest (and rows
//! stored in the clear sealed at start-up), discovery documents and keys
//! cached per provider, and a second factor still required after an SSO
//! sign-in of an operator.

use crate::db_test;
use crate::sso::{app_with, sign_in_through, start};
use crate::support::browser::{self, Browser, PASSWORD, totp_now};
use crate::support::oidc;
use crate::support::{TestApp, seed};
use aqueduct_core::Secret;
use aqueduct_tenant::entity::sso_provider;
use aqueduct_tenant::{otp, sso};
use chrono::Duration;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::json;

fn provider_settings(secret: &str) -> sso::ProviderSettings {
    sso::ProviderSettings {
        issuer: "https://idp.example.org".into(),
        client_id: "aqueduct".into(),
        client_secret: Secret::new(secret),
        label: "SSO".into(),
    }
}

async fn stored_secret(app: &TestApp, tenant: uuid::Uuid) -> String {
    let owner = app.db.owner().await;
    sso_provider::Entity::find_by_id((tenant, tenant))
        .one(&owner)
        .await
        .unwrap()
        .unwrap()
        .client_secret
}

db_test!(sso_client_secrets_are_sealed_at_rest, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    let c = seed::tenant(&app.pool, app.clock.as_ref(), "charlie").await;
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    sso::set_provider(
        &tx,
        app.clock.as_ref(),
        &provider_settings("alpha-secret-123"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let raw = stored_secret(&app, a.tenant.id().uuid()).await;
    assert!(raw.starts_with("v1:"), "{raw}");
    assert!(!raw.contains("alpha-secret-123"));
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let p = sso::provider(&tx).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    assert_eq!(p.client_secret.expose(), "alpha-secret-123");

    // The sealed value copied to another association's row does not open
    // there (the association id is the associated data).
    let owner = app.db.owner().await;
    let bid = b.tenant.id().uuid();
    let cid = c.tenant.id().uuid();
    for (id, secret) in [(bid, raw.clone()), (cid, "charlie-plain-456".to_owned())] {
        sso_provider::ActiveModel {
            tenant_id: Set(id),
            id: Set(id),
            issuer: Set("https://idp.example.org".into()),
            client_id: Set("aqueduct".into()),
            client_secret: Set(secret),
            label: Set("SSO".into()),
            updated_at: Set(aqueduct_core::Clock::now(app.clock.as_ref())),
        }
        .insert(&owner)
        .await
        .unwrap();
    }
    let tx = app.pool.tenant(&b.tenant).await.unwrap();
    assert!(sso::provider(&tx).await.unwrap().is_none());
    tx.commit().await.unwrap();

    // A secret stored in the clear (before sealing) is sealed at start-up,
    // once, and still opens.
    let sealed = sso::seal_stored_secrets(&app.pool).await.unwrap();
    assert_eq!(sealed, 1);
    assert_eq!(sso::seal_stored_secrets(&app.pool).await.unwrap(), 0);
    let raw_c = stored_secret(&app, cid).await;
    assert!(raw_c.starts_with("v1:") && !raw_c.contains("charlie-plain-456"));
    let tx = app.pool.tenant(&c.tenant).await.unwrap();
    assert_eq!(
        sso::provider(&tx)
            .await
            .unwrap()
            .unwrap()
            .client_secret
            .expose(),
        "charlie-plain-456"
    );
    tx.commit().await.unwrap();
});

db_test!(sso_discovery_is_cached_per_provider, |db| {
    let Some(p) = oidc::start(&oidc::user(
        json!({ "email": "clerk@alpha.test", "email_verified": true }),
    )) else {
        return;
    };
    let (app, _a) = app_with(db, &p).await;
    let mut b = Browser::default();
    let (first, _) = start(&app, &mut b, "platform").await;
    // The provider goes away: a sign-in can still start from the cached
    // discovery document (no fetch per sign-in).
    let issuer = p.issuer.clone();
    drop(p);
    let mut b2 = Browser::from_ip("198.51.100.77");
    let (second, _) = start(&app, &mut b2, "platform").await;
    assert!(first.starts_with(&issuer) && second.starts_with(&issuer));
});

db_test!(
    sso_sign_in_of_an_operator_still_needs_the_second_factor,
    |db| {
        let Some(p) = oidc::start(&oidc::user(
            json!({ "email": "ops@platform.test", "email_verified": true }),
        )) else {
            return;
        };
        let (app, _a) = app_with(db, &p).await;
        browser::operator(&app.pool, app.clock.as_ref(), "ops@platform.test").await;
        let mut pw = Browser::default();
        pw.sign_in(&app, "ops@platform.test", PASSWORD).await;
        let (key, _codes) = pw.enrol_totp(&app).await;
        app.clock.advance(Duration::seconds(otp::STEP_SECONDS));

        let (mut b, res) = sign_in_through(&app, &p, "platform").await;
        assert_eq!(res.status, 303, "{}", res.text);
        assert_eq!(res.headers["location"], "/login/second-factor");
        assert!(b.cookie.is_some());
        // Nothing but the second step until the code is given.
        assert_eq!(b.get(&app, "/api/v1/operator/tenants").await.status, 401);
        // The browser lands on the second-step page, whose form carries
        // the session's CSRF token.
        let page = b.get(&app, "/login/second-factor").await;
        assert_eq!(page.status, 200, "{}", page.text);
        let token = page
            .text
            .split("type=\"hidden\" name=\"")
            .nth(1)
            .and_then(|rest| rest.split("value=\"").nth(1))
            .and_then(|rest| rest.split('"').next())
            .expect("the second-step form carries a CSRF token")
            .to_owned();
        b.csrf = Some(token);
        assert_ne!(b.second_factor(&app, "000000").await.status, 200);
        let ok = b.second_factor(&app, &totp_now(&app, &key)).await;
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(b.get(&app, "/api/v1/operator/tenants").await.status, 200);
    }
);
