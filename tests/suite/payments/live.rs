//! `make test-stripe-live`: the Stripe calls Aqueduct makes, against
//! Stripe's real test mode, when `STRIPE_TEST_SECRET_KEY=sk_test_…` is set;
//! skipped with a message otherwise. Stripe cannot reach this machine's
//! webhook endpoint, so state comes back through the reconciliation sweep
//! (the same code path the webhooks take). A fresh Express account cannot
//! take charges until a person finishes onboarding, so the charge journeys
//! stop at Aqueduct's clear refusal; with `STRIPE_TEST_CONNECTED_ACCOUNT`
//! (an onboarded test-mode account of the platform) they go on to a
//! Checkout Session, a setup-mode session and the sweep on that account.

use crate::support::seed;
use crate::support::{Engine, TestApp, TestDb};
use aqueduct_core::{AccountId, Clock, Secret};
use aqueduct_payments::checkout::PayRequest;
use aqueduct_payments::{PaymentsError, Stripe, StripeSettings, autopay, checkout, connect, sweep};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_stripe_test_mode_journeys() {
    let Ok(key) = std::env::var("STRIPE_TEST_SECRET_KEY") else {
        eprintln!(
            "skipped: STRIPE_TEST_SECRET_KEY is not set (make test-stripe-live runs this against Stripe's test mode)"
        );
        return;
    };
    assert!(
        key.starts_with("sk_test_") || key.starts_with("rk_test_"),
        "test-mode keys only"
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stripe = Stripe::new(StripeSettings {
        secret_key: Secret::new(key),
        webhook_secrets: vec![Secret::new("whsec_unused_live")],
        api_base: None,
        public_url: "https://aqueduct.example".into(),
    })
    .unwrap();
    let app = TestApp::new(TestDb::new(Engine::Sqlite).await.unwrap()).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "live").await;
    let clock = app.clock.as_ref();

    // Onboarding: the account is created once; the link is Stripe's.
    let first = connect::ensure_account(&app.pool, &a.tenant, clock, &stripe)
        .await
        .unwrap();
    let again = connect::ensure_account(&app.pool, &a.tenant, clock, &stripe)
        .await
        .unwrap();
    assert_eq!(first.stripe_account_id, again.stripe_account_id);
    let link = connect::onboarding_link(&app.pool, &a.tenant, clock, &stripe)
        .await
        .unwrap();
    assert!(link.starts_with("https://connect.stripe.com/"), "{link}");
    let st = connect::refresh(&app.pool, &a.tenant, clock, &stripe)
        .await
        .unwrap()
        .unwrap();
    assert!(!st.charges_enabled);
    // Payments and autopay are refused with a clear message until then.
    let refused = checkout::start(
        &app.pool,
        &a.tenant,
        clock,
        &stripe,
        PayRequest {
            account: a.account,
            amount: None,
            idempotency_key: "live-1".into(),
        },
    )
    .await;
    assert!(
        matches!(refused, Err(PaymentsError::PaymentsDisabled(_))),
        "{refused:?}"
    );
    let refused = autopay::start(&app.pool, &a.tenant, clock, &stripe, a.account).await;
    assert!(
        matches!(refused, Err(PaymentsError::PaymentsDisabled(_))),
        "{refused:?}"
    );
    // The sweep's list calls are accepted by Stripe on the connected account.
    let r = sweep::run_tenant(&app.pool, &a.tenant, clock, &stripe)
        .await
        .unwrap();
    assert_eq!(r.errors, 0, "{r:?}");

    // With an onboarded test account: Checkout, setup mode, the sweep.
    let Ok(onboarded) = std::env::var("STRIPE_TEST_CONNECTED_ACCOUNT") else {
        eprintln!("charge journeys skipped: STRIPE_TEST_CONNECTED_ACCOUNT is not set");
        return;
    };
    let b = seed::tenant(&app.pool, clock, "live-b").await;
    {
        use sea_orm::ConnectionTrait;
        let owner = app.db.owner().await;
        owner
            .execute_unprepared(&format!(
                "INSERT INTO stripe_accounts (tenant_id, id, stripe_account_id, livemode, details_submitted, \
                 charges_enabled, payouts_enabled, currently_due, past_due, fee_basis_points, fee_fixed_cents, \
                 state_version, created_at, updated_at) VALUES ('{}', '{}', '{onboarded}', false, true, true, \
                 true, '[]', '[]', 0, 0, 0, '{now}', '{now}')",
                b.tenant.id().uuid(),
                uuid::Uuid::new_v4(),
                now = clock.now().to_rfc3339(),
            ))
            .await
            .unwrap();
    }
    let pay = checkout::start(
        &app.pool,
        &b.tenant,
        clock,
        &stripe,
        PayRequest {
            account: b.account,
            amount: None,
            idempotency_key: format!("live-{}", uuid::Uuid::new_v4()),
        },
    )
    .await
    .unwrap();
    assert!(
        pay.url.starts_with("https://checkout.stripe.com/"),
        "{}",
        pay.url
    );
    let setup = autopay::start(&app.pool, &b.tenant, clock, &stripe, b.account)
        .await
        .unwrap();
    assert!(setup.url.starts_with("https://checkout.stripe.com/"));
    let again = autopay::start(&app.pool, &b.tenant, clock, &stripe, b.account)
        .await
        .unwrap();
    assert_eq!(setup.url, again.url, "one setup page while it is open");
    let r = sweep::run_tenant(&app.pool, &b.tenant, clock, &stripe)
        .await
        .unwrap();
    assert_eq!(r.errors, 0, "{r:?}");
    let _: AccountId = b.account;
}
