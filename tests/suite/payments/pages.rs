//! The staff payments pages: payouts (reconciled, and a mismatch
//! explained), one payout's balance transactions, disputes, and an
//! account's autopay panel with its forms (CSRF, roles, no JavaScript).

use super::autopay::on;
use super::refunds::refund;
use super::{PayEnv, env};
use crate::db_test;
use crate::support::app::TestResponse;
use crate::support::browser::{self, Browser, PASSWORD};
use aqueduct_stripe_sim::DeliveryOptions;
use aqueduct_tenant::Role;
use axum::body::Body;
use http::Method;
use serde_json::{Value, json};

async fn page(e: &PayEnv, path: &str) -> TestResponse {
    let res = e.app.get(path, e.a.viewer_key.expose()).await;
    assert_eq!(res.status, 200, "{path}: {}", res.text);
    res
}

async fn staff_browser(e: &PayEnv, email: &str, role: Role, ip: &str) -> Browser {
    browser::staff(&e.app.pool, e.app.clock.as_ref(), &e.a.tenant, email, role).await;
    let mut b = Browser::from_ip(ip);
    let res = b.sign_in(&e.app, email, PASSWORD).await;
    assert_eq!(res.status, 200, "{}", res.text);
    b
}

async fn post_form(e: &PayEnv, b: &mut Browser, path: &str, body: &str) -> TestResponse {
    let req = b
        .build(Method::POST, path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap();
    b.send(&e.app, req).await
}

db_test!(payouts_and_disputes_pages_show_reconciliation, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    let acct = e.onboard(&e.a).await;
    let (p1, _) = e.pay_with(&e.a, 5_000, "pay").await;
    e.pay_with(&e.a, 8_000, "pay").await;
    e.drain().await;
    let r = refund(&e, &p1, json!({"amount_cents": 1_000}), "pg-r1").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let pi = e.payment(&e.a, &p1).await["payment_intent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    e.control("/_sim/disputes", &format!("payment_intent={pi}"))
        .await;
    e.drain().await;
    let (code, text) = e.control("/_sim/payouts", &format!("account={acct}")).await;
    assert_eq!(code, 200, "{text}");
    let po: Value = serde_json::from_str(&text).unwrap();
    // A payment whose webhooks were lost, paid out in a second payout.
    e.sim.update_config(|c| {
        c.delivery.drop_types = vec!["payment_intent.*".into(), "checkout.session.*".into()]
    });
    e.pay_with(&e.a, 2_000, "pay").await;
    e.sim.update_config(|c| c.delivery.drop_types.clear());
    let (code, text) = e.control("/_sim/payouts", &format!("account={acct}")).await;
    assert_eq!(code, 200, "{text}");
    let po2: Value = serde_json::from_str(&text).unwrap();
    e.drain().await;
    let list: Vec<Value> = e
        .app
        .get("/api/v1/payouts", e.a.viewer_key.expose())
        .await
        .json()["payouts"]
        .as_array()
        .unwrap()
        .clone();
    let id_of = |stripe: &Value| {
        list.iter()
            .find(|p| p["stripe_payout_id"] == *stripe)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (good, bad) = (id_of(&po["id"]), id_of(&po2["id"]));

    // The payments page leads to payouts and disputes.
    let payments = page(&e, "/app/payments").await;
    assert!(payments.text.contains("href=\"/app/payouts\""));
    assert!(payments.text.contains("href=\"/app/disputes\""));

    let payouts = page(&e, "/app/payouts").await;
    assert!(
        payouts
            .text
            .contains(&format!("href=\"/app/payouts/{good}\""))
    );
    assert!(
        payouts
            .text
            .contains(&format!("href=\"/app/payouts/{bad}\""))
    );
    assert!(payouts.text.contains("Matched"), "{}", payouts.text);
    assert!(payouts.text.contains("Mismatch ("), "{}", payouts.text);
    assert!(payouts.text.contains("paid"));

    // The matched payout: its payments, refund, fees and dispute.
    let detail = page(&e, &format!("/app/payouts/{good}")).await;
    assert!(detail.text.contains("Matched"), "{}", detail.text);
    for kind in ["charge", "refund", "adjustment", "payout"] {
        assert!(
            detail.text.contains(&format!(">{kind}<")),
            "{kind}: {}",
            detail.text
        );
    }
    assert!(
        detail
            .text
            .contains(&format!("href=\"/app/payments/{p1}\""))
    );
    assert!(
        detail.text.contains("-$10.00"),
        "the refund: {}",
        detail.text
    );
    assert!(detail.text.contains("Matches our records."));
    assert!(!detail.text.contains("class=\"error\""), "{}", detail.text);
    // The mismatch, explained.
    let wrong = page(&e, &format!("/app/payouts/{bad}")).await;
    assert!(wrong.text.contains("Mismatch:"), "{}", wrong.text);
    assert!(
        wrong.text.contains("our ledger never posted it"),
        "{}",
        wrong.text
    );
    // Another association's payout is not found.
    let theirs = e
        .app
        .get(
            &format!("/app/payouts/{}", e.b.payout),
            e.a.viewer_key.expose(),
        )
        .await;
    assert_eq!(theirs.status, 404, "{}", theirs.text);
    let mine_for_them = e
        .app
        .get(&format!("/app/payouts/{good}"), e.b.viewer_key.expose())
        .await;
    assert_eq!(mine_for_them.status, 404);
    let their_list = e.app.get("/app/payouts", e.b.viewer_key.expose()).await;
    assert!(!their_list.text.contains(&good));

    let disputes = page(&e, "/app/disputes").await;
    assert!(
        disputes.text.contains("$40.00"),
        "what was left after the refund: {}",
        disputes.text
    );
    assert!(
        disputes.text.contains("needs response"),
        "{}",
        disputes.text
    );
    assert!(disputes.text.contains("held since"), "{}", disputes.text);
    let du = &e.sim.events_of_type("charge.dispute.created")[0]["data"]["object"];
    let due =
        chrono::DateTime::from_timestamp(du["evidence_details"]["due_by"].as_i64().unwrap(), 0)
            .unwrap()
            .date_naive()
            .to_string();
    assert!(
        disputes.text.contains(&due),
        "due by {due}: {}",
        disputes.text
    );
    let none = e.app.get("/app/disputes", e.b.viewer_key.expose()).await;
    assert!(none.text.contains("No disputes."));
});

db_test!(account_page_shows_autopay_and_its_forms_are_guarded, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    let acct = e.onboard(&e.a).await;
    let path = format!("/app/accounts/{}", e.a.account);
    let before = page(&e, &path).await;
    assert!(before.text.contains("id=\"autopay\""));
    assert!(
        before.text.contains("id=\"autopay-status\">off<"),
        "{}",
        before.text
    );

    e.save_method(&e.a, "save").await;
    // The next charge fails: authentication required.
    e.control(
        &format!("/_sim/accounts/{acct}/fail_next_off_session"),
        "code=authentication_required",
    )
    .await;
    let on_page = page(&e, &path).await;
    assert!(
        on_page.text.contains("id=\"autopay-status\">on<"),
        "{}",
        on_page.text
    );
    assert!(
        on_page.text.contains("visa card •••• 4242"),
        "{}",
        on_page.text
    );
    assert!(on_page.text.contains("id=\"autopay-next\""));
    assert!(
        on_page.text.contains("by the customer, on Stripe"),
        "{}",
        on_page.text
    );
    // Never more than brand and last four.
    assert!(!on_page.text.contains("2034"), "no expiry on the page");
    e.autopay_run(&on(20)).await;
    let failed = page(&e, &path).await;
    assert!(
        failed.text.contains("id=\"autopay-failure\""),
        "{}",
        failed.text
    );
    assert!(failed.text.contains("authentication_required"));

    // The viewer sees no form; a viewer session cannot turn it off.
    assert!(!failed.text.contains("/autopay/off"));
    let off_path = format!("/app/accounts/{}/autopay/off", e.a.account);
    let mut viewer = staff_browser(&e, "viewer@alpha.test", Role::Viewer, "198.51.100.51").await;
    let denied = post_form(&e, &mut viewer, &off_path, "").await;
    assert_eq!(denied.status, 403, "{}", denied.text);
    // A clerk's page has the form, with the CSRF token; without the token
    // nothing happens.
    let mut clerk = staff_browser(&e, "clerk@alpha.test", Role::Clerk, "198.51.100.52").await;
    let form_page = clerk.get(&e.app, &path).await;
    assert!(
        form_page.text.contains(&format!("action=\"{off_path}\"")),
        "{}",
        form_page.text
    );
    assert!(form_page.text.contains("name=\"csrf_token\""));
    let mut bare = clerk.clone();
    bare.csrf = None;
    let forged = post_form(&e, &mut bare, &off_path, "").await;
    assert_eq!(forged.status, 403, "{}", forged.text);
    assert_eq!(e.autopay_view(&e.a).await["status"], "active");
    let token = clerk.csrf.clone().unwrap();
    let done = post_form(&e, &mut bare, &off_path, &format!("csrf_token={token}")).await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(e.autopay_view(&e.a).await["status"], "off");
    let after = page(&e, &format!("{path}?done=autopay_off")).await;
    assert!(after.text.contains("detached at Stripe"), "{}", after.text);
    assert!(after.text.contains("id=\"autopay-status\">off<"));
    // Another association's account: 404 for the form.
    let theirs = e
        .app
        .request(
            Method::POST,
            &format!("/app/accounts/{}/autopay/off", e.b.account),
            Some(e.a.admin_key.expose()),
            None,
        )
        .await;
    assert_eq!(theirs.status, 404);
});
