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

#[tokio::test]
async fn async_stripe_client_drives_connect_checkout_refund_and_lists() {
    use stripe_checkout::checkout_session::{
        CreateCheckoutSession, CreateCheckoutSessionLineItems,
        CreateCheckoutSessionLineItemsPriceData, CreateCheckoutSessionPaymentIntentData,
        ProductData, RetrieveCheckoutSession,
    };
    use stripe_connect::account::{CreateAccount, CreateAccountType, RetrieveAccount};
    use stripe_connect::account_link::{CreateAccountLink, CreateAccountLinkType};
    use stripe_core::balance_transaction::ListBalanceTransaction;
    use stripe_core::event::ListEvent;
    use stripe_core::payout::ListPayout;
    use stripe_core::refund::CreateRefund;
    use stripe_shared::{CheckoutSessionMode, CheckoutSessionPaymentStatus};

    let api = Api::start().await;
    let platform = ClientBuilder::new(api.sim.secret_key())
        .url(api.sim.base_url())
        .build()
        .unwrap();
    let account = CreateAccount::new()
        .type_(CreateAccountType::Express)
        .country("US")
        .email("ops@example.org")
        .send(&platform)
        .await
        .unwrap();
    let link = CreateAccountLink::new(
        account.id.as_str(),
        CreateAccountLinkType::AccountOnboarding,
    )
    .refresh_url("http://app.test/refresh")
    .return_url("http://app.test/return")
    .send(&platform)
    .await
    .unwrap();
    assert_eq!(api.submit(&link.url, "action=complete").await.status, 303);
    let account = RetrieveAccount::new(account.id.as_str())
        .send(&platform)
        .await
        .unwrap();
    assert_eq!(account.charges_enabled, Some(true));

    let tenant = ClientBuilder::new(api.sim.secret_key())
        .url(api.sim.base_url())
        .account_id(account.id.clone())
        .build()
        .unwrap();
    let mut price = CreateCheckoutSessionLineItemsPriceData::new(Currency::USD);
    price.unit_amount = Some(2750);
    price.product_data = Some(ProductData::new("Water, November"));
    let mut item = CreateCheckoutSessionLineItems::new();
    item.price_data = Some(price);
    item.quantity = Some(2);
    let mut pi_data = CreateCheckoutSessionPaymentIntentData::new();
    pi_data.application_fee_amount = Some(75);
    pi_data.metadata = Some([("bill_id".to_owned(), "77".to_owned())].into());
    let session = CreateCheckoutSession::new()
        .mode(CheckoutSessionMode::Payment)
        .line_items(vec![item])
        .payment_intent_data(pi_data)
        .success_url("http://app.test/paid")
        .cancel_url("http://app.test/bill")
        .send(&tenant)
        .await
        .unwrap();
    assert_eq!(session.amount_total, Some(5500));
    assert_eq!(
        api.submit(session.url.as_deref().unwrap(), "action=pay")
            .await
            .status,
        303
    );
    let session = RetrieveCheckoutSession::new(session.id.clone())
        .send(&tenant)
        .await
        .unwrap();
    assert_eq!(session.payment_status, CheckoutSessionPaymentStatus::Paid);
    let pi_id = session
        .payment_intent
        .as_ref()
        .unwrap()
        .id()
        .as_str()
        .to_owned();
    let pi = RetrievePaymentIntent::new(pi_id.as_str())
        .send(&tenant)
        .await
        .unwrap();
    assert_eq!(
        (
            pi.application_fee_amount,
            pi.metadata.get("bill_id").map(String::as_str)
        ),
        (Some(75), Some("77"))
    );

    let refund = CreateRefund::new()
        .payment_intent(pi_id.as_str())
        .amount(500)
        .send(&tenant)
        .await
        .unwrap();
    assert_eq!(refund.amount, 500);
    match CreateRefund::new()
        .payment_intent(pi_id.as_str())
        .amount(5001)
        .send(&tenant)
        .await
    {
        Err(StripeError::Stripe(e, 400)) => assert_eq!(e.param.as_deref(), Some("amount")),
        other => panic!("expected amount_too_large, got {other:?}"),
    }

    let po = api
        .submit("/_sim/payouts", &format!("account={}", account.id.as_str()))
        .await
        .ok();
    let payouts = ListPayout::new().send(&tenant).await.unwrap();
    assert_eq!(payouts.data[0].id.as_str(), po["id"].as_str().unwrap());
    let txns = ListBalanceTransaction::new()
        .payout(po["id"].as_str().unwrap())
        .send(&tenant)
        .await
        .unwrap();
    assert_eq!(txns.data.len(), 3, "charge, refund and the payout itself");
    let events = ListEvent::new().send(&tenant).await.unwrap();
    assert!(
        events
            .data
            .iter()
            .any(|e| e.type_.as_str() == "checkout.session.completed")
    );
    assert!(
        events
            .data
            .iter()
            .all(|e| e.account.as_deref() == Some(account.id.as_str()))
    );
}

/// `--instant-onboarding` (`make run`): a created account is already
/// onboarded, and async-stripe parses it; the others stay untouched.
#[tokio::test]
async fn instant_onboarding_creates_charges_enabled_accounts() {
    use stripe_connect::account::{CreateAccount, CreateAccountType, RetrieveAccount};
    let api = Api::with(aqueduct_stripe_sim::SimConfig {
        instant_onboarding: true,
        ..aqueduct_stripe_sim::SimConfig::default()
    })
    .await;
    let platform = ClientBuilder::new(api.sim.secret_key())
        .url(api.sim.base_url())
        .build()
        .unwrap();
    let created = CreateAccount::new()
        .type_(CreateAccountType::Express)
        .country("US")
        .send(&platform)
        .await
        .unwrap();
    assert_eq!(created.charges_enabled, Some(true));
    assert_eq!(created.payouts_enabled, Some(true));
    let req = created.requirements.unwrap();
    assert_eq!(req.currently_due, Some(Vec::new()));
    assert!(req.disabled_reason.is_none());
    let again = RetrieveAccount::new(created.id.as_str())
        .send(&platform)
        .await
        .unwrap();
    assert_eq!(again.details_submitted, Some(true));
    assert_eq!(api.sim.events_of_type("account.updated").len(), 1);

    api.sim.update_config(|c| c.instant_onboarding = false);
    let plain = CreateAccount::new()
        .type_(CreateAccountType::Express)
        .send(&platform)
        .await
        .unwrap();
    assert_eq!(plain.charges_enabled, Some(false));
}

/// A Checkout Session limited to one method with a fee line (the
/// convenience fee), as Aqueduct creates it, parses in async-stripe.
#[tokio::test]
async fn session_with_allowed_methods_and_a_fee_line_parses() {
    use stripe_checkout::checkout_session::{
        CreateCheckoutSession, CreateCheckoutSessionAllowedPaymentMethodTypes,
        CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData, ProductData,
    };
    use stripe_shared::CheckoutSessionMode;
    let api = Api::start().await;
    let acct = api.onboarded_account().await;
    let client = ClientBuilder::new(api.sim.secret_key())
        .url(api.sim.base_url())
        .account_id(acct.as_str().into())
        .build()
        .unwrap();
    let line = |cents: i64, name: &str| {
        let mut price = CreateCheckoutSessionLineItemsPriceData::new(Currency::USD);
        price.unit_amount = Some(cents);
        price.product_data = Some(ProductData::new(name));
        let mut item = CreateCheckoutSessionLineItems::new();
        item.price_data = Some(price);
        item.quantity = Some(1);
        item
    };
    let session = CreateCheckoutSession::new()
        .mode(CheckoutSessionMode::Payment)
        .line_items(vec![
            line(10_000, "Water"),
            line(300, "Convenience fee for paying online"),
        ])
        .allowed_payment_method_types(vec![CreateCheckoutSessionAllowedPaymentMethodTypes::Card])
        .success_url("http://app.test/done")
        .send(&client)
        .await
        .unwrap();
    assert_eq!(session.amount_total, Some(10_300));
    assert_eq!(session.payment_method_types, vec!["card".to_owned()]);
}
