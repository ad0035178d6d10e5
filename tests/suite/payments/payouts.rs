//! Payouts: stored from `payout.paid` / `payout.failed`, their balance
//! transactions matched to the ledger, a mismatch flagged.

use super::env;
use super::refunds::refund;
use crate::db_test;
use aqueduct_stripe_sim::DeliveryOptions;
use http::Method;
use serde_json::{Value, json};

async fn payouts(e: &super::PayEnv) -> Vec<Value> {
    let res = e.app.get("/api/v1/payouts", e.a.viewer_key.expose()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.json()["payouts"].as_array().unwrap().clone()
}

async fn payout(e: &super::PayEnv, id: &str) -> Value {
    let res = e
        .app
        .get(&format!("/api/v1/payouts/{id}"), e.a.viewer_key.expose())
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.json()
}

fn items<'a>(p: &'a Value, kind: &str) -> Vec<&'a Value> {
    p["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == kind)
        .collect()
}

db_test!(
    payout_is_reconciled_with_the_ledger_and_a_mismatch_is_flagged,
    |db| {
        let e = env(db, DeliveryOptions::default()).await;
        let acct = e.onboard(&e.a).await;
        let (p1, _) = e.pay_with(&e.a, 5_000, "pay").await;
        e.pay_with(&e.a, 3_000, "pay").await;
        e.drain().await;
        let r = refund(&e, &p1, json!({"amount_cents": 1_000}), "po-r1").await;
        assert_eq!(r.status, 201, "{}", r.text);
        let pi = e.payment(&e.a, &p1).await["payment_intent_id"]
            .as_str()
            .unwrap()
            .to_owned();
        e.control("/_sim/disputes", &format!("payment_intent={pi}"))
            .await;
        e.drain().await;
        // The seeded in-transit payout is there already.
        let seeded = payouts(&e).await.len();

        let (code, text) = e.control("/_sim/payouts", &format!("account={acct}")).await;
        assert_eq!(code, 200, "{text}");
        let po: Value = serde_json::from_str(&text).unwrap();
        e.drain().await;
        let list = payouts(&e).await;
        assert_eq!(list.len(), seeded + 1);
        let row = list
            .iter()
            .find(|p| p["stripe_payout_id"] == po["id"])
            .unwrap();
        assert_eq!(row["status"], "paid");
        assert_eq!(row["amount_cents"], po["amount"]);
        assert_eq!(row["reconciliation"], "matched", "{row}");
        let detail = payout(&e, row["id"].as_str().unwrap()).await;
        assert_eq!(items(&detail, "charge").len(), 2, "{detail}");
        assert_eq!(items(&detail, "refund").len(), 1);
        assert_eq!(items(&detail, "adjustment").len(), 1);
        assert_eq!(items(&detail, "payout").len(), 1);
        for i in detail["items"].as_array().unwrap() {
            assert_eq!(i["status"], "ok", "{i}");
            assert_ne!(i["matched"], "none", "{i}");
        }
        assert_eq!(items(&detail, "refund")[0]["amount_cents"], -1_000);
        // Delivered twice: still one payout, one set of items.
        let paid = e.sim.events_of_type("payout.paid");
        e.control(
            &format!("/_sim/events/{}/resend", paid[0]["id"].as_str().unwrap()),
            "",
        )
        .await;
        e.drain().await;
        assert_eq!(payouts(&e).await.len(), seeded + 1);
        assert_eq!(
            payout(&e, row["id"].as_str().unwrap()).await["items"]
                .as_array()
                .unwrap()
                .len(),
            5
        );

        // A payment whose webhooks were lost: Stripe paid it out, our ledger
        // does not have it.
        e.sim.update_config(|c| {
            c.delivery.drop_types = vec!["payment_intent.*".into(), "checkout.session.*".into()]
        });
        e.pay_with(&e.a, 2_000, "pay").await;
        e.sim.update_config(|c| c.delivery.drop_types.clear());
        let (code, text) = e.control("/_sim/payouts", &format!("account={acct}")).await;
        assert_eq!(code, 200, "{text}");
        let po2: Value = serde_json::from_str(&text).unwrap();
        e.drain().await;
        let row2 = payouts(&e)
            .await
            .into_iter()
            .find(|p| p["stripe_payout_id"] == po2["id"])
            .unwrap();
        assert_eq!(row2["reconciliation"], "mismatch", "{row2}");
        assert!(row2["mismatches"].as_i64().unwrap() >= 1);
        let detail2 = payout(&e, row2["id"].as_str().unwrap()).await;
        let charge = items(&detail2, "charge");
        assert_eq!(charge.len(), 1);
        assert_eq!(charge[0]["status"], "amount_mismatch", "{detail2}");
        assert_eq!(charge[0]["amount_cents"], 2_000);
        assert_eq!(charge[0]["expected_cents"], 0);
        // Another association sees none of it.
        let other = e.app.get("/api/v1/payouts", e.b.viewer_key.expose()).await;
        assert!(!other.text.contains(po["id"].as_str().unwrap()));
        let theirs = e
            .app
            .get(
                &format!("/api/v1/payouts/{}", row["id"].as_str().unwrap()),
                e.b.viewer_key.expose(),
            )
            .await;
        assert_eq!(theirs.status, 404);
    }
);

db_test!(failed_payout_is_stored_and_staff_are_told, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    let acct = e.onboard(&e.a).await;
    let res = e
        .app
        .request(
            Method::PUT,
            "/api/v1/notification-settings",
            Some(e.a.admin_key.expose()),
            Some(json!({ "staff_address": "office@alpha.test", "default_locale": "en" })),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    e.pay_with(&e.a, 4_000, "pay").await;
    e.drain().await;
    let (code, text) = e
        .control("/_sim/payouts", &format!("account={acct}&fail=true"))
        .await;
    assert_eq!(code, 200, "{text}");
    let po: Value = serde_json::from_str(&text).unwrap();
    e.drain().await;
    let row = payouts(&e)
        .await
        .into_iter()
        .find(|p| p["stripe_payout_id"] == po["id"])
        .unwrap();
    assert_eq!(row["status"], "failed");
    assert_eq!(row["failure_message"], "The bank account has been closed.");
    assert_eq!(
        e.count_where(
            "notifications",
            "kind = 'payout_failed' AND recipient = 'office@alpha.test'"
        )
        .await,
        1
    );
    // A late `payout.created` (in transit) does not move it back.
    let created = e.sim.events_of_type("payout.created");
    e.control(
        &format!("/_sim/events/{}/resend", created[0]["id"].as_str().unwrap()),
        "",
    )
    .await;
    e.drain().await;
    let row = payouts(&e)
        .await
        .into_iter()
        .find(|p| p["stripe_payout_id"] == po["id"])
        .unwrap();
    assert_eq!(row["status"], "failed");
});
