//! Single sign-on through a real OpenID Connect provider
//! (oidc-provider-mock): the full authorization code + PKCE sign-in, and
//! each forged or stale answer refused — tampered `state`, another
//! browser, wrong `nonce`, wrong audience, expired token, unverified or
//! unknown email (SECURITY.md §E). Skips (with a line) when the provider
//! cannot be started; CI installs it (`tests/services/oidc.sh`).

use crate::db_test;
use crate::support::audits::all_audit;
use crate::support::browser::{self, Browser};
use crate::support::oidc::{self, Provider};
use crate::support::{TestApp, TestDb, seed};
use aqueduct_api::SsoProvider;
use aqueduct_core::Secret;
use aqueduct_tenant::{Role, sso, staff};
use axum::body::Body;
use http::Method;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

const BIND: &str = "__Host-aqueduct-sso";
const CLIENT_ID: &str = "aqueduct-test";

pub(crate) fn settings(p: &Provider) -> SsoProvider {
    SsoProvider {
        issuer: p.issuer.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new("client-secret-for-tests"),
        label: "Sign in with Example SSO".into(),
    }
}

/// An app whose platform provider is `p`, with association `alpha` and
/// its clerk `clerk@alpha.test`.
pub(crate) async fn app_with(db: TestDb, p: &Provider) -> (TestApp, seed::Seeded) {
    let s = settings(p);
    let app = TestApp::new_with(db, move |state| state.with_sso(s)).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    browser::staff(
        &app.pool,
        app.clock.as_ref(),
        &a.tenant,
        "clerk@alpha.test",
        Role::Clerk,
    )
    .await;
    (app, a)
}

fn cookie_value(res: &crate::support::app::TestResponse, name: &str) -> Option<String> {
    res.headers.get_all("set-cookie").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let (pair, _) = v.split_once(';').unwrap_or((v, ""));
        let (k, val) = pair.split_once('=')?;
        (k == name && !val.is_empty()).then(|| val.to_owned())
    })
}

/// Starts SSO with `provider`; returns the provider URL and binding cookie.
pub(crate) async fn start(app: &TestApp, b: &mut Browser, provider: &str) -> (String, String) {
    let req = b
        .build(Method::POST, "/auth/sso/start")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("provider={provider}")))
        .unwrap();
    let res = b.send(app, req).await;
    assert_eq!(res.status, 303, "{}", res.text);
    let set = res
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(BIND))
        .expect("a binding cookie");
    for attr in ["; Secure", "; HttpOnly", "; SameSite=Lax", "; Path=/"] {
        assert!(set.contains(attr), "{set} lacks {attr}");
    }
    let location = res.headers["location"].to_str().unwrap().to_owned();
    (location, cookie_value(&res, BIND).unwrap())
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Calls our callback as the provider's redirect would, with `bind` as
/// the binding cookie.
async fn callback(
    app: &TestApp,
    b: &mut Browser,
    back: &str,
    bind: Option<&str>,
) -> crate::support::app::TestResponse {
    let path = back
        .strip_prefix(browser::ORIGIN)
        .unwrap_or_else(|| panic!("{back} is not our callback"));
    let mut req = b.build(Method::GET, path);
    if let Some(v) = bind {
        req = req.header("cookie", format!("{BIND}={v}"));
    }
    b.send(app, req.body(Body::empty()).unwrap()).await
}

/// The reason recorded for the last refused SSO sign-in.
async fn refusal(app: &TestApp) -> String {
    all_audit(app)
        .await
        .iter()
        .rev()
        .find(|e| e.action == "auth.sign_in" && e.outcome == "failure")
        .and_then(|e| e.details.clone())
        .and_then(|d| serde_json::from_str::<Value>(&d).ok())
        .and_then(|d| d["reason"].as_str().map(str::to_owned))
        .expect("a refused sign-in in the audit log")
}

/// Runs start → provider approval → callback; returns the callback answer.
pub(crate) async fn sign_in_through(
    app: &TestApp,
    p: &Provider,
    provider: &str,
) -> (Browser, crate::support::app::TestResponse) {
    let mut b = Browser::default();
    let (url, bind) = start(app, &mut b, provider).await;
    let back = p.approve(&url);
    let res = callback(app, &mut b, &back, Some(&bind)).await;
    (b, res)
}

db_test!(
    sso_code_flow_with_pkce_signs_in_an_existing_staff_member,
    |db| {
        let Some(p) = oidc::start(&oidc::user(
            json!({ "email": "Clerk@Alpha.test", "email_verified": true }),
        )) else {
            return;
        };
        let (app, a) = app_with(db, &p).await;
        // The sign-in page offers the platform's provider.
        let page = Browser::default().get(&app, "/login").await;
        assert!(
            page.text.contains("Sign in with Example SSO"),
            "{}",
            page.text
        );

        let mut b = Browser::default();
        let (url, bind) = start(&app, &mut b, "platform").await;
        assert!(
            url.starts_with(&format!("{}/oauth2/authorize?", p.issuer)),
            "{url}"
        );
        assert_eq!(query_param(&url, "response_type").as_deref(), Some("code"));
        assert_eq!(query_param(&url, "client_id").as_deref(), Some(CLIENT_ID));
        assert_eq!(
            query_param(&url, "redirect_uri").as_deref(),
            Some("http://aqueduct.test/auth/sso/callback")
        );
        assert_eq!(
            query_param(&url, "code_challenge_method").as_deref(),
            Some("S256")
        );
        assert!(query_param(&url, "code_challenge").is_some_and(|c| c.len() >= 43));
        assert!(query_param(&url, "nonce").is_some_and(|n| n.len() >= 16));
        let state = query_param(&url, "state").unwrap();
        assert!(state.len() >= 16);
        // The pending sign-in is kept server-side, under the state's hash only.
        let owner = app.db.owner().await;
        let rows = aqueduct_tenant::entity::sso_pending::Entity::find()
            .all(&owner)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_ne!(rows[0].state_hash, state);
        assert_eq!(
            rows[0].state_hash,
            aqueduct_tenant::sessions::hash_token(&state)
        );

        let back = p.approve(&url);
        assert_eq!(query_param(&back, "state").as_deref(), Some(state.as_str()));
        let res = callback(&app, &mut b, &back, Some(&bind)).await;
        assert_eq!(res.status, 303, "{}", res.text);
        assert_eq!(res.headers["location"], "/app/account");
        assert!(b.cookie.is_some(), "a session cookie");
        let me = b.get(&app, "/api/v1/auth/session").await;
        assert_eq!(me.status, 200, "{}", me.text);
        assert_eq!(me.json()["email"], "clerk@alpha.test");
        assert_eq!(me.json()["active_tenant"], "alpha");
        // The session works on the association's routes.
        let accounts = b.get(&app, "/api/v1/accounts").await;
        assert_eq!(accounts.status, 200, "{}", accounts.text);
        assert!(accounts.text.contains(&a.marker));
        let log = all_audit(&app).await;
        assert!(
            log.iter()
                .any(|e| e.action == "auth.sso_link" && e.outcome == "success")
        );
        assert!(log.iter().any(|e| {
            e.action == "auth.sign_in"
                && e.outcome == "success"
                && e.details
                    .as_deref()
                    .is_some_and(|d| d.contains("\"method\":\"sso\""))
        }));

        // The provider's redirect cannot be replayed: the state was used up.
        let mut other = Browser::default();
        let again = callback(&app, &mut other, &back, Some(&bind)).await;
        assert_eq!(again.status, 401, "{}", again.text);
        assert!(other.cookie.is_none());
        assert_eq!(refusal(&app).await, "state");

        // A second sign-in goes through the stored link.
        let (b2, res2) = sign_in_through(&app, &p, "platform").await;
        assert_eq!(res2.status, 303, "{}", res2.text);
        assert!(b2.cookie.is_some());
    }
);

db_test!(sso_refuses_a_tampered_state_or_another_browser, |db| {
    let Some(p) = oidc::start(&oidc::user(
        json!({ "email": "clerk@alpha.test", "email_verified": true }),
    )) else {
        return;
    };
    let (app, _a) = app_with(db, &p).await;
    // Tampered state.
    let mut b = Browser::default();
    let (url, bind) = start(&app, &mut b, "platform").await;
    let back = p.approve(&url);
    let state = query_param(&back, "state").unwrap();
    let mut forged_state = state.clone();
    forged_state.replace_range(0..1, if state.starts_with('A') { "B" } else { "A" });
    let tampered = back.replace(&state, &forged_state);
    let res = callback(&app, &mut b, &tampered, Some(&bind)).await;
    assert_eq!(res.status, 401, "{}", res.text);
    assert!(b.cookie.is_none());
    assert_eq!(refusal(&app).await, "state");

    // The right state, but from a browser that did not start the sign-in
    // (login CSRF): no binding cookie, or someone else's.
    let mut b = Browser::default();
    let (url, _bind) = start(&app, &mut b, "platform").await;
    let back = p.approve(&url);
    let mut victim = Browser::from_ip("203.0.113.9");
    let res = callback(&app, &mut victim, &back, None).await;
    assert_eq!(res.status, 401, "{}", res.text);
    assert!(victim.cookie.is_none());
    let (_url2, other_bind) = start(&app, &mut Browser::default(), "platform").await;
    let res = callback(&app, &mut victim, &back, Some(&other_bind)).await;
    assert_eq!(res.status, 401, "{}", res.text);
    assert!(victim.cookie.is_none());
});

/// Signs in with a provider whose ID token carries `forged` claims; the
/// callback must refuse with a token reason.
async fn refused_token(db: TestDb, forged: Value) {
    let mut claims = json!({ "email": "clerk@alpha.test", "email_verified": true });
    for (k, v) in forged.as_object().unwrap() {
        claims[k] = v.clone();
    }
    let Some(p) = oidc::start(&oidc::user(claims)) else {
        return;
    };
    let (app, _a) = app_with(db, &p).await;
    let (b, res) = sign_in_through(&app, &p, "platform").await;
    assert_eq!(res.status, 401, "{forged}: {}", res.text);
    assert!(b.cookie.is_none(), "{forged}");
    let reason = refusal(&app).await;
    assert!(reason.starts_with("token:"), "{forged}: {reason}");
    let sessions = aqueduct_tenant::entity::session::Entity::find()
        .all(&app.db.owner().await)
        .await
        .unwrap();
    assert!(sessions.is_empty(), "{forged}");
}

db_test!(sso_refuses_a_wrong_nonce, |db| {
    refused_token(db, json!({ "nonce": "not-the-nonce-we-sent" })).await;
});

db_test!(sso_refuses_a_wrong_audience, |db| {
    refused_token(db, json!({ "aud": "some-other-client" })).await;
});

db_test!(sso_refuses_an_expired_token, |db| {
    refused_token(
        db,
        json!({ "exp": 1_700_000_000_i64, "iat": 1_699_990_000_i64 }),
    )
    .await;
});

db_test!(sso_refuses_a_wrong_issuer, |db| {
    refused_token(db, json!({ "iss": "https://impostor.example" })).await;
});

db_test!(sso_links_only_a_verified_email_of_an_invited_person, |db| {
    // Unverified email of a real staff member: refused.
    let Some(p) = oidc::start(&oidc::user(
        json!({ "email": "clerk@alpha.test", "email_verified": false }),
    )) else {
        return;
    };
    let (app, _a) = app_with(db, &p).await;
    let (b, res) = sign_in_through(&app, &p, "platform").await;
    assert_eq!(res.status, 401, "{}", res.text);
    assert!(b.cookie.is_none());
    assert_eq!(refusal(&app).await, "email_not_verified");

    // Verified, but nobody here has that email: refused, nobody created.
    p.set_claims(&oidc::user(
        json!({ "email": "stranger@example.org", "email_verified": true }),
    ));
    let (b, res) = sign_in_through(&app, &p, "platform").await;
    assert_eq!(res.status, 401, "{}", res.text);
    assert!(b.cookie.is_none());
    assert_eq!(refusal(&app).await, "no_invited_user");
    let users = aqueduct_tenant::entity::user::Entity::find()
        .all(&app.db.owner().await)
        .await
        .unwrap();
    assert!(!users.iter().any(|u| u.email == "stranger@example.org"));
});

db_test!(association_sso_accepts_an_open_invitation, |db| {
    let Some(p) = oidc::start(&oidc::user(
        json!({ "email": "new.clerk@alpha.test", "email_verified": true }),
    )) else {
        return;
    };
    // No platform provider: alpha has its own.
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    // An admin sets it through the API (viewers may not); the secret is
    // never shown back.
    let body = json!({
        "issuer": p.issuer,
        "client_id": CLIENT_ID,
        "client_secret": "client-secret-for-tests",
        "label": "Alpha staff SSO",
    });
    let viewer = app
        .request(
            Method::PUT,
            "/api/v1/association/sso",
            Some(a.viewer_key.expose()),
            Some(body.clone()),
        )
        .await;
    assert_eq!(viewer.status, 403, "{}", viewer.text);
    let bad = app
        .request(
            Method::PUT,
            "/api/v1/association/sso",
            Some(a.admin_key.expose()),
            Some(json!({ "issuer": "http://idp.example.org", "client_id": "x", "client_secret": "y" })),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    let set = app
        .request(
            Method::PUT,
            "/api/v1/association/sso",
            Some(a.admin_key.expose()),
            Some(body),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    let shown = app
        .get("/api/v1/association/sso", a.admin_key.expose())
        .await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(
        shown.json()["redirect_uri"],
        "http://aqueduct.test/auth/sso/callback"
    );
    assert_eq!(shown.json()["provider"], "alpha");
    assert_eq!(shown.json()["configured"], true);
    assert!(!shown.text.contains("client-secret-for-tests"));
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    assert!(sso::provider(&tx).await.unwrap().is_some());
    staff::invite(
        &tx,
        app.clock.as_ref(),
        "user:test",
        "new.clerk@alpha.test",
        Role::Clerk,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // The platform button is absent; the association form is there.
    let page = Browser::default().get(&app, "/login").await;
    assert!(!page.text.contains("Sign in with Example SSO"));
    assert!(page.text.contains("Continue with single sign-on"));
    // Unknown association or one without a provider: 404.
    let mut b = Browser::default();
    let req = b
        .build(Method::POST, "/auth/sso/start")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("provider=platform"))
        .unwrap();
    assert_eq!(b.send(&app, req).await.status, 404);

    let (mut b, res) = sign_in_through(&app, &p, "alpha").await;
    assert_eq!(res.status, 303, "{}", res.text);
    let me = b.get(&app, "/api/v1/auth/session").await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json()["email"], "new.clerk@alpha.test");
    assert_eq!(me.json()["active_tenant"], "alpha");
    assert_eq!(me.json()["memberships"][0]["role"], "clerk");
    // The invitation is used up.
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let pending = staff::pending(&tx, app.clock.as_ref()).await.unwrap();
    assert!(!pending.iter().any(|i| i.email == "new.clerk@alpha.test"));
});
