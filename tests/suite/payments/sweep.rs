//! The reconciliation sweep repairs what lost webhooks left out, once; an
//! event about an object we do not know yet is retried and converges.

use super::env;
use crate::db_test;
use aqueduct_core::Clock;
use aqueduct_payments::sweep;
use aqueduct_stripe_sim::DeliveryOptions;
use serde_json::json;

db_test!(sweep_posts_a_payment_whose_webhooks_were_lost_once, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    e.onboard(&e.a).await;
    e.onboard(&e.b).await;
    let (before, _) = e.ledger(&e.a, "payment").await;
    // Every event about the payment is lost.
    e.sim
        .update_config(|c| c.delivery.drop_types = vec!["*".into()]);
    let (paid, _) = e.pay_with(&e.a, 2_500, "pay").await;
    let (paid_b, _) = e.pay_with(&e.b, 1_500, "pay").await;
    e.drain().await;
    assert_eq!(e.payment(&e.a, &paid).await["status"], "pending");
    assert_eq!(e.ledger(&e.a, "payment").await, (before, 0));
    let r = sweep::run(&e.app.pool, e.app.clock.as_ref(), &e.stripe)
        .await
        .unwrap();
    assert!(r.applied >= 2, "{r:?}");
    assert_eq!(r.errors, 0, "{r:?}");
    let p = e.payment(&e.a, &paid).await;
    assert_eq!(p["status"], "succeeded", "{p}");
    assert_eq!(e.ledger(&e.a, "payment").await, (before - 2_500, 1));
    assert_eq!(e.payment(&e.b, &paid_b).await["status"], "succeeded");
    // Again: nothing new.
    let entries = e.count("ledger_entries").await;
    let notes = e.count("notifications").await;
    sweep::run(&e.app.pool, e.app.clock.as_ref(), &e.stripe)
        .await
        .unwrap();
    assert_eq!(e.count("ledger_entries").await, entries);
    assert_eq!(e.count("notifications").await, notes);
    assert_eq!(e.ledger(&e.a, "payment").await, (before - 2_500, 1));

    // A dispute whose webhooks are lost: the sweep holds it, once.
    let pi = e.payment(&e.a, &paid).await["payment_intent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, text) = e
        .control("/_sim/disputes", &format!("payment_intent={pi}"))
        .await;
    assert!(code < 400, "{text}");
    e.drain().await;
    assert_eq!(e.ledger(&e.a, "dispute_hold").await.1, 0);
    for _ in 0..2 {
        sweep::run(&e.app.pool, e.app.clock.as_ref(), &e.stripe)
            .await
            .unwrap();
    }
    assert_eq!(e.ledger(&e.a, "dispute_hold").await, (before, 1));

    // The events were recorded by Stripe, never delivered.
    assert!(
        e.sim
            .deliveries()
            .iter()
            .all(|d| !d.event_type.starts_with("payment_intent"))
    );
    // Delivered late after all: still one posting each.
    e.sim.update_config(|c| c.delivery.drop_types.clear());
    for ev in e.sim.events_of_type("payment_intent.succeeded") {
        e.control(
            &format!("/_sim/events/{}/resend", ev["id"].as_str().unwrap()),
            "",
        )
        .await;
    }
    e.drain().await;
    assert_eq!(e.ledger(&e.a, "payment").await.1, 1);
    assert_eq!(e.ledger(&e.a, "dispute_hold").await, (before, 1));
});

db_test!(
    an_event_about_an_unknown_object_is_retried_and_converges,
    |db| {
        let e = env(db, DeliveryOptions::default()).await;
        let acct = e.onboard(&e.a).await;
        let payment = aqueduct_payments::checkout::record_pending(
            &e.app.pool,
            &e.a.tenant,
            e.app.clock.as_ref(),
            e.a.account,
            aqueduct_core::Money::usd(3_000),
            "retry-later",
        )
        .await
        .unwrap();
        let now = e.app.clock.now().timestamp();
        let event = |id: &str, kind: &str, object: serde_json::Value| {
            json!({
            "id": id, "object": "event", "type": kind, "account": acct, "livemode": false,
            "created": now, "api_version": aqueduct_stripe_sim::API_VERSION, "pending_webhooks": 1,
            "request": {"id": null, "idempotency_key": null},
            "data": {"object": object}
        })
        .to_string()
        };
        // The PaymentIntent's success arrives first, naming only the PaymentIntent.
        let succeeded = event(
            "evt_early_1",
            "payment_intent.succeeded",
            json!({"id": "pi_early_1", "object": "payment_intent", "status": "succeeded",
               "amount": 3_000, "amount_received": 3_000, "latest_charge": "ch_early_1", "metadata": {}}),
        );
        let res = e.deliver(&succeeded, &e.sim.webhook_secret(), now).await;
        assert_eq!(res.status, 200, "{}", res.text);
        let stats = e.worker.run_until_idle().await.unwrap();
        assert_eq!(stats.retried, 1, "{stats:?}");
        assert_eq!(
            e.count_where(
                "jobs",
                "kind = 'stripe.event' AND status = 'queued' AND last_error LIKE '%not known yet%'"
            )
            .await,
            1
        );
        assert_eq!(e.ledger(&e.a, "payment").await.1, 0);
        // Then the session that ties the PaymentIntent to our payment.
        let completed = event(
            "evt_early_2",
            "checkout.session.completed",
            json!({"id": "cs_test_early", "object": "checkout.session", "mode": "payment",
               "status": "complete", "payment_status": "unpaid", "payment_intent": "pi_early_1",
               "amount_total": 3_000, "metadata": {"aqueduct_payment_id": payment.to_string()}}),
        );
        let res = e.deliver(&completed, &e.sim.webhook_secret(), now).await;
        assert_eq!(res.status, 200, "{}", res.text);
        e.worker.run_until_idle().await.unwrap();
        assert_eq!(
            e.ledger(&e.a, "payment").await.1,
            0,
            "not yet: the retry waits"
        );
        // The retry's time comes (30 s backoff): it converges, posting once.
        e.app
            .clock
            .set(e.app.clock.now() + chrono::Duration::seconds(31));
        e.worker.run_until_idle().await.unwrap();
        assert_eq!(e.ledger(&e.a, "payment").await.1, 1);
        let p = e.payment(&e.a, &payment.to_string()).await;
        assert_eq!(p["status"], "succeeded", "{p}");
        assert_eq!(
            e.count_where("jobs", "kind = 'stripe.event' AND status = 'done'")
                .await,
            e.count_where("jobs", "kind = 'stripe.event'").await
        );
    }
);
