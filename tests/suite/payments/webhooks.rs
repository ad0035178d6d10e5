//! The webhook endpoint: signatures, duplicates, order, tenants.

use super::env;
use crate::db_test;
use aqueduct_core::Clock;
use aqueduct_stripe_sim::DeliveryOptions;
use serde_json::json;

db_test!(bad_and_stale_signatures_are_400_and_write_nothing, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    let acct = e.onboard(&e.a).await;
    let (events, jobs) = (e.count("stripe_events").await, e.count("jobs").await);
    let now = e.app.clock.now().timestamp();
    let payload = json!({
        "id": "evt_forged_1", "object": "event", "type": "account.updated", "account": acct,
        "livemode": false, "created": now + 60, "api_version": "2026-09-30.endive", "pending_webhooks": 1,
        "data": {"object": {"id": acct, "object": "account", "charges_enabled": false}}
    })
    .to_string();
    let wrong = e.deliver(&payload, "whsec_wrong", now).await;
    assert_eq!(wrong.status, 400);
    let stale = e
        .deliver(&payload, &e.sim.webhook_secret(), now - 301)
        .await;
    assert_eq!(stale.status, 400);
    // Signed bytes, different body (re-serialised JSON) → 400.
    let sig =
        aqueduct_stripe_sim::signature_header(&e.sim.webhook_secret(), now, payload.as_bytes());
    let req = http::Request::builder()
        .method("POST")
        .uri("/webhooks/stripe")
        .header("stripe-signature", sig)
        .body(axum::body::Body::from(payload.replace(",\"", ", \"")))
        .unwrap();
    assert_eq!(e.app.send(req).await.status, 400);
    let none = e
        .app
        .request(
            http::Method::POST,
            "/webhooks/stripe",
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(none.status, 400);
    assert_eq!(e.count("stripe_events").await, events);
    assert_eq!(e.count("jobs").await, jobs);
    // The retired secret still verifies (rotation), and the good one does.
    let rotated = e.deliver(&payload, "whsec_retired", now).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    e.worker.run_until_idle().await.unwrap();
    // Its charges_enabled=false is newer than the onboarding: applied.
    assert_eq!(e.status(&e.a).await["charges_enabled"], false);
});

db_test!(duplicates_sequential_and_concurrent_post_once, |db| {
    let e = env(
        db,
        DeliveryOptions {
            deliver_twice: true,
            ..DeliveryOptions::default()
        },
    )
    .await;
    e.onboard(&e.a).await;
    let (p1, _) = e.pay_with(&e.a, 7_000, "pay").await;
    e.drain().await;
    e.sim
        .update_config(|c| c.delivery.concurrent_duplicates = true);
    let (p2, _) = e.pay_with(&e.a, 8_000, "pay").await;
    e.drain().await;
    let delivered = e
        .sim
        .deliveries()
        .iter()
        .filter(|d| d.status == Some(200))
        .count();
    let distinct = e
        .sim
        .events()
        .iter()
        .filter(|ev| ev["account"].is_string())
        .count();
    assert!(
        delivered >= 2 * distinct - 1,
        "{delivered} deliveries of {distinct} events"
    );
    assert_eq!(e.count("stripe_events").await as usize, distinct);
    for (id, cents) in [(p1, 7_000), (p2, 8_000)] {
        let p = e.payment(&e.a, &id).await;
        assert_eq!(
            (p["status"].as_str(), p["captured_cents"].as_i64()),
            (Some("succeeded"), Some(cents))
        );
    }
    let (_, before) = e.ledger(&e.a, "payment").await;
    // A resent event changes nothing.
    let any = e.sim.events_of_type("payment_intent.succeeded")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    e.control(&format!("/_sim/events/{any}/resend"), "").await;
    e.drain().await;
    assert_eq!(e.count("stripe_events").await as usize, distinct);
    assert_eq!(e.ledger(&e.a, "payment").await.1, before);
});

db_test!(reordered_events_converge, |db| {
    let e = env(
        db,
        DeliveryOptions {
            out_of_order: true,
            delay_ms: 100,
            ..DeliveryOptions::default()
        },
    )
    .await;
    e.onboard(&e.a).await;
    assert_eq!(e.status(&e.a).await["charges_enabled"], true);
    let (card, _) = e.pay_with(&e.a, 5_000, "pay").await;
    let (bank_bad, _) = e.pay_with(&e.a, 6_000, "bank_fail").await;
    e.drain().await;
    let pi = e.payment(&e.a, &bank_bad).await["payment_intent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    e.control(&format!("/_sim/payment_intents/{pi}/settle"), "")
        .await;
    e.drain().await;
    assert_eq!(e.payment(&e.a, &card).await["status"], "succeeded");
    assert_eq!(e.payment(&e.a, &bank_bad).await["status"], "failed");
    // Replaying the older processing event cannot move a final state back.
    let processing = e.sim.events_of_type("payment_intent.processing")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, _) = e
        .control(&format!("/_sim/events/{processing}/resend"), "")
        .await;
    assert!(code < 400);
    e.drain().await;
    assert_eq!(e.payment(&e.a, &bank_bad).await["status"], "failed");
});

db_test!(events_cannot_cross_tenants, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    let acct_a = e.onboard(&e.a).await;
    let acct_b = e.onboard(&e.b).await;
    let now = e.app.clock.now().timestamp();
    // An event on B's account naming A's payment id in its metadata.
    let a_payment = e.a.payment.to_string();
    let payload = json!({
        "id": "evt_cross_1", "object": "event", "type": "payment_intent.succeeded", "account": acct_b,
        "livemode": false, "created": now, "api_version": "2026-09-30.endive", "pending_webhooks": 1,
        "data": {"object": {"id": "pi_cross", "object": "payment_intent", "amount_received": 4200,
            "metadata": {"aqueduct_payment_id": a_payment}}}
    })
    .to_string();
    let res = e.deliver(&payload, &e.sim.webhook_secret(), now).await;
    assert_eq!(res.status, 200);
    e.worker.run_until_idle().await.unwrap();
    let p = e.payment(&e.a, &a_payment).await;
    assert_eq!(
        (p["status"].as_str(), p["posted"].as_bool()),
        (Some("pending"), Some(false))
    );
    // An unknown connected account: acknowledged, nothing written.
    let before = (e.count("stripe_events").await, e.count("jobs").await);
    let unknown = payload
        .replace(&acct_b, "acct_unknown123")
        .replace("evt_cross_1", "evt_cross_2");
    assert_eq!(
        e.deliver(&unknown, &e.sim.webhook_secret(), now)
            .await
            .status,
        200
    );
    assert_eq!(
        (e.count("stripe_events").await, e.count("jobs").await),
        before
    );
    // A live-mode event on our test key: acknowledged, nothing written.
    let live = payload
        .replace("\"livemode\":false", "\"livemode\":true")
        .replace("evt_cross_1", "evt_cross_3");
    assert_eq!(
        e.deliver(&live, &e.sim.webhook_secret(), now).await.status,
        200
    );
    assert_eq!(
        (e.count("stripe_events").await, e.count("jobs").await),
        before
    );
    assert_ne!(acct_a, acct_b);
});
