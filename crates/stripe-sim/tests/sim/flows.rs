//! Hosted-page and control-route flows: bank debits, declines, expiry, disputes, payouts.

use std::time::Duration;

use aqueduct_stripe_sim::SimConfig;
use serde_json::Value;

use crate::common::Api;
use crate::faithfulness::parse_event;

async fn session(api: &Api, account: Option<&str>, amount: &str) -> Value {
    api.post(
        "/v1/checkout/sessions",
        account,
        &[
            ("mode", "payment"),
            ("success_url", "http://app.test/ok"),
            ("cancel_url", "http://app.test/back"),
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][unit_amount]", amount),
            ("line_items[0][price_data][product_data][name]", "Water"),
            ("line_items[0][quantity]", "1"),
        ],
    )
    .await
    .ok()
}

fn types(api: &Api) -> Vec<String> {
    api.sim
        .events()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn bank_payment_processing_then_succeeds_or_fails() {
    let api = Api::start().await;
    let acct = api.onboarded_account().await;
    for (action, expect) in [
        ("bank_succeed", "succeeded"),
        ("bank_fail", "requires_payment_method"),
    ] {
        let cs = session(&api, Some(&acct), "5400").await;
        let r = api
            .submit(cs["url"].as_str().unwrap(), &format!("action={action}"))
            .await;
        assert_eq!(r.status, 303);
        assert_eq!(r.header("location").as_deref(), Some("http://app.test/ok"));
        let cs = api
            .get(
                &format!("/v1/checkout/sessions/{}", cs["id"].as_str().unwrap()),
                Some(&acct),
            )
            .await
            .ok();
        assert_eq!(
            (cs["status"].as_str(), cs["payment_status"].as_str()),
            (Some("complete"), Some("unpaid"))
        );
        let pi_id = cs["payment_intent"].as_str().unwrap().to_owned();
        let pi = api
            .get(&format!("/v1/payment_intents/{pi_id}"), Some(&acct))
            .await
            .ok();
        assert_eq!(pi["status"], "processing");
        assert_eq!(pi["payment_method_types"][0], "us_bank_account");
        let settled = api
            .submit(&format!("/_sim/payment_intents/{pi_id}/settle"), "")
            .await
            .ok();
        assert_eq!(settled["status"], expect);
        let cs = api
            .get(
                &format!("/v1/checkout/sessions/{}", cs["id"].as_str().unwrap()),
                Some(&acct),
            )
            .await
            .ok();
        assert_eq!(
            cs["payment_status"],
            if expect == "succeeded" {
                "paid"
            } else {
                "unpaid"
            }
        );
    }
    let t = types(&api);
    for k in [
        "payment_intent.processing",
        "charge.pending",
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "payment_intent.payment_failed",
    ] {
        assert!(t.iter().any(|x| x == k), "no {k}");
    }
    for ev in api.sim.events() {
        parse_event(&ev);
    }
}

#[tokio::test]
async fn bank_payment_settles_by_itself_after_the_delay() {
    let api = Api::with(SimConfig {
        ach_settle_delay_ms: 50,
        ..SimConfig::default()
    })
    .await;
    let cs = session(&api, None, "1200").await;
    api.submit(cs["url"].as_str().unwrap(), "action=bank_succeed")
        .await;
    let mut status = Value::Null;
    for _ in 0..100 {
        let s = api
            .get(
                &format!("/v1/checkout/sessions/{}", cs["id"].as_str().unwrap()),
                None,
            )
            .await
            .ok();
        status = s["payment_status"].clone();
        if status == "paid" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, "paid");
}

#[tokio::test]
async fn decline_stays_on_the_page_then_pay_completes() {
    let api = Api::start().await;
    let cs = session(&api, None, "2000").await;
    let url = cs["url"].as_str().unwrap();
    let declined = api.submit(url, "action=decline").await;
    assert_eq!(declined.status, 200);
    assert!(declined.text.contains("Your card was declined."));
    let open = api
        .get(
            &format!("/v1/checkout/sessions/{}", cs["id"].as_str().unwrap()),
            None,
        )
        .await
        .ok();
    assert_eq!(open["status"], "open");
    let paid = api.submit(url, "action=pay").await;
    assert_eq!(paid.status, 303);
    let done = api
        .get(
            &format!("/v1/checkout/sessions/{}", cs["id"].as_str().unwrap()),
            None,
        )
        .await
        .ok();
    assert_eq!(done["payment_status"], "paid");
    assert_eq!(
        done["payment_intent"], open["payment_intent"],
        "one PaymentIntent across attempts"
    );
    let again = api.submit(url, "action=pay").await;
    assert_eq!(
        again.status, 200,
        "a completed session cannot be paid twice"
    );
    let cancel = session(&api, None, "2000").await;
    let back = api
        .submit(cancel["url"].as_str().unwrap(), "action=cancel")
        .await;
    assert_eq!(
        back.header("location").as_deref(),
        Some("http://app.test/back")
    );
}

#[tokio::test]
async fn expire_closes_an_open_session_only() {
    let api = Api::start().await;
    let cs = session(&api, None, "2000").await;
    let id = cs["id"].as_str().unwrap();
    let exp = api
        .post(&format!("/v1/checkout/sessions/{id}/expire"), None, &[])
        .await
        .ok();
    assert_eq!(exp["status"], "expired");
    let twice = api
        .post(&format!("/v1/checkout/sessions/{id}/expire"), None, &[])
        .await;
    assert_eq!(twice.status, 400);
    assert!(types(&api).contains(&"checkout.session.expired".to_owned()));
    let r = api.submit(cs["url"].as_str().unwrap(), "action=pay").await;
    assert_eq!(
        r.status, 200,
        "an expired session shows a message instead of paying"
    );
}

#[tokio::test]
async fn lost_dispute_and_failed_payout() {
    let api = Api::start().await;
    let acct = api.onboarded_account().await;
    let pi = api.paid_intent(Some(&acct), 10_000).await;
    let du = api
        .submit(
            "/_sim/disputes",
            &format!("charge={}", pi["latest_charge"].as_str().unwrap()),
        )
        .await
        .ok();
    let lost = api
        .submit(
            &format!("/_sim/disputes/{}/lose", du["id"].as_str().unwrap()),
            "",
        )
        .await
        .ok();
    assert_eq!(lost["status"], "lost");
    // 10000 - card fee 320 - dispute 10000 - fee 1500 < 0: nothing to pay out.
    let bal = api.get("/v1/balance", Some(&acct)).await.ok();
    assert_eq!(bal["available"][0]["amount"], 10_000 - 320 - 10_000 - 1500);
    api.paid_intent(Some(&acct), 20_000).await;
    let po = api
        .submit("/_sim/payouts", &format!("account={acct}&fail=true"))
        .await
        .ok();
    assert_eq!(po["status"], "failed");
    assert_eq!(po["failure_code"], "account_closed");
    let bal = api.get("/v1/balance", Some(&acct)).await.ok();
    let available = bal["available"][0]["amount"].as_i64().unwrap();
    assert_eq!(
        available,
        po["amount"].as_i64().unwrap(),
        "a failed payout returns the money"
    );
    let po2 = api
        .submit("/_sim/payouts", &format!("account={acct}"))
        .await
        .ok();
    assert_eq!(po2["amount"].as_i64(), Some(available));
    let t = types(&api);
    assert!(t.contains(&"payout.failed".to_owned()) && t.contains(&"payout.paid".to_owned()));
    assert!(t.contains(&"charge.dispute.closed".to_owned()));
    for ev in api.sim.events() {
        parse_event(&ev);
    }
}

#[tokio::test]
async fn saved_payment_method_needs_its_customer() {
    let api = Api::start().await;
    let cus = api.post("/v1/customers", None, &[]).await.ok();
    let cus_id = cus["id"].as_str().unwrap();
    let setup = api
        .post(
            "/v1/checkout/sessions",
            None,
            &[
                ("mode", "setup"),
                ("currency", "usd"),
                ("customer", cus_id),
                ("success_url", "http://app.test/s"),
            ],
        )
        .await
        .ok();
    let r = api
        .submit(
            &format!(
                "/_sim/checkout/sessions/{}/complete",
                setup["id"].as_str().unwrap()
            ),
            "action=save",
        )
        .await
        .ok();
    let seti = api
        .get(
            &format!(
                "/v1/setup_intents/{}",
                r["session"]["setup_intent"].as_str().unwrap()
            ),
            None,
        )
        .await
        .ok();
    let pm = seti["payment_method"].as_str().unwrap();
    let other = api.post("/v1/customers", None, &[]).await.ok();
    for (customer, param) in [(None, "customer"), (other["id"].as_str(), "payment_method")] {
        let mut params = vec![
            ("amount", "900"),
            ("currency", "usd"),
            ("payment_method", pm),
            ("confirm", "true"),
            ("off_session", "true"),
        ];
        if let Some(c) = customer {
            params.push(("customer", c));
        }
        let r = api.post("/v1/payment_intents", None, &params).await;
        assert_eq!(
            (r.status, r.json["error"]["param"].as_str()),
            (400, Some(param))
        );
    }
}
