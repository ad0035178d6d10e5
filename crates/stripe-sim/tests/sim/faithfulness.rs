//! Every object the sim returns and every event it emits parses with async-stripe's types.

use serde_json::Value;
use stripe_shared::{
    Account, BalanceTransaction, Charge, CheckoutSession, Customer, Dispute, Event, EventType,
    PaymentIntent, PaymentIntentStatus, PaymentMethod, Payout, Refund, SetupIntent,
};
use stripe_types::List;

use crate::common::{Api, SENTINEL, logged, parse, unknown_value_warnings};

/// Parses an event and its `data.object` with the type its `type` implies.
pub fn parse_event(ev: &Value) -> Event {
    let parsed: Event = parse(ev);
    assert!(
        !matches!(parsed.type_, EventType::Unknown(_)),
        "unknown event type {}",
        ev["type"]
    );
    let t = ev["type"].as_str().unwrap();
    let obj = &ev["data"]["object"];
    let expected_object = match t.split('.').next().unwrap() {
        "account" => {
            let _: Account = parse(obj);
            "account"
        }
        "payment_intent" => {
            let _: PaymentIntent = parse(obj);
            "payment_intent"
        }
        "charge" if t.starts_with("charge.dispute.") => {
            let _: Dispute = parse(obj);
            "dispute"
        }
        "charge" => {
            let _: Charge = parse(obj);
            "charge"
        }
        "checkout" => {
            let _: CheckoutSession = parse(obj);
            "checkout.session"
        }
        "refund" => {
            let _: Refund = parse(obj);
            "refund"
        }
        "payout" => {
            let _: Payout = parse(obj);
            "payout"
        }
        "customer" => {
            let _: Customer = parse(obj);
            "customer"
        }
        "setup_intent" => {
            let _: SetupIntent = parse(obj);
            "setup_intent"
        }
        "payment_method" => {
            let _: PaymentMethod = parse(obj);
            "payment_method"
        }
        other => panic!("no parser for event kind {other}"),
    };
    assert_eq!(obj["object"], expected_object, "{t}");
    parsed
}

#[tokio::test]
async fn every_object_and_event_parses_with_async_stripe() {
    let api = Api::start().await;

    // Connect: account, onboarding link and page, login link.
    let acct = api
        .post(
            "/v1/accounts",
            None,
            &[
                ("type", "express"),
                ("country", "US"),
                ("email", "ops@example.org"),
                ("metadata[tenant]", "t1"),
            ],
        )
        .await
        .ok();
    let a: Account = parse(&acct);
    assert_eq!(a.charges_enabled, Some(false));
    let acct_id = acct["id"].as_str().unwrap().to_owned();
    let link = api
        .post(
            "/v1/account_links",
            None,
            &[
                ("account", &acct_id),
                ("refresh_url", "http://app.test/refresh"),
                ("return_url", "http://app.test/return"),
                ("type", "account_onboarding"),
            ],
        )
        .await
        .ok();
    let l: stripe_connect::AccountLink = parse(&link);
    assert!(l.expires_at > l.created);
    let page = api.page(&l.url).await;
    assert!(page.text.contains("Complete onboarding"));
    let done = api.submit(&l.url, "action=complete").await;
    assert_eq!(done.status, 303);
    assert_eq!(
        done.header("location").as_deref(),
        Some("http://app.test/return")
    );
    let reused = api.page(&l.url).await;
    assert_eq!(
        reused.header("location").as_deref(),
        Some("http://app.test/refresh"),
        "links are single-use"
    );
    let a: Account = parse(&api.get(&format!("/v1/accounts/{acct_id}"), None).await.ok());
    assert_eq!(
        (a.charges_enabled, a.payouts_enabled, a.details_submitted),
        (Some(true), Some(true), Some(true))
    );
    let login = api
        .post(&format!("/v1/accounts/{acct_id}/login_links"), None, &[])
        .await
        .ok();
    let _: stripe_connect::LoginLink = parse(&login);
    let _: List<Account> = parse(&api.get("/v1/accounts?limit=5", None).await.ok());
    let own: Account = parse(&api.get("/v1/account", Some(&acct_id)).await.ok());
    assert_eq!(own.id.as_str(), acct_id);

    let on = Some(acct_id.as_str());
    // Customer and a direct card payment with an application fee.
    let cus = api
        .post(
            "/v1/customers",
            on,
            &[
                ("email", "payer@example.org"),
                ("name", "Pat Payer"),
                ("metadata[account_no]", "1001"),
            ],
        )
        .await
        .ok();
    let _: Customer = parse(&cus);
    let cus_id = cus["id"].as_str().unwrap().to_owned();
    let pi = api
        .post(
            "/v1/payment_intents",
            on,
            &[
                ("amount", "4250"),
                ("currency", "usd"),
                ("customer", &cus_id),
                ("payment_method", "pm_card_visa"),
                ("confirm", "true"),
                ("application_fee_amount", "125"),
                ("metadata[bill_id]", "b-1"),
            ],
        )
        .await
        .ok();
    let p: PaymentIntent = parse(&pi);
    assert_eq!(p.status, PaymentIntentStatus::Succeeded);
    assert_eq!(
        (p.amount, p.amount_received, p.application_fee_amount),
        (4250, 4250, Some(125))
    );
    let ch_id = pi["latest_charge"].as_str().unwrap();
    let ch: Charge = parse(&api.get(&format!("/v1/charges/{ch_id}"), on).await.ok());
    assert_eq!(
        (ch.amount_captured, ch.application_fee_amount),
        (4250, Some(125))
    );
    let expanded = api
        .get(
            &format!(
                "/v1/payment_intents/{}?expand[]=latest_charge",
                p.id.as_str()
            ),
            on,
        )
        .await
        .ok();
    let _: PaymentIntent = parse(&expanded);
    assert_eq!(expanded["latest_charge"]["object"], "charge");
    let _: List<PaymentIntent> = parse(&api.get("/v1/payment_intents", on).await.ok());
    let _: List<Charge> = parse(&api.get("/v1/charges", on).await.ok());

    // Partial refund.
    let re = api
        .post(
            "/v1/refunds",
            on,
            &[
                ("payment_intent", p.id.as_str()),
                ("amount", "1000"),
                ("reason", "requested_by_customer"),
            ],
        )
        .await
        .ok();
    let r: Refund = parse(&re);
    assert_eq!(r.amount, 1000);
    let _: List<Refund> = parse(&api.get("/v1/refunds", on).await.ok());

    // Hosted checkout, payment mode.
    let cs = api
        .post(
            "/v1/checkout/sessions",
            on,
            &[
                ("mode", "payment"),
                (
                    "success_url",
                    "http://app.test/paid?session={CHECKOUT_SESSION_ID}",
                ),
                ("cancel_url", "http://app.test/bill"),
                ("line_items[0][price_data][currency]", "usd"),
                ("line_items[0][price_data][unit_amount]", "3100"),
                (
                    "line_items[0][price_data][product_data][name]",
                    "Water, October",
                ),
                ("line_items[0][quantity]", "1"),
                ("payment_intent_data[application_fee_amount]", "90"),
                ("payment_intent_data[metadata][bill_id]", "b-2"),
                ("customer_email", "payer@example.org"),
                ("client_reference_id", "bill-2"),
            ],
        )
        .await
        .ok();
    let s: CheckoutSession = parse(&cs);
    let url = s.url.clone().unwrap();
    let page = api.page(&url).await;
    for label in [
        "Pay successfully",
        "Decline",
        "Bank payment: processing, then succeeds",
        "Bank payment: processing, then fails",
    ] {
        assert!(page.text.contains(label), "missing button {label}");
    }
    assert!(!page.text.to_lowercase().contains("card number"));
    let paid = api.submit(&url, "action=pay").await;
    assert_eq!(paid.status, 303);
    assert_eq!(
        paid.header("location").unwrap(),
        format!("http://app.test/paid?session={}", s.id.as_str())
    );
    let cs = api
        .get(
            &format!(
                "/v1/checkout/sessions/{}?expand[]=payment_intent",
                s.id.as_str()
            ),
            on,
        )
        .await
        .ok();
    let s: CheckoutSession = parse(&cs);
    assert_eq!(cs["payment_status"], "paid");
    assert_eq!(cs["payment_intent"]["application_fee_amount"], 90);
    assert_eq!(cs["payment_intent"]["metadata"]["bill_id"], "b-2");
    let _: List<CheckoutSession> = parse(
        &api.get(
            &format!(
                "/v1/checkout/sessions?payment_intent={}",
                cs["payment_intent"]["id"].as_str().unwrap()
            ),
            on,
        )
        .await
        .ok(),
    );
    let _ = s;

    // Setup mode, then off-session charges (success and decline).
    let mut saved = Vec::new();
    for action in ["save", "save_declining", "save_bank"] {
        let setup = api
            .post(
                "/v1/checkout/sessions",
                on,
                &[
                    ("mode", "setup"),
                    ("currency", "usd"),
                    ("customer", &cus_id),
                    ("success_url", "http://app.test/saved"),
                ],
            )
            .await
            .ok();
        let _: CheckoutSession = parse(&setup);
        let r = api
            .submit(setup["url"].as_str().unwrap(), &format!("action={action}"))
            .await;
        assert_eq!(r.status, 303);
        let setup = api
            .get(
                &format!("/v1/checkout/sessions/{}", setup["id"].as_str().unwrap()),
                on,
            )
            .await
            .ok();
        let _: CheckoutSession = parse(&setup);
        assert_eq!(setup["status"], "complete");
        let seti = api
            .get(
                &format!(
                    "/v1/setup_intents/{}",
                    setup["setup_intent"].as_str().unwrap()
                ),
                on,
            )
            .await
            .ok();
        let si: SetupIntent = parse(&seti);
        if action == "save_bank" {
            assert_eq!(seti["payment_method_types"][0], "us_bank_account");
        }
        // What the reconciliation sweep asks for: the session with its SetupIntent.
        let expanded = api
            .get(
                &format!(
                    "/v1/checkout/sessions/{}?expand[]=setup_intent",
                    setup["id"].as_str().unwrap()
                ),
                on,
            )
            .await
            .ok();
        let _: CheckoutSession = parse(&expanded);
        assert_eq!(expanded["setup_intent"]["id"], seti["id"]);
        let pm = api
            .get(
                &format!(
                    "/v1/payment_methods/{}",
                    seti["payment_method"].as_str().unwrap()
                ),
                on,
            )
            .await
            .ok();
        let _: PaymentMethod = parse(&pm);
        assert_eq!(pm["customer"], cus_id.as_str());
        saved.push(si.payment_method.unwrap().id().as_str().to_owned());
    }
    let _: List<PaymentMethod> = parse(
        &api.get(
            &format!("/v1/customers/{cus_id}/payment_methods?type=card"),
            on,
        )
        .await
        .ok(),
    );
    let off = |pm: String| {
        let api = &api;
        let cus_id = cus_id.clone();
        async move {
            api.post(
                "/v1/payment_intents",
                on,
                &[
                    ("amount", "5000"),
                    ("currency", "usd"),
                    ("customer", &cus_id),
                    ("payment_method", &pm),
                    ("off_session", "true"),
                    ("confirm", "true"),
                ],
            )
            .await
        }
    };
    let ok: PaymentIntent = parse(&off(saved[0].clone()).await.ok());
    assert_eq!(ok.status, PaymentIntentStatus::Succeeded);
    let declined = off(saved[1].clone()).await;
    assert_eq!(declined.status, 402);
    let err: stripe_shared::Error = parse(&declined.json);
    assert_eq!(err.error.type_, stripe_shared::ApiErrorsType::CardError);
    assert_eq!(err.error.decline_code.as_deref(), Some("generic_decline"));
    assert_eq!(
        err.error.payment_intent.as_ref().unwrap().status,
        PaymentIntentStatus::RequiresPaymentMethod
    );
    // The next off-session charge needs authentication (a test control).
    let forced = api
        .submit(
            &format!("/_sim/accounts/{acct_id}/fail_next_off_session"),
            "code=authentication_required",
        )
        .await;
    assert_eq!(forced.status, 200);
    let auth = off(saved[0].clone()).await;
    assert_eq!(auth.status, 402);
    let err: stripe_shared::Error = parse(&auth.json);
    assert_eq!(
        err.error.code,
        Some(stripe_shared::ApiErrorsCode::AuthenticationRequired)
    );
    assert_eq!(
        err.error.payment_intent.as_ref().unwrap().status,
        PaymentIntentStatus::RequiresPaymentMethod
    );
    // Only the next one: the card works again.
    let again: PaymentIntent = parse(&off(saved[0].clone()).await.ok());
    assert_eq!(again.status, PaymentIntentStatus::Succeeded);

    // Autopay turned off: the saved method is detached from its Customer
    // (on the connected account) and can never be charged again.
    let detach = |pm: String, key: &'static str| {
        let api = &api;
        async move {
            api.post_idem(&format!("/v1/payment_methods/{pm}/detach"), on, key, &[])
                .await
        }
    };
    let detached: PaymentMethod = parse(&detach(saved[1].clone(), "detach-1").await.ok());
    assert!(detached.customer.is_none());
    // The same Idempotency-Key replays the first answer.
    let replay = detach(saved[1].clone(), "detach-1").await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.json["customer"], Value::Null);
    // Detaching again (a new key): Stripe's 400.
    let twice = detach(saved[1].clone(), "detach-2").await;
    assert_eq!(twice.status, 400);
    let err: stripe_shared::Error = parse(&twice.json);
    assert_eq!(
        err.error.type_,
        stripe_shared::ApiErrorsType::InvalidRequestError
    );
    assert!(err.error.message.unwrap().contains("not attached"));
    let reuse = off(saved[1].clone()).await;
    assert_eq!(reuse.status, 400, "{}", reuse.json);
    let err: stripe_shared::Error = parse(&reuse.json);
    assert_eq!(err.error.param.as_deref(), Some("payment_method"));

    // Dispute (opened, won), payout, balance transactions.
    let du = api
        .submit(
            "/_sim/disputes",
            &format!("payment_intent={}", ok.id.as_str()),
        )
        .await
        .ok();
    let _: Dispute = parse(&du);
    let du_id = du["id"].as_str().unwrap();
    let won = api
        .submit(&format!("/_sim/disputes/{du_id}/win"), "")
        .await
        .ok();
    let d: Dispute = parse(&won);
    assert_eq!(d.status, stripe_shared::DisputeStatus::Won);
    let _: Dispute = parse(&api.get(&format!("/v1/disputes/{du_id}"), on).await.ok());
    let _: List<Dispute> = parse(&api.get("/v1/disputes", on).await.ok());
    let balance = api.get("/v1/balance", on).await.ok();
    let b: stripe_core::Balance = parse(&balance);
    let available = b.available[0].amount;
    assert!(available > 0);
    let po = api
        .submit("/_sim/payouts", &format!("account={acct_id}"))
        .await
        .ok();
    let payout: Payout = parse(&po);
    assert_eq!((payout.amount, payout.status.as_str()), (available, "paid"));
    let _: List<Payout> = parse(&api.get("/v1/payouts", on).await.ok());
    let _: Payout = parse(
        &api.get(&format!("/v1/payouts/{}", payout.id.as_str()), on)
            .await
            .ok(),
    );
    let txns = api
        .get(
            &format!(
                "/v1/balance_transactions?payout={}&limit=100",
                payout.id.as_str()
            ),
            on,
        )
        .await
        .ok();
    let list: List<BalanceTransaction> = parse(&txns);
    // As payout reconciliation asks for them: sources expanded.
    let expanded = api
        .get(
            &format!(
                "/v1/balance_transactions?payout={}&limit=100&expand[]=data.source",
                payout.id.as_str()
            ),
            on,
        )
        .await
        .ok();
    let _: List<BalanceTransaction> = parse(&expanded);
    let sources: Vec<&str> = expanded["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["source"]["object"].as_str())
        .collect();
    for k in ["charge", "refund", "dispute", "payout"] {
        assert!(sources.contains(&k), "{k} source missing from {sources:?}");
    }
    let net: i64 = list
        .data
        .iter()
        .filter(|t| t.type_.as_str() != "payout")
        .map(|t| t.net)
        .sum();
    assert_eq!(
        net, available,
        "the payout's balance transactions add up to it"
    );
    let kinds: Vec<&str> = list.data.iter().map(|t| t.type_.as_str()).collect();
    for k in ["charge", "refund", "adjustment", "payout"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let _: BalanceTransaction = parse(
        &api.get(
            &format!("/v1/balance_transactions/{}", list.data[0].id.as_str()),
            on,
        )
        .await
        .ok(),
    );
    let failed = api
        .submit(
            "/_sim/payouts",
            &format!("account={acct_id}&amount=100&fail=true"),
        )
        .await;
    assert_eq!(
        failed.code(),
        "balance_insufficient",
        "everything was paid out"
    );
    // The platform earned the application fees.
    let platform = api
        .get("/v1/balance_transactions?type=application_fee", None)
        .await
        .ok();
    let fees: List<BalanceTransaction> = parse(&platform);
    assert_eq!(fees.data.iter().map(|t| t.amount).sum::<i64>(), 125 + 90);

    // Events: the API list and every emitted event, object included.
    let events = api.get("/v1/events?limit=100", on).await.ok();
    let listed: List<Event> = parse(&events);
    assert!(
        listed
            .data
            .iter()
            .all(|e| e.account.as_deref() == Some(acct_id.as_str()))
    );
    let one: Event = parse(
        &api.get(&format!("/v1/events/{}", listed.data[0].id.as_str()), on)
            .await
            .ok(),
    );
    assert_eq!(one.id, listed.data[0].id);
    let all = api.sim.events();
    let mut kinds: Vec<String> = Vec::new();
    for ev in &all {
        let e = parse_event(ev);
        assert_eq!(
            e.api_version.as_deref(),
            Some(aqueduct_stripe_sim::API_VERSION)
        );
        assert_eq!(
            e.account.as_deref(),
            Some(acct_id.as_str()),
            "all of this test's events are Connect events"
        );
        kinds.push(ev["type"].as_str().unwrap().to_owned());
    }
    for k in [
        "account.updated",
        "customer.created",
        "payment_intent.created",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "charge.succeeded",
        "charge.failed",
        "charge.refunded",
        "refund.created",
        "checkout.session.completed",
        "setup_intent.succeeded",
        "payment_method.attached",
        "payment_method.detached",
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "payout.created",
        "payout.paid",
    ] {
        assert!(kinds.iter().any(|x| x == k), "no {k} event");
    }
    let warnings = unknown_value_warnings();
    assert!(
        warnings.is_empty(),
        "async-stripe did not recognise: {warnings:#?}"
    );
}

#[tokio::test]
async fn unknown_enum_values_would_be_noticed() {
    let _api = Api::start().await; // installs the log capture
    let ev = serde_json::json!({
        "id": "evt_x", "object": "event", "created": 1, "livemode": false, "pending_webhooks": 0,
        "data": {"object": {}}, "type": SENTINEL,
    });
    let parsed: Event = parse(&ev);
    assert!(matches!(parsed.type_, EventType::Unknown(_)));
    assert!(
        logged(SENTINEL) > 0,
        "async-stripe's warning reaches the capture"
    );
}
