//! The real async-stripe client, pointed at the sim.

use stripe::{ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_core::payment_intent::{CreatePaymentIntent, RetrievePaymentIntent};
use stripe_shared::{ApiErrorsType, PaymentIntentStatus};
use stripe_types::Currency;

use crate::common::Api;

#[tokio::test]
async fn async_stripe_client_round_trip_with_idempotency() {
    let api = Api::start().await;
    let acct = api.onboarded_account().await;
    let client = ClientBuilder::new(api.sim.secret_key())
        .url(api.sim.base_url())
        .account_id(acct.as_str().into())
        .build()
        .unwrap();

    let key = || RequestStrategy::Idempotent(IdempotencyKey::new("bill-42-attempt-1").unwrap());
    let create = || {
        CreatePaymentIntent::new(4200, Currency::USD)
            .payment_method("pm_card_visa")
            .confirm(true)
            .application_fee_amount(150)
            .metadata([("bill_id".to_owned(), "42".to_owned())])
    };
    let first = create()
        .customize()
        .request_strategy(key())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(first.status, PaymentIntentStatus::Succeeded);
    assert_eq!(first.application_fee_amount, Some(150));
    let replay = create()
        .customize()
        .request_strategy(key())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(
        replay.id, first.id,
        "same key, same params: the same PaymentIntent"
    );

    let changed = CreatePaymentIntent::new(4300, Currency::USD)
        .customize()
        .request_strategy(key())
        .send(&client)
        .await;
    match changed {
        Err(StripeError::Stripe(e, 400)) => assert_eq!(e.type_, ApiErrorsType::IdempotencyError),
        other => panic!("expected an idempotency error, got {other:?}"),
    }

    let fetched = RetrievePaymentIntent::new(first.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(fetched.amount_received, 4200);

    let declined = CreatePaymentIntent::new(4200, Currency::USD)
        .payment_method("pm_card_chargeDeclinedInsufficientFunds")
        .confirm(true)
        .send(&client)
        .await;
    match declined {
        Err(StripeError::Stripe(e, 402)) => {
            assert_eq!(e.decline_code.as_deref(), Some("insufficient_funds"));
            assert!(e.payment_intent.is_some());
        }
        other => panic!("expected a card error, got {other:?}"),
    }

    let wrong = ClientBuilder::new("sk_test_nope")
        .url(api.sim.base_url())
        .build()
        .unwrap();
    match RetrievePaymentIntent::new(first.id.clone())
        .send(&wrong)
        .await
    {
        Err(StripeError::Stripe(_, 401)) => {}
        other => panic!("expected 401, got {other:?}"),
    }
}
