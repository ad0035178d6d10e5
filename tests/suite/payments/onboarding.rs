//! Connect onboarding to charges-enabled.

use super::env;
use crate::db_test;
use aqueduct_stripe_sim::DeliveryOptions;
use http::Method;

db_test!(onboarding_to_charges_enabled, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    // Before anything: not connected, and "Pay" is refused with a clear message.
    assert_eq!(e.status(&e.a).await["connected"], false);
    let refused = e.pay(&e.a, Some(5_000), "early").await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Stripe account")
    );

    // Connect twice: one connected account (idempotent), two fresh links.
    let first = e
        .app
        .request(
            Method::POST,
            "/api/v1/stripe/connect",
            Some(e.a.admin_key.expose()),
            None,
        )
        .await;
    let second = e
        .app
        .request(
            Method::POST,
            "/api/v1/stripe/connect",
            Some(e.a.admin_key.expose()),
            None,
        )
        .await;
    assert_eq!((first.status.as_u16(), second.status.as_u16()), (200, 200));
    assert_ne!(first.json()["url"], second.json()["url"]);
    let accounts: Vec<_> = e
        .sim
        .events_of_type("account.updated")
        .into_iter()
        .collect();
    assert!(accounts.is_empty(), "nothing onboarded yet");
    assert_eq!(e.count("stripe_accounts").await, 1);
    let status = e.status(&e.a).await;
    let acct = status["stripe_account_id"].as_str().unwrap().to_owned();
    assert_eq!(status["charges_enabled"], false);
    assert!(
        !status["currently_due"].as_array().unwrap().is_empty()
            || status["details_submitted"] == false
    );
    let still = e.pay(&e.a, Some(5_000), "early-2").await;
    assert_eq!(still.status, 409, "{}", still.text);
    assert!(
        still.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("onboarding")
    );

    // The association completes Stripe's onboarding: account.updated arrives.
    let (code, _) = e
        .control(&format!("/_sim/accounts/{acct}/onboard"), "")
        .await;
    assert_eq!(code, 200);
    e.drain().await;
    let status = e.status(&e.a).await;
    assert_eq!(status["details_submitted"], true);
    assert_eq!(status["charges_enabled"], true);
    assert_eq!(status["payouts_enabled"], true);
    assert_eq!(status["currently_due"].as_array().unwrap().len(), 0);
    // Bravo is untouched.
    assert_eq!(e.status(&e.b).await["connected"], false);

    // Dashboard link for the association.
    let dash = e
        .app
        .request(
            Method::POST,
            "/api/v1/stripe/dashboard",
            Some(e.a.admin_key.expose()),
            None,
        )
        .await;
    assert_eq!(dash.status, 200, "{}", dash.text);
    assert!(dash.json()["url"].as_str().unwrap().contains(&acct));
    // Viewers cannot start onboarding.
    let viewer = e
        .app
        .request(
            Method::POST,
            "/api/v1/stripe/connect",
            Some(e.a.viewer_key.expose()),
            None,
        )
        .await;
    assert_eq!(viewer.status, 403);
});

// `make run`: the demo association is connected to a simulator started with
// `--instant-onboarding`; a restarted simulator (state in memory) gets a new
// connected account, keeping the platform fee.
db_test!(demo_connects_to_the_local_stripe, |db| {
    let e = env(db, DeliveryOptions::default()).await;
    e.sim.update_config(|c| c.instant_onboarding = true);
    let clock = e.app.clock.as_ref();
    let stripe = crate::payments::stripe_for(&e.sim);
    let st = aqueduct_server::demo::connect_stripe(&e.app.pool, clock, &e.a.tenant, &stripe)
        .await
        .unwrap();
    assert!(st.charges_enabled && st.payouts_enabled && st.details_submitted);
    let first = st.stripe_account_id.clone().unwrap();
    assert_eq!(e.status(&e.a).await["charges_enabled"], true);
    // The router's Stripe is this simulator: Pay works at once.
    let res = e.pay(&e.a, Some(2_500), "demo-pay").await;
    assert_eq!(res.status, 303, "{}", res.text);
    {
        let tx = e.app.pool.tenant(&e.a.tenant).await.unwrap();
        aqueduct_payments::connect::set_platform_fee(&tx, clock, 150, 30)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    // Again against the same simulator: nothing changes.
    let again = aqueduct_server::demo::connect_stripe(&e.app.pool, clock, &e.a.tenant, &stripe)
        .await
        .unwrap();
    assert_eq!(again.stripe_account_id.as_deref(), Some(first.as_str()));

    // A fresh simulator does not know the account: a new one replaces it.
    let fresh = aqueduct_stripe_sim::Sim::start(aqueduct_stripe_sim::SimConfig {
        instant_onboarding: true,
        ..aqueduct_stripe_sim::SimConfig::default()
    })
    .await
    .unwrap();
    let st = aqueduct_server::demo::connect_stripe(
        &e.app.pool,
        clock,
        &e.a.tenant,
        &crate::payments::stripe_for(&fresh),
    )
    .await
    .unwrap();
    let second = st.stripe_account_id.clone().unwrap();
    assert_ne!(second, first);
    assert!(fresh.object(&second).is_some());
    assert!(st.charges_enabled);
    assert_eq!((st.fee_basis_points, st.fee_fixed_cents), (150, 30));
    // The other association is untouched.
    assert_eq!(e.status(&e.b).await["connected"], false);
});
