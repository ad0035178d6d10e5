//! Webhook signing and delivery options, checked by a small axum receiver.

use std::collections::HashMap;

use aqueduct_stripe_sim::{DeliveryOptions, SimConfig};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::common::{Api, Receiver};
use crate::faithfulness::parse_event;

async fn api_with(receiver: &Receiver, delivery: DeliveryOptions) -> Api {
    Api::with(SimConfig {
        webhook_url: Some(receiver.url.clone()),
        webhook_secret: "whsec_test_secret_for_signing".into(),
        delivery,
        ach_settle_delay_ms: 600_000,
        ..SimConfig::default()
    })
    .await
}

/// Checks `t=…,v1=…` with an HMAC computed here, independently of the sim's code.
fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v.to_owned()),
            Some(("v1", v)) => sigs.push(v.to_owned()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    let mut signed = t.clone().into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(body);
    sigs.iter().any(|sig| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(&signed);
        mac.verify_slice(&hex::decode(sig).unwrap()).is_ok()
    })
}

#[tokio::test]
async fn deliveries_are_signed_like_stripe() {
    let rx = Receiver::start(0).await;
    let api = api_with(&rx, DeliveryOptions::default()).await;
    let acct = api.onboarded_account().await;
    api.paid_intent(Some(&acct), 3000).await;
    api.sim.wait_for_deliveries().await;
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), api.sim.events().len());
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    for r in &got {
        assert!(
            verify("whsec_test_secret_for_signing", &r.signature, &r.body),
            "bad signature {}",
            r.signature
        );
        assert!(!verify("whsec_other", &r.signature, &r.body));
        let t: i64 = r
            .signature
            .split(',')
            .next()
            .unwrap()
            .trim_start_matches("t=")
            .parse()
            .unwrap();
        assert!((now - t).abs() < 60);
        let ev = parse_event(&r.event());
        assert_eq!(ev.pending_webhooks, 1);
        assert!(!ev.livemode);
        assert_eq!(
            ev.account.as_deref(),
            Some(acct.as_str()),
            "Connect events carry the account"
        );
        assert_eq!(
            r.signature,
            aqueduct_stripe_sim::signature_header("whsec_test_secret_for_signing", t, &r.body)
        );
    }
    let updated = got
        .iter()
        .map(|r| r.event())
        .find(|e| e["type"] == "account.updated")
        .unwrap();
    assert_eq!(updated["data"]["object"]["charges_enabled"], true);
    assert_eq!(
        updated["data"]["previous_attributes"]["charges_enabled"],
        false
    );
    assert!(api.sim.deliveries().iter().all(|d| d.status == Some(200)));
}

#[tokio::test]
async fn deliver_twice_sends_every_event_two_times() {
    for concurrent in [false, true] {
        let rx = Receiver::start(0).await;
        let api = api_with(
            &rx,
            DeliveryOptions {
                deliver_twice: true,
                concurrent_duplicates: concurrent,
                ..DeliveryOptions::default()
            },
        )
        .await;
        api.paid_intent(None, 3000).await;
        api.sim.wait_for_deliveries().await;
        let mut counts: HashMap<String, usize> = HashMap::new();
        for id in rx.ids() {
            *counts.entry(id).or_default() += 1;
        }
        assert_eq!(counts.len(), api.sim.events().len());
        assert!(counts.values().all(|n| *n == 2), "{counts:?}");
    }
}

#[tokio::test]
async fn out_of_order_reverses_queued_events() {
    let rx = Receiver::start(0).await;
    let api = api_with(
        &rx,
        DeliveryOptions {
            out_of_order: true,
            delay_ms: 300,
            ..DeliveryOptions::default()
        },
    )
    .await;
    api.paid_intent(None, 3000).await;
    api.post("/v1/customers", None, &[("email", "late@example.org")])
        .await
        .ok();
    api.sim.wait_for_deliveries().await;
    let emitted: Vec<String> = api
        .sim
        .events()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    let mut reversed = emitted.clone();
    reversed.reverse();
    assert!(emitted.len() >= 4);
    assert_eq!(rx.ids(), reversed, "the batch arrives newest first");
    let first = rx.got.lock().unwrap()[0].event();
    assert_eq!(first["type"], "customer.created");
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_backoff() {
    let rx = Receiver::start(2).await;
    let api = api_with(
        &rx,
        DeliveryOptions {
            retry_backoff_ms: 20,
            max_attempts: 5,
            ..DeliveryOptions::default()
        },
    )
    .await;
    api.post("/v1/customers", None, &[("email", "retry@example.org")])
        .await
        .ok();
    api.sim.wait_for_deliveries().await;
    assert_eq!(rx.ids().len(), 1);
    let attempts: Vec<(u32, Option<u16>)> = api
        .sim
        .deliveries()
        .iter()
        .map(|d| (d.attempt, d.status))
        .collect();
    assert_eq!(
        attempts,
        vec![(1, Some(500)), (2, Some(500)), (3, Some(200))]
    );
    let (a, b) = (api.sim.deliveries()[1].at, api.sim.deliveries()[0].at);
    assert!(a >= b);
}

#[tokio::test]
async fn config_route_switches_options_at_run_time() {
    let rx = Receiver::start(0).await;
    let api = api_with(&rx, DeliveryOptions::default()).await;
    let r = api
        .raw(
            http::Request::post(api.sim.url("/_sim/config"))
                .header("content-type", "application/json")
                .body(http_body_util::Full::new(axum::body::Bytes::from(
                    r#"{"delivery":{"deliver_twice":true}}"#,
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(api.sim.config().delivery.deliver_twice);
    assert_eq!(r.json["webhook_url"], rx.url.as_str());
    api.post("/v1/customers", None, &[]).await.ok();
    let flushed = api.submit("/_sim/webhooks/flush", "").await;
    assert_eq!(flushed.json["idle"], true);
    assert_eq!(rx.ids().len(), 2);
}
