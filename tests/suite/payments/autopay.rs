//! Autopay: a payment method saved through Checkout in setup mode, the
//! daily run's notice and off-session charge, and its failures.

use super::{PayEnv, env};
use crate::db_test;
use crate::support::seed::Seeded;
use aqueduct_core::ManualClock;
use aqueduct_payments::autopay::{self, RunReport};
use aqueduct_stripe_sim::DeliveryOptions;
use chrono::{TimeZone, Utc};
use http::Method;
use serde_json::Value;

/// The seeded bill is due 2026-11-20; the run's clock is `day` at noon UTC.
pub(super) fn on(day: u32) -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap())
}

impl PayEnv {
    /// Starts autopay for `who`'s account as staff and finishes Stripe's
    /// setup page with `action`; returns the setup link's JSON.
    pub(super) async fn save_method(&self, who: &Seeded, action: &str) -> Value {
        let path = format!("/api/v1/accounts/{}/autopay", who.account);
        let res = self
            .app
            .request(Method::POST, &path, Some(who.admin_key.expose()), None)
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
        let link = res.json();
        // A second click while the page is open: the same page.
        let again = self
            .app
            .request(Method::POST, &path, Some(who.admin_key.expose()), None)
            .await;
        assert_eq!(again.json()["url"], link["url"]);
        let session = link["url"].as_str().unwrap().rsplit('/').next().unwrap();
        let (code, text) = self
            .control(
                &format!("/_sim/checkout/sessions/{session}/complete"),
                &format!("action={action}"),
            )
            .await;
        assert!(code < 400, "{code} {text}");
        self.drain().await;
        link
    }

    pub(super) async fn autopay_view(&self, who: &Seeded) -> Value {
        let res = self
            .app
            .get(
                &format!("/api/v1/accounts/{}/autopay", who.account),
                who.viewer_key.expose(),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        res.json()
    }

    pub(super) async fn autopay_run(&self, clock: &ManualClock) -> RunReport {
        let report = autopay::run(&self.app.pool, clock, &self.stripe)
            .await
            .unwrap();
        self.drain().await;
        report
    }

    async fn notices(&self, kind: &str) -> i64 {
        self.count_where("notifications", &format!("kind = '{kind}'"))
            .await
    }
}

db_test!(autopay_saves_a_method_notifies_and_charges_once, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    e.onboard(&e.a).await;
    assert_eq!(e.autopay_view(&e.a).await["status"], "none");
    e.save_method(&e.a, "save").await;
    let view = e.autopay_view(&e.a).await;
    assert_eq!(view["status"], "active", "{view}");
    assert_eq!(view["method_type"], "card");
    assert!(view["consented_at"].is_string());
    assert_eq!(view["setup_open"], false);
    // Only Stripe ids are stored.
    assert_eq!(
        e.count_where(
            "autopay_mandates",
            "stripe_customer_id LIKE 'cus_%' AND stripe_payment_method_id LIKE 'pm_%'"
        )
        .await,
        1
    );
    let (due, payments) = e.ledger(&e.a, "payment").await;
    assert!(due > 0, "the seeded account owes something");
    assert_eq!(payments, 0);

    // Too early: nothing.
    assert_eq!(e.autopay_run(&on(10)).await, RunReport::default());
    // Three days before the charge (the default notice): the notice, once.
    let r = e.autopay_run(&on(17)).await;
    assert_eq!((r.notified, r.charged), (1, 0), "{r:?}");
    assert_eq!(e.autopay_run(&on(18)).await, RunReport::default());
    assert_eq!(e.notices("autopay_upcoming").await, 1);
    assert_eq!(
        e.autopay_view(&e.a).await["charges"][0]["status"],
        "upcoming"
    );

    // The due date: charged off-session; the webhook posts it.
    let r = e.autopay_run(&on(20)).await;
    assert_eq!((r.charged, r.failed), (1, 0), "{r:?}");
    let (balance, payments) = e.ledger(&e.a, "payment").await;
    assert_eq!((balance, payments), (0, 1));
    let view = e.autopay_view(&e.a).await;
    assert_eq!(view["charges"][0]["status"], "charged");
    assert_eq!(view["charges"][0]["amount_cents"], due);
    let pid = view["charges"][0]["payment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let p = e.payment(&e.a, &pid).await;
    assert_eq!(p["status"], "succeeded", "{p}");
    // The PaymentIntent was off-session, confirmed, on the connected account.
    let pi = e.sim.events_of_type("payment_intent.succeeded");
    let pi = &pi.last().unwrap()["data"]["object"];
    assert_eq!(pi["amount"], due);
    assert_eq!(pi["metadata"]["aqueduct_autopay"], "true");

    // Again (and the day after): nothing new.
    assert_eq!(e.autopay_run(&on(20)).await, RunReport::default());
    assert_eq!(e.autopay_run(&on(21)).await, RunReport::default());
    assert_eq!(e.ledger(&e.a, "payment").await, (0, 1));
    assert_eq!(e.sim.events_of_type("payment_intent.created").len(), 1);

    // Turning it off stops charges; the other association never saw any of it.
    let off = e
        .app
        .request(
            Method::DELETE,
            &format!("/api/v1/accounts/{}/autopay", e.a.account),
            Some(e.a.admin_key.expose()),
            None,
        )
        .await;
    assert_eq!(off.json()["was_on"], true);
    assert_eq!(e.autopay_view(&e.a).await["status"], "off");
    assert_eq!(e.autopay_view(&e.b).await["status"], "none");
});

db_test!(
    autopay_failures_mark_the_bill_notify_and_fall_back_to_manual,
    |db| {
        let e = env(db, DeliveryOptions::default()).await;
        let acct_a = e.onboard(&e.a).await;
        e.onboard(&e.b).await;
        // A: the card needs authentication at the next off-session charge.
        e.save_method(&e.a, "save").await;
        let (code, text) = e
            .control(
                &format!("/_sim/accounts/{acct_a}/fail_next_off_session"),
                "code=authentication_required",
            )
            .await;
        assert_eq!(code, 200, "{text}");
        // B: a card whose off-session charges are declined.
        e.save_method(&e.b, "save_declining").await;
        let (due_a, _) = e.ledger(&e.a, "payment").await;
        let (due_b, _) = e.ledger(&e.b, "payment").await;

        let r = e.autopay_run(&on(20)).await;
        assert_eq!((r.charged, r.failed), (0, 2), "{r:?}");
        for (who, code, due) in [
            (&e.a, "authentication_required", due_a),
            (&e.b, "card_declined", due_b),
        ] {
            let view = e.autopay_view(who).await;
            let c = &view["charges"][0];
            assert_eq!(c["status"], "failed", "{view}");
            assert_eq!(c["failure_code"], code);
            assert!(c["failure_reason"].as_str().unwrap().contains("declined"));
            let p = e.payment(who, c["payment_id"].as_str().unwrap()).await;
            assert_eq!(p["status"], "failed", "{p}");
            // Nothing posted; the amount is still due.
            assert_eq!(e.ledger(who, "payment").await, (due, 0));
            // The mandate stays: the next bill is tried again.
            assert_eq!(view["status"], "active");
        }
        // One autopay_failed notice per bill, even after the webhooks and a rerun.
        assert_eq!(e.notices("autopay_failed").await, 2);
        assert_eq!(e.autopay_run(&on(21)).await, RunReport::default());
        assert_eq!(e.notices("autopay_failed").await, 2);
        // Falls back to manual: the customer pays on Stripe's page.
        e.pay_with(&e.a, due_a, "pay").await;
        e.drain().await;
        assert_eq!(e.ledger(&e.a, "payment").await, (0, 1));
    }
);

db_test!(autopay_saves_a_bank_account_and_changes_method, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    e.onboard(&e.a).await;
    e.save_method(&e.a, "save").await;
    let first = e.autopay_view(&e.a).await;
    // Changing the method: a new setup page; the card stays in use until
    // Stripe saves the bank account.
    e.save_method(&e.a, "save_bank").await;
    let view = e.autopay_view(&e.a).await;
    assert_eq!(view["status"], "active");
    assert_eq!(view["method_type"], "us_bank_account");
    assert_ne!(view["consented_at"], Value::Null);
    assert_eq!(first["method_type"], "card");
    assert_eq!(e.count("autopay_mandates").await, 1);
    // A bank debit processes; it is not posted until it settles.
    let r = e.autopay_run(&on(20)).await;
    assert_eq!(r.charged, 1, "{r:?}");
    let pid = e.autopay_view(&e.a).await["charges"][0]["payment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(e.payment(&e.a, &pid).await["status"], "processing");
    assert_eq!(e.ledger(&e.a, "payment").await.1, 0);
});
