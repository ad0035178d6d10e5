//! The wire protocol: keys, errors, idempotency, account scoping, pagination.

use stripe_shared::{ApiErrorsType, Customer, Error, PaymentIntent};
use stripe_types::List;

use crate::common::{Api, form, parse};

#[tokio::test]
async fn missing_or_wrong_key_is_401_in_stripes_shape() {
    let api = Api::start().await;
    let none = api
        .raw(
            http::Request::get(api.sim.url("/v1/customers"))
                .body(Default::default())
                .unwrap(),
        )
        .await;
    assert_eq!(none.status, 401);
    let e: Error = parse(&none.json);
    assert_eq!(e.error.type_, ApiErrorsType::InvalidRequestError);
    let wrong = api
        .raw(
            http::Request::get(api.sim.url("/v1/customers"))
                .header("authorization", "Bearer sk_test_wrong_key_1234")
                .body(Default::default())
                .unwrap(),
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("****1234"),
        "key is masked"
    );
    assert!(!wrong.text.contains("sk_test_wrong_key_1234"));
}

#[tokio::test]
async fn idempotency_key_replays_and_rejects_changed_params() {
    let api = Api::start().await;
    let params = [
        ("amount", "2000"),
        ("currency", "usd"),
        ("metadata[bill]", "7"),
    ];
    let first = api
        .post_idem("/v1/payment_intents", None, "op-1", &params)
        .await;
    let first_json = first.json.clone();
    assert_eq!(first.status, 200);
    let again = api
        .post_idem("/v1/payment_intents", None, "op-1", &params)
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json, first_json, "the stored response is replayed");
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.header("request-id"), first.header("request-id"));
    let listed: List<PaymentIntent> = parse(&api.get("/v1/payment_intents", None).await.ok());
    assert_eq!(listed.data.len(), 1, "one PaymentIntent for one key");

    let changed = api
        .post_idem(
            "/v1/payment_intents",
            None,
            "op-1",
            &[
                ("amount", "2001"),
                ("currency", "usd"),
                ("metadata[bill]", "7"),
            ],
        )
        .await;
    assert_eq!(changed.status, 400);
    let e: Error = parse(&changed.json);
    assert_eq!(e.error.type_, ApiErrorsType::IdempotencyError);

    // Keys are scoped per account: the same key on a connected account is a new request.
    let acct = api.onboarded_account().await;
    let other = api
        .post_idem("/v1/payment_intents", Some(&acct), "op-1", &params)
        .await
        .ok();
    assert_ne!(other["id"], first_json["id"]);

    // Concurrent requests with one key make one object.
    let (a, b) = tokio::join!(
        api.post_idem(
            "/v1/customers",
            None,
            "cus-op",
            &[("email", "x@example.org")]
        ),
        api.post_idem(
            "/v1/customers",
            None,
            "cus-op",
            &[("email", "x@example.org")]
        )
    );
    assert_eq!(a.json["id"], b.json["id"]);
    let customers: List<Customer> = parse(&api.get("/v1/customers", None).await.ok());
    assert_eq!(customers.data.len(), 1);
}

#[tokio::test]
async fn objects_are_scoped_to_their_connected_account() {
    let api = Api::start().await;
    let a = api.onboarded_account().await;
    let b = api.onboarded_account().await;
    let pi = api.paid_intent(Some(&a), 1500).await;
    let id = pi["id"].as_str().unwrap();
    assert_eq!(
        api.get(&format!("/v1/payment_intents/{id}"), Some(&a))
            .await
            .status,
        200
    );
    for acct in [Some(b.as_str()), None] {
        let r = api.get(&format!("/v1/payment_intents/{id}"), acct).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.code(), "resource_missing");
        let _: Error = parse(&r.json);
    }
    let refund = api
        .post("/v1/refunds", Some(&b), &[("payment_intent", id)])
        .await;
    assert_eq!(refund.status, 404);
    let cs = api
        .get(
            &format!("/v1/charges/{}", pi["latest_charge"].as_str().unwrap()),
            Some(&b),
        )
        .await;
    assert_eq!(cs.status, 404);
    let listed: List<PaymentIntent> = parse(&api.get("/v1/payment_intents", Some(&b)).await.ok());
    assert!(listed.data.is_empty());
    assert_eq!(
        api.get(&format!("/v1/accounts/{a}"), Some(&b)).await.status,
        404
    );
    let unknown = api
        .get("/v1/payment_intents", Some("acct_doesnotexist"))
        .await;
    assert_eq!((unknown.status, unknown.code()), (403, "account_invalid"));
}

#[tokio::test]
async fn refunds_never_exceed_what_was_captured() {
    let api = Api::start().await;
    let pi = api.paid_intent(None, 1000).await;
    let id = pi["id"].as_str().unwrap();
    let first = api
        .post(
            "/v1/refunds",
            None,
            &[("payment_intent", id), ("amount", "600")],
        )
        .await
        .ok();
    assert_eq!(first["amount"], 600);
    let too_much = api
        .post(
            "/v1/refunds",
            None,
            &[("payment_intent", id), ("amount", "500")],
        )
        .await;
    assert_eq!(too_much.status, 400);
    let e: Error = parse(&too_much.json);
    assert_eq!(e.error.type_, ApiErrorsType::InvalidRequestError);
    assert_eq!(too_much.code(), "amount_too_large");
    assert_eq!(e.error.param.as_deref(), Some("amount"));
    assert_eq!(
        e.error.message.as_deref(),
        Some("Refund amount ($5.00) is greater than unrefunded amount on charge ($4.00)")
    );
    let rest = api
        .post(
            "/v1/refunds",
            None,
            &[("charge", pi["latest_charge"].as_str().unwrap())],
        )
        .await
        .ok();
    assert_eq!(rest["amount"], 400, "the default refunds what is left");
    let again = api
        .post("/v1/refunds", None, &[("payment_intent", id)])
        .await;
    assert_eq!(
        (again.status, again.code()),
        (400, "charge_already_refunded")
    );
    let charge = api
        .get(
            &format!("/v1/charges/{}", pi["latest_charge"].as_str().unwrap()),
            None,
        )
        .await
        .ok();
    assert_eq!(
        (
            charge["amount_refunded"].as_i64(),
            charge["refunded"].as_bool()
        ),
        (Some(1000), Some(true))
    );
    let unpaid = api
        .post(
            "/v1/payment_intents",
            None,
            &[("amount", "900"), ("currency", "usd")],
        )
        .await
        .ok();
    let r = api
        .post(
            "/v1/refunds",
            None,
            &[("payment_intent", unpaid["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn lists_page_with_limit_and_starting_after() {
    let api = Api::start().await;
    for i in 0..3 {
        api.post(
            "/v1/customers",
            None,
            &[("email", &format!("c{i}@example.org"))],
        )
        .await
        .ok();
    }
    let page1 = api.get("/v1/customers?limit=2", None).await.ok();
    let l: List<Customer> = parse(&page1);
    assert!(l.has_more);
    assert_eq!(l.url, "/v1/customers");
    assert_eq!(
        l.data[0].email.as_deref(),
        Some("c2@example.org"),
        "newest first"
    );
    let last = l.data[1].id.as_str();
    let page2: List<Customer> = parse(
        &api.get(
            &format!("/v1/customers?limit=2&starting_after={last}"),
            None,
        )
        .await
        .ok(),
    );
    assert!(!page2.has_more);
    assert_eq!(page2.data.len(), 1);
    assert_eq!(api.get("/v1/customers?limit=0", None).await.status, 400);
}

#[tokio::test]
async fn validation_errors_name_the_param() {
    let api = Api::start().await;
    let r = api
        .post("/v1/payment_intents", None, &[("currency", "usd")])
        .await;
    assert_eq!((r.status, r.code()), (400, "parameter_missing"));
    assert_eq!(r.json["error"]["param"], "amount");
    let small = api
        .post(
            "/v1/payment_intents",
            None,
            &[("amount", "10"), ("currency", "usd")],
        )
        .await;
    assert_eq!(small.code(), "amount_too_small");
    let fee_on_platform = api
        .post(
            "/v1/payment_intents",
            None,
            &[
                ("amount", "1000"),
                ("currency", "usd"),
                ("application_fee_amount", "10"),
            ],
        )
        .await;
    assert_eq!(fee_on_platform.status, 400);
    let unknown = api.get("/v1/not_a_thing", None).await;
    assert_eq!(unknown.status, 404);
    let _: Error = parse(&unknown.json);
    assert!(form(&[("a[b]", "x y")]).contains("a%5Bb%5D=x%20y"));
}
