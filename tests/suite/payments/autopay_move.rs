//! Autopay turned off detaches the saved method at Stripe (idempotent; the
//! sweep finishes what an unreachable Stripe left), and a saved method
//! moves to the customer's new account at the same association only with
//! their consent — given by the customer on their page or recorded by
//! staff at a transfer — re-using the Stripe Customer and PaymentMethod.

use super::autopay::on;
use super::{PayEnv, env};
use crate::db_test;
use crate::support::audits::tenant_audit;
use crate::support::browser::{Browser, PASSWORD};
use crate::support::seed::Seeded;
use aqueduct_billing::locations::{self, NewLocation};
use aqueduct_billing::meters::{self, NewMeter};
use aqueduct_core::LocationId;
use aqueduct_payments::autopay::{self, RunReport};
use aqueduct_stripe_sim::DeliveryOptions;
use axum::body::Body;
use http::Method;
use serde_json::{Value, json};

impl PayEnv {
    async fn view_of(&self, who: &Seeded, account: &str) -> Value {
        let res = self
            .app
            .get(
                &format!("/api/v1/accounts/{account}/autopay"),
                who.viewer_key.expose(),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        res.json()
    }

    /// Transfers `who`'s seeded account to a new location; returns the new account's id.
    async fn transfer(&self, who: &Seeded) -> String {
        let loc = {
            let tx = self.app.pool.tenant(&who.tenant).await.unwrap();
            let loc = locations::create(
                &tx,
                self.app.clock.as_ref(),
                NewLocation {
                    address_line1: "9 Hill Rd".into(),
                    address_line2: None,
                    city: "Springfield".into(),
                    state: "IL".into(),
                    postal_code: "62701".into(),
                    route: None,
                    sequence: None,
                },
            )
            .await
            .unwrap();
            meters::create(
                &tx,
                NewMeter {
                    location: LocationId::from_uuid(loc.id),
                    serial: "HILL-1".into(),
                    size: "5/8\"".into(),
                    unit: "gallons".into(),
                    register_digits: 6,
                    multiplier: 1,
                    installed_on: "2020-01-01".parse().unwrap(),
                },
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            loc.id
        };
        let res = self
            .app
            .request(
                Method::POST,
                &format!("/api/v1/accounts/{}/transfer", who.account),
                Some(who.admin_key.expose()),
                Some(json!({
                    "move_out": {"read_on": "2026-11-15", "value": 128_500},
                    "to_location_id": loc.to_string(),
                    "new_account_number": "100-1B",
                    "moved_in_on": "2026-11-16",
                    "read_value": 7_000
                })),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
        res.json()["account"]["id"].as_str().unwrap().to_owned()
    }

    async fn move_autopay(
        &self,
        who: &Seeded,
        to: &str,
        body: Value,
    ) -> crate::support::app::TestResponse {
        self.app
            .request(
                Method::POST,
                &format!("/api/v1/accounts/{to}/autopay/move"),
                Some(who.admin_key.expose()),
                Some(body),
            )
            .await
    }
}

db_test!(autopay_off_detaches_the_saved_method_once, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    let acct = e.onboard(&e.a).await;
    e.save_method(&e.a, "save").await;
    let view = e.autopay_view(&e.a).await;
    assert_eq!(view["status"], "active");
    // What Stripe shows of the card, read by the job after the webhook.
    assert_eq!(view["brand"], "visa", "{view}");
    assert_eq!(view["last4"], "4242");
    let pm = e.sim.events_of_type("setup_intent.succeeded")[0]["data"]["object"]["payment_method"]
        .as_str()
        .unwrap()
        .to_owned();

    let path = format!("/api/v1/accounts/{}/autopay", e.a.account);
    let off = e
        .app
        .request(Method::DELETE, &path, Some(e.a.admin_key.expose()), None)
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(off.json()["was_on"], true);
    assert_eq!(off.json()["detached"], true);
    e.drain().await;
    // Stripe detached it from its Customer, on the association's account.
    let detached = e.sim.events_of_type("payment_method.detached");
    assert_eq!(detached.len(), 1);
    assert_eq!(detached[0]["account"], acct.as_str());
    assert_eq!(detached[0]["data"]["object"]["id"], pm.as_str());
    assert_eq!(detached[0]["data"]["object"]["customer"], Value::Null);
    let view = e.autopay_view(&e.a).await;
    assert_eq!(view["status"], "off");
    assert_eq!(view["ended_reason"], "turned_off");
    assert!(view["detached_at"].is_string(), "{view}");
    assert_eq!(view["next_charge_on"], Value::Null);

    // Again: nothing changes and Stripe is not asked again.
    let again = e
        .app
        .request(Method::DELETE, &path, Some(e.a.admin_key.expose()), None)
        .await;
    assert_eq!(again.json()["was_on"], false);
    assert_eq!(again.json()["detached"], true);
    e.drain().await;
    assert_eq!(e.sim.events_of_type("payment_method.detached").len(), 1);
    // Stripe delivering the old "method saved" event again does not turn
    // it back on.
    let saved = e.sim.events_of_type("setup_intent.succeeded");
    e.control(
        &format!("/_sim/events/{}/resend", saved[0]["id"].as_str().unwrap()),
        "",
    )
    .await;
    e.drain().await;
    assert_eq!(e.autopay_view(&e.a).await["status"], "off");
    // The due date: nothing is charged.
    assert_eq!(e.autopay_run(&on(20)).await, RunReport::default());
    assert_eq!(e.sim.events_of_type("payment_intent.created").len(), 0);
    // Both turn-offs are in the association's audit log.
    let log = tenant_audit(&e.app, &e.a).await;
    assert_eq!(log.iter().filter(|l| l.action == "autopay.off").count(), 2);
});

db_test!(
    autopay_off_while_stripe_is_away_is_detached_by_the_sweep,
    |db| {
        let e = env(db, DeliveryOptions::default()).await;
        e.onboard(&e.a).await;
        e.save_method(&e.a, "save").await;
        // Turned off without reaching Stripe: off at once, detaching pending.
        let done = autopay::turn_off(
            &e.app.pool,
            &e.a.tenant,
            e.app.clock.as_ref(),
            None,
            e.a.account,
        )
        .await
        .unwrap();
        assert!(
            done.was_on && !done.detached && done.detach_pending,
            "{done:?}"
        );
        assert!(e.sim.events_of_type("payment_method.detached").is_empty());
        let swept = aqueduct_payments::sweep::run_tenant(
            &e.app.pool,
            &e.a.tenant,
            e.app.clock.as_ref(),
            &e.stripe,
        )
        .await
        .unwrap();
        assert_eq!(swept.detached, 1, "{swept:?}");
        e.drain().await;
        assert_eq!(e.sim.events_of_type("payment_method.detached").len(), 1);
        let again = aqueduct_payments::sweep::run_tenant(
            &e.app.pool,
            &e.a.tenant,
            e.app.clock.as_ref(),
            &e.stripe,
        )
        .await
        .unwrap();
        assert_eq!(again.detached, 0);
        assert!(e.autopay_view(&e.a).await["detached_at"].is_string());
    }
);

db_test!(staff_move_autopay_at_a_transfer_only_with_consent, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    e.onboard(&e.a).await;
    e.save_method(&e.a, "save").await;
    let old = e.a.account.to_string();
    let before = e.autopay_view(&e.a).await;
    let new = e.transfer(&e.a).await;

    // The offer: the transferred account's card, as Stripe shows it.
    let offers = e
        .app
        .get(
            &format!("/api/v1/accounts/{new}/autopay/move"),
            e.a.viewer_key.expose(),
        )
        .await;
    assert_eq!(offers.status, 200, "{}", offers.text);
    let offers = offers.json()["offers"].as_array().unwrap().clone();
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert_eq!(offers[0]["from_account_id"], old.as_str());
    assert_eq!(offers[0]["last4"], "4242");
    // Nothing the other way, and none for the other association.
    let none = e
        .app
        .get(
            &format!("/api/v1/accounts/{old}/autopay/move"),
            e.a.viewer_key.expose(),
        )
        .await;
    assert_eq!(none.json()["offers"], json!([]));

    // Without consent nothing moves.
    let refused = e
        .move_autopay(
            &e.a,
            &new,
            json!({"from_account_id": old, "consent": false}),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(e.view_of(&e.a, &new).await["status"], "none");
    assert_eq!(e.view_of(&e.a, &old).await["status"], "active");
    // The staff account page offers it as a form (consent box, CSRF token
    // for sessions); unticked, the page comes back with the reason.
    let acct_page = e
        .app
        .get(&format!("/app/accounts/{new}"), e.a.viewer_key.expose())
        .await;
    assert!(
        acct_page.text.contains("Keep autopay from account"),
        "{}",
        acct_page.text
    );
    assert!(
        !acct_page.text.contains("/autopay/keep"),
        "viewers get no form"
    );
    let admin_page = e
        .app
        .get(&format!("/app/accounts/{new}"), e.a.admin_key.expose())
        .await;
    assert!(
        admin_page
            .text
            .contains(&format!("action=\"/app/accounts/{new}/autopay/keep\""))
    );
    let unticked = e
        .app
        .send(
            http::Request::builder()
                .method(Method::POST)
                .uri(format!("/app/accounts/{new}/autopay/keep"))
                .header(
                    "authorization",
                    format!("Bearer {}", e.a.admin_key.expose()),
                )
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("from_account_id={old}")))
                .unwrap(),
        )
        .await;
    assert_eq!(unticked.status, 200, "{}", unticked.text);
    assert!(unticked.text.contains("consent"), "{}", unticked.text);
    assert_eq!(e.view_of(&e.a, &new).await["status"], "none");
    // A viewer may not record consent.
    let viewer = e
        .app
        .request(
            Method::POST,
            &format!("/api/v1/accounts/{new}/autopay/move"),
            Some(e.a.viewer_key.expose()),
            Some(json!({"from_account_id": old, "consent": true})),
        )
        .await;
    assert_eq!(viewer.status, 403);

    let moved = e
        .move_autopay(&e.a, &new, json!({"from_account_id": old, "consent": true}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let view = moved.json();
    assert_eq!(view["status"], "active");
    assert_eq!(view["method_type"], "card");
    assert_eq!(view["last4"], "4242");
    assert!(view["consented_at"].is_string());
    assert!(
        view["consent_actor"].as_str().unwrap().contains(':'),
        "{view}"
    );
    assert!(view["moved_from"].is_string());
    let old_view = e.view_of(&e.a, &old).await;
    assert_eq!(old_view["status"], "off");
    assert_eq!(old_view["ended_reason"], "moved");
    // The same Stripe Customer and PaymentMethod; no new Checkout, nothing detached.
    let seti = &e.sim.events_of_type("setup_intent.succeeded")[0]["data"]["object"];
    assert_eq!(
        e.count_where(
            "autopay_mandates",
            &format!(
                "stripe_payment_method_id = '{}' AND stripe_customer_id = '{}'",
                seti["payment_method"].as_str().unwrap(),
                seti["customer"].as_str().unwrap()
            )
        )
        .await,
        2
    );
    assert_eq!(e.sim.events_of_type("checkout.session.completed").len(), 1);
    assert!(e.sim.events_of_type("payment_method.detached").is_empty());
    assert_eq!(before["charges"], json!([]));
    // Asked again: the same answer, nothing else changes.
    let again = e
        .move_autopay(&e.a, &new, json!({"from_account_id": old, "consent": true}))
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["consented_at"], view["consented_at"]);
    let log = tenant_audit(&e.app, &e.a).await;
    assert_eq!(
        log.iter().filter(|l| l.action == "autopay.moved").count(),
        2
    );
    // Turning the old account's (ended) autopay off does not detach the
    // method the new account uses.
    let off = e
        .app
        .request(
            Method::DELETE,
            &format!("/api/v1/accounts/{old}/autopay"),
            Some(e.a.admin_key.expose()),
            None,
        )
        .await;
    assert_eq!(off.json()["detached"], false, "{}", off.text);
    assert!(e.sim.events_of_type("payment_method.detached").is_empty());
    assert_eq!(e.view_of(&e.a, &new).await["status"], "active");
});

/// Form POST as a browser (with its CSRF header when it has one).
async fn form(
    e: &PayEnv,
    b: &mut Browser,
    path: &str,
    body: &str,
) -> crate::support::app::TestResponse {
    let req = b
        .build(Method::POST, path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap();
    b.send(&e.app, req).await
}

async fn customer_signs_in(e: &PayEnv, email: &str, ip: &str) -> Browser {
    let mut b = Browser::from_ip(ip);
    let res = b
        .json(
            &e.app,
            Method::POST,
            "/api/v1/customer/sign-in",
            Some(json!({ "slug": "alpha", "email": email, "password": PASSWORD })),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    b
}

db_test!(customer_keeps_autopay_on_a_new_account_with_consent, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    e.onboard(&e.a).await;
    e.save_method(&e.a, "save").await;
    let old = e.a.account;
    // The customer has a new account (elsewhere in the association) and
    // moves out of the old one.
    let (new, _) = crate::customers::neighbour(&e.app, &e.a, "NEWHOME").await;
    crate::customers::customer(&e.app, &e.a, "y@example.com", &[old, new]).await;
    // Z holds only the new account: it sees no offer.
    crate::customers::customer(&e.app, &e.a, "z@example.com", &[new]).await;
    let out = e
        .app
        .request(
            Method::POST,
            &format!("/api/v1/accounts/{old}/move-out"),
            Some(e.a.admin_key.expose()),
            Some(json!({"read_on": "2026-11-15", "value": 128_500})),
        )
        .await;
    assert!(out.status.is_success(), "{}", out.text);
    let mut y = customer_signs_in(&e, "y@example.com", "198.51.100.41").await;

    // The account page tells them, the autopay page offers it.
    let acct_page = y.get(&e.app, &format!("/alpha/account/{new}")).await;
    assert_eq!(acct_page.status, 200, "{}", acct_page.text);
    assert!(
        acct_page
            .text
            .contains(&format!("/alpha/account/{new}/autopay"))
    );
    assert!(
        acct_page.text.contains("keep autopay on this account"),
        "{}",
        acct_page.text
    );
    let page_path = format!("/alpha/account/{new}/autopay");
    let page = y.get(&e.app, &page_path).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("visa •••• 4242"), "{}", page.text);
    assert!(page.text.contains("name=\"consent\""));
    assert!(page.text.contains("name=\"csrf_token\""));
    assert!(page.text.contains(&format!("value=\"{old}\"")));
    // In Spanish too.
    let es = y.get(&e.app, &format!("{page_path}?lang=es")).await;
    assert!(
        es.text.contains("Mantener el pago automático"),
        "{}",
        es.text
    );

    // No CSRF token: refused, nothing moves.
    let mut bare = y.clone();
    bare.csrf = None;
    let forged = form(
        &e,
        &mut bare,
        &page_path,
        &format!("from_account_id={old}&consent=yes"),
    )
    .await;
    assert_eq!(forged.status, 403, "{}", forged.text);
    // No consent: the page says so, nothing moves.
    let unticked = form(&e, &mut y, &page_path, &format!("from_account_id={old}")).await;
    assert_eq!(unticked.status, 200, "{}", unticked.text);
    assert!(unticked.text.contains("role=\"alert\""));
    assert!(unticked.text.contains("Tick the box"), "{}", unticked.text);
    assert_eq!(e.view_of(&e.a, &new.to_string()).await["status"], "none");
    assert_eq!(e.view_of(&e.a, &old.to_string()).await["status"], "active");
    // Z (only the new account) cannot take Y's card.
    let mut z = customer_signs_in(&e, "z@example.com", "198.51.100.42").await;
    let zp = z.get(&e.app, &page_path).await;
    assert_eq!(zp.status, 200);
    assert!(!zp.text.contains("name=\"consent\""), "{}", zp.text);
    let zt = form(
        &e,
        &mut z,
        &page_path,
        &format!("from_account_id={old}&consent=yes"),
    )
    .await;
    assert_eq!(zt.status, 200, "{}", zt.text);
    assert!(
        zt.text.contains("There is no autopay to move"),
        "{}",
        zt.text
    );
    assert_eq!(e.view_of(&e.a, &new.to_string()).await["status"], "none");

    // Consent given: moved.
    let ok = form(
        &e,
        &mut y,
        &page_path,
        &format!("from_account_id={old}&consent=yes"),
    )
    .await;
    assert_eq!(ok.status, 303, "{}", ok.text);
    let done = y.get(&e.app, &format!("{page_path}?moved=1")).await;
    assert!(
        done.text.contains("Autopay is on for this account"),
        "{}",
        done.text
    );
    let view = e.view_of(&e.a, &new.to_string()).await;
    assert_eq!(view["status"], "active");
    assert_eq!(view["last4"], "4242");
    let actor = view["consent_actor"].as_str().unwrap();
    assert!(actor.starts_with("customer:"), "{view}");
    assert!(view["consented_at"].is_string());
    assert_eq!(
        e.view_of(&e.a, &old.to_string()).await["ended_reason"],
        "moved"
    );
    let log = tenant_audit(&e.app, &e.a).await;
    assert!(
        log.iter()
            .any(|l| l.action == "autopay.moved" && l.actor == actor),
        "consent is audited"
    );
    assert!(e.sim.events_of_type("payment_method.detached").is_empty());
});
