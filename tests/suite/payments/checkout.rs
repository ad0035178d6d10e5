//! "Pay": card and bank payments end to end, and double clicks.

use super::{env, session_of};
use crate::db_test;
use aqueduct_stripe_sim::DeliveryOptions;

db_test!(card_payment_end_to_end, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    let acct = e.onboard(&e.a).await;
    {
        let tx = e.app.pool.tenant(&e.a.tenant).await.unwrap();
        aqueduct_payments::connect::set_platform_fee(&tx, e.app.clock.as_ref(), 100, 25)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let below = e.pay(&e.a, Some(99), "too-small").await;
    assert_eq!(below.status, 422, "{}", below.text);

    let (due, payments_before) = e.ledger(&e.a, "payment").await;
    assert!(due > 0, "the seeded bill is due");
    // Paying more than is due: the rest becomes a credit.
    let amount = due + 12_345;
    let res = e.pay(&e.a, Some(amount), "click-1").await;
    assert_eq!(res.status, 303, "{}", res.text);
    let location = res.headers["location"].to_str().unwrap();
    assert!(location.starts_with(&e.sim.base_url()), "{location}");
    let session = session_of(&res);
    let payment = res.headers["x-payment-id"].to_str().unwrap().to_owned();
    // Direct charge on the association's account with the platform fee.
    let cs = e.sim.object(&session).unwrap();
    assert_eq!(cs["amount_total"], amount);
    assert_eq!(cs["metadata"]["aqueduct_payment_id"], payment.as_str());
    assert_eq!(e.payment(&e.a, &payment).await["status"], "pending");

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
    assert_eq!(p["captured_cents"], amount);
    assert_eq!(p["posted"], true);
    let fee = aqueduct_payments::fees::application_fee(amount, 100, 25);
    assert_eq!(p["application_fee_cents"], fee);
    let pi = e
        .sim
        .object(p["payment_intent_id"].as_str().unwrap())
        .unwrap();
    assert_eq!(pi["application_fee_amount"], fee);
    // Several success events, exactly one ledger entry; the overpayment is a credit.
    assert_eq!(
        e.ledger(&e.a, "payment").await,
        (-12_345, payments_before + 1)
    );
    let events = e.sim.events_of_type("payment_intent.succeeded");
    assert_eq!(events[0]["account"], acct.as_str());
    // Three success events (session completed, intent succeeded, charge) → one posting.
    assert_eq!(
        e.count("stripe_events").await as usize,
        e.sim
            .events()
            .iter()
            .filter(|ev| ev["account"].is_string())
            .count()
    );
});

db_test!(ach_processing_then_success_and_failure, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    e.onboard(&e.a).await;
    let (due, _) = e.ledger(&e.a, "payment").await;
    let (ok, _) = e.pay_with(&e.a, 20_000, "bank_succeed").await;
    let (bad, _) = e.pay_with(&e.a, 30_000, "bank_fail").await;
    e.drain().await;
    for id in [&ok, &bad] {
        let p = e.payment(&e.a, id).await;
        assert_eq!(p["status"], "processing", "{p}");
        assert_eq!(p["method"], "us_bank_account");
        assert_eq!(p["posted"], false, "processing is never shown as paid");
    }
    {
        let tx = e.app.pool.tenant(&e.a.tenant).await.unwrap();
        assert!(
            aqueduct_payments::checkout::has_processing(&tx, e.a.account)
                .await
                .unwrap()
        );
    }
    for id in [&ok, &bad] {
        let pi = e.payment(&e.a, id).await["payment_intent_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (code, _) = e
            .control(&format!("/_sim/payment_intents/{pi}/settle"), "")
            .await;
        assert!(code < 400);
    }
    e.drain().await;
    let good = e.payment(&e.a, &ok).await;
    assert_eq!(
        (good["status"].as_str(), good["posted"].as_bool()),
        (Some("succeeded"), Some(true))
    );
    // Only the settled debit is in the ledger; the failed one left no trace.
    assert_eq!(e.ledger(&e.a, "payment").await.0, due - 20_000);
    let failed = e.payment(&e.a, &bad).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["posted"], false);
    assert!(failed["failure_reason"].as_str().is_some(), "{failed}");
    let tx = e.app.pool.tenant(&e.a.tenant).await.unwrap();
    assert!(
        !aqueduct_payments::checkout::has_processing(&tx, e.a.account)
            .await
            .unwrap()
    );
});

db_test!(double_click_gives_one_session, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    e.onboard(&e.a).await;
    let (r1, r2) = tokio::join!(
        e.pay(&e.a, Some(5_000), "same-click"),
        e.pay(&e.a, Some(5_000), "same-click")
    );
    assert_eq!(
        (r1.status.as_u16(), r2.status.as_u16()),
        (303, 303),
        "{} {}",
        r1.text,
        r2.text
    );
    assert_eq!(r1.headers["location"], r2.headers["location"]);
    let r3 = e.pay(&e.a, Some(5_000), "same-click").await;
    assert_eq!(r3.headers["location"], r1.headers["location"]);
    // The same key for a different amount is a conflict, not a second payment.
    let other = e.pay(&e.a, Some(6_000), "same-click").await;
    assert_eq!(other.status, 409);
    let list = e
        .app
        .get(
            &format!("/api/v1/accounts/{}/payments", e.a.account),
            e.a.admin_key.expose(),
        )
        .await
        .json();
    // The seeded attempt plus this one.
    assert_eq!(list.as_array().unwrap().len(), 2);
    let session = session_of(&r1);
    assert!(e.sim.object(&session).is_some());
});
