//! The platform fee: set per association by operators (audited), shown to
//! the association's admins, sent as `application_fee_amount`.

use super::env;
use crate::db_test;
use crate::support::audits;
use crate::support::browser::{self, Browser, PASSWORD};
use aqueduct_stripe_sim::DeliveryOptions;
use http::Method;
use serde_json::json;

db_test!(operators_set_the_platform_fee_admins_see_it, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    let app = &e.app;
    browser::operator(&app.pool, app.clock.as_ref(), "ops@platform.test").await;
    let mut op = Browser::from_ip("192.0.2.31");
    op.sign_in(app, "ops@platform.test", PASSWORD).await;
    op.enrol_totp(app).await;
    let path = "/api/v1/operator/tenants/alpha/platform-fee";

    // Settable before the association connects Stripe.
    let early = op
        .json(app, Method::PUT, path, Some(json!({"basis_points": 100})))
        .await;
    assert_eq!(early.status, 200, "{}", early.text);
    assert_eq!(early.json()["on_10000_cents"], 100);
    e.onboard(&e.a).await;
    e.onboard(&e.b).await;

    // An association's own admin cannot set it.
    let own = app
        .request(
            Method::PUT,
            path,
            Some(e.a.admin_key.expose()),
            Some(json!({"basis_points": 0, "fixed_cents": 0})),
        )
        .await;
    assert!(matches!(own.status.as_u16(), 401 | 403), "{}", own.text);
    let bad = op
        .json(
            app,
            Method::PUT,
            path,
            Some(json!({"basis_points": 10_001, "fixed_cents": 0})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    let negative = op
        .json(
            app,
            Method::PUT,
            path,
            Some(json!({"basis_points": 0, "fixed_cents": -1})),
        )
        .await;
    assert_eq!(negative.status, 422, "{}", negative.text);

    let set = op
        .json(
            app,
            Method::PUT,
            path,
            Some(json!({"basis_points": 250, "fixed_cents": 30, "reason": "standard plan"})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.json()["on_10000_cents"], 280);

    // Shown to the association's admins; the other association is untouched.
    let fees = app.get("/api/v1/stripe/fees", e.a.admin_key.expose()).await;
    assert_eq!(fees.status, 200, "{}", fees.text);
    assert_eq!(
        fees.json()["platform_fee"],
        json!({"basis_points": 250, "fixed_cents": 30, "on_10000_cents": 280})
    );
    assert_eq!(e.status(&e.a).await["fee_basis_points"], 250);
    let other = app.get("/api/v1/stripe/fees", e.b.admin_key.expose()).await;
    assert_eq!(other.json()["platform_fee"]["on_10000_cents"], 0);
    let clerk = app
        .get("/api/v1/stripe/fees", e.a.viewer_key.expose())
        .await;
    assert_eq!(clerk.status, 403);

    // Audited in the association's own log, with the change.
    let log = audits::tenant_audit(app, &e.a).await;
    let entry = log
        .iter()
        .find(|l| l.action == "payments.platform_fee.set")
        .expect("audited");
    assert_eq!(entry.outcome, "success");
    assert!(entry.actor.starts_with("user:"));
    let details: serde_json::Value =
        serde_json::from_str(entry.details.as_deref().unwrap()).unwrap();
    assert_eq!(details["from"]["basis_points"], 100);
    assert_eq!(details["note"], "standard plan");
    assert_eq!(details["to"]["fixed_cents"], 30);
    assert!(
        !audits::tenant_audit(app, &e.b)
            .await
            .iter()
            .any(|l| l.action == "payments.platform_fee.set")
    );

    // Used as the application fee of the next payment.
    let (payment, _) = e.pay_with(&e.a, 10_000, "pay").await;
    e.drain().await;
    let p = e.payment(&e.a, &payment).await;
    assert_eq!(p["status"], "succeeded");
    assert_eq!(p["application_fee_cents"], 280);
    let pi = e
        .sim
        .object(p["payment_intent_id"].as_str().unwrap())
        .unwrap();
    assert_eq!(pi["application_fee_amount"], 280);

    // Zero: no application fee at all.
    let zero = op
        .json(
            app,
            Method::PUT,
            path,
            Some(json!({"basis_points": 0, "fixed_cents": 0})),
        )
        .await;
    assert_eq!(zero.status, 200, "{}", zero.text);
    let (payment, _) = e.pay_with(&e.a, 5_000, "pay").await;
    e.drain().await;
    let p = e.payment(&e.a, &payment).await;
    assert_eq!(p["application_fee_cents"], 0);
    let pi = e
        .sim
        .object(p["payment_intent_id"].as_str().unwrap())
        .unwrap();
    assert!(pi["application_fee_amount"].is_null(), "{pi}");
});

// The convenience fee: off by default; set by the association's admin by
// payment method; quoted before paying; charged as its own line on Stripe's
// page; posted as its own ledger line; given back in proportion on refunds.
db_test!(convenience_fee_disclosed_posted_and_refunded, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    let app = &e.app;
    e.onboard(&e.a).await;
    let admin = e.a.admin_key.expose();
    let acct = e.a.account.to_string();
    let fees = app.get("/api/v1/stripe/fees", admin).await;
    assert_eq!(
        fees.json()["convenience_fee"],
        json!({"card": {"basis_points": 0, "fixed_cents": 0}, "us_bank_account": {"basis_points": 0, "fixed_cents": 0}}),
        "off by default"
    );
    let q = app
        .get(
            &format!("/api/v1/accounts/{acct}/payments/quote?amount_cents=10000"),
            admin,
        )
        .await;
    assert_eq!(q.status, 200, "{}", q.text);
    assert_eq!(q.json()["convenience_fee_cents"], 0);

    let body = json!({"card": {"basis_points": 300}, "us_bank_account": {"fixed_cents": 150}});
    let viewer = app
        .request(
            Method::PUT,
            "/api/v1/stripe/fees/convenience",
            Some(e.a.viewer_key.expose()),
            Some(body.clone()),
        )
        .await;
    assert_eq!(viewer.status, 403);
    let too_much = app
        .request(
            Method::PUT,
            "/api/v1/stripe/fees/convenience",
            Some(admin),
            Some(json!({"card": {"basis_points": 1_001}})),
        )
        .await;
    assert_eq!(too_much.status, 422, "{}", too_much.text);
    let set = app
        .request(
            Method::PUT,
            "/api/v1/stripe/fees/convenience",
            Some(admin),
            Some(body),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert!(audits::has(
        &audits::tenant_audit(app, &e.a).await,
        "payments.convenience_fee.set",
        "success"
    ));
    // The other association charges none.
    let other = app.get("/api/v1/stripe/fees", e.b.admin_key.expose()).await;
    assert_eq!(other.json()["convenience_fee"]["card"]["basis_points"], 0);

    // Disclosed before paying.
    let quote = |m: &str| {
        let path = format!("/api/v1/accounts/{acct}/payments/quote?amount_cents=10000&method={m}");
        async move { app.get(&path, admin).await }
    };
    assert_eq!(
        quote("card").await.json(),
        json!({"amount_cents": 10_000, "convenience_fee_cents": 300, "total_cents": 10_300, "method": "card"})
    );
    assert_eq!(
        quote("us_bank_account").await.json()["convenience_fee_cents"],
        150
    );
    assert_eq!(quote("cash").await.status, 422);
    let no_method = app
        .get(
            &format!("/api/v1/accounts/{acct}/payments/quote?amount_cents=10000"),
            admin,
        )
        .await;
    assert_eq!(no_method.status, 422, "{}", no_method.text);

    // Pay by card: the fee is its own line, only card is offered.
    let (balance_before, payments_before) = e.ledger(&e.a, "payment").await;
    let (_, charges_before) = e.ledger(&e.a, "charge").await;
    let plain = e.pay(&e.a, Some(10_000), "conv-no-method").await;
    assert_eq!(
        plain.status, 422,
        "the fee differs by method: {}",
        plain.text
    );
    let req = http::Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/accounts/{acct}/payments"))
        .header("authorization", format!("Bearer {admin}"))
        .header("idempotency-key", "conv-card")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            json!({"amount_cents": 10_000, "method": "card"}).to_string(),
        ))
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(res.status, 303, "{}", res.text);
    assert_eq!(res.headers["x-convenience-fee-cents"], "300");
    assert_eq!(res.headers["x-total-cents"], "10300");
    let session = crate::payments::session_of(&res);
    let payment = res.headers["x-payment-id"].to_str().unwrap().to_owned();
    let cs = e.sim.object(&session).unwrap();
    assert_eq!(cs["amount_total"], 10_300);
    assert_eq!(cs["payment_method_types"], json!(["card"]));
    let (code, _) = e
        .control(
            &format!("/_sim/checkout/sessions/{session}/complete"),
            "action=pay",
        )
        .await;
    assert!(code < 400);
    e.drain().await;
    let p = e.payment(&e.a, &payment).await;
    assert_eq!(p["status"], "succeeded");
    assert_eq!(p["captured_cents"], 10_300);
    assert_eq!(p["convenience_fee_cents"], 300);
    // One payment line for what was charged, one fee line: the account is
    // credited with the $100.00 it paid toward, exactly once.
    let (balance, payments) = e.ledger(&e.a, "payment").await;
    assert_eq!(payments, payments_before + 1);
    assert_eq!(balance, balance_before - 10_000);
    assert_eq!(e.ledger(&e.a, "charge").await.1, charges_before + 1);
    let events = e.sim.events_of_type("checkout.session.completed");
    assert!(!events.is_empty());
    e.drain().await;
    assert_eq!(e.ledger(&e.a, "charge").await.1, charges_before + 1, "once");

    // Refunded in two halves: the fee comes back in proportion, all of it
    // in the end, and the balance is where it started.
    let (_, credits_before) = e.ledger(&e.a, "credit").await;
    for (i, cents) in [5_150, 5_150].into_iter().enumerate() {
        let r = crate::payments::refunds::refund(
            &e,
            &payment,
            json!({"amount_cents": cents, "reason": "duplicate"}),
            &format!("conv-r-{i}"),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text);
        e.drain().await;
    }
    let (balance, _) = e.ledger(&e.a, "payment").await;
    assert_eq!(balance, balance_before);
    assert_eq!(e.ledger(&e.a, "credit").await.1, credits_before + 2);
    assert_eq!(e.payment(&e.a, &payment).await["refunded_cents"], 10_300);
});
