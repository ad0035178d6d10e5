//! Refunds and disputes.

use super::env;
use crate::db_test;
use aqueduct_stripe_sim::DeliveryOptions;
use axum::body::Body;
use http::Request;
use serde_json::json;

pub(super) async fn refund(
    e: &super::PayEnv,
    payment: &str,
    body: serde_json::Value,
    key: &str,
) -> crate::support::app::TestResponse {
    let req = Request::builder()
        .method("POST")
        .uri(format!("/api/v1/payments/{payment}/refunds"))
        .header(
            "authorization",
            format!("Bearer {}", e.a.admin_key.expose()),
        )
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    e.app.send(req).await
}

db_test!(partial_refund_and_over_refund_refused, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    e.onboard(&e.a).await;
    let (p, _) = e.pay_with(&e.a, 10_000, "pay").await;
    e.drain().await;
    let (paid, _) = e.ledger(&e.a, "refund").await;
    let r1 = refund(
        &e,
        &p,
        json!({"amount_cents": 2_500, "reason": "leak adjustment"}),
        "r-1",
    )
    .await;
    assert_eq!(r1.status, 201, "{}", r1.text);
    assert_eq!(r1.json()["status"], "succeeded");
    // Same key again: the same refund, not a second one.
    let again = refund(
        &e,
        &p,
        json!({"amount_cents": 2_500, "reason": "leak adjustment"}),
        "r-1",
    )
    .await;
    assert_eq!(again.json()["id"], r1.json()["id"]);
    let over = refund(&e, &p, json!({"amount_cents": 7_501}), "r-2").await;
    assert_eq!(over.status, 422, "{}", over.text);
    e.drain().await;
    let pay = e.payment(&e.a, &p).await;
    assert_eq!(pay["refunded_cents"], 2_500);
    assert_eq!(pay["refunds"].as_array().unwrap().len(), 1);
    // The rest, by default.
    let rest = refund(&e, &p, json!({}), "r-3").await;
    assert_eq!(rest.json()["amount_cents"], 7_500);
    e.drain().await;
    assert_eq!(e.payment(&e.a, &p).await["refunded_cents"], 10_000);
    assert_eq!(e.ledger(&e.a, "refund").await, (paid + 10_000, 2));
    let none_left = refund(&e, &p, json!({"amount_cents": 1}), "r-4").await;
    assert_eq!(none_left.status, 422);
    // A pending payment cannot be refunded.
    let pending = refund(&e, &e.a.payment.to_string(), json!({}), "r-5").await;
    assert_eq!(pending.status, 422);
});

db_test!(dispute_hold_and_release, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    e.onboard(&e.a).await;
    let (won, _) = e.pay_with(&e.a, 5_000, "pay").await;
    let (lost, _) = e.pay_with(&e.a, 6_000, "pay").await;
    e.drain().await;
    let (paid, _) = e.ledger(&e.a, "dispute_hold").await;
    let mut ids = Vec::new();
    for p in [&won, &lost] {
        let pi = e.payment(&e.a, p).await["payment_intent_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (code, text) = e
            .control(
                "/_sim/disputes",
                &format!("payment_intent={pi}&reason=fraudulent"),
            )
            .await;
        assert!(code < 400, "{text}");
        let du: serde_json::Value = serde_json::from_str(&text).unwrap();
        ids.push(du["id"].as_str().unwrap().to_owned());
    }
    e.drain().await;
    for p in [&won, &lost] {
        let d = &e.payment(&e.a, p).await["disputes"][0];
        assert_eq!(
            (d["held"].as_bool(), d["released"].as_bool()),
            (Some(true), Some(false)),
            "{d}"
        );
    }
    assert_eq!(e.ledger(&e.a, "dispute_hold").await, (paid + 11_000, 2));
    e.control(&format!("/_sim/disputes/{}/win", ids[0]), "")
        .await;
    e.control(&format!("/_sim/disputes/{}/lose", ids[1]), "")
        .await;
    e.drain().await;
    let w = &e.payment(&e.a, &won).await["disputes"][0];
    assert_eq!(
        (w["status"].as_str(), w["released"].as_bool()),
        (Some("won"), Some(true))
    );
    let l = &e.payment(&e.a, &lost).await["disputes"][0];
    assert_eq!(
        (l["status"].as_str(), l["released"].as_bool()),
        (Some("lost"), Some(false))
    );
    // The won hold is reversed; the lost one stays.
    assert_eq!(e.ledger(&e.a, "reversal").await, (paid + 6_000, 1));
});
