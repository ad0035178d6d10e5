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
