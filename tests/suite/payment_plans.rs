//! Payment plans (late fees suspended while kept) and the shut-off notice
//! list.

use crate::db_test;
use crate::support::TestApp;
use crate::support::seed;
use aqueduct_billing::ledger;
use aqueduct_core::Money;
use chrono::TimeZone;
use http::Method;
use serde_json::{Value, json};

db_test!(a_kept_plan_suspends_late_fees_and_notices, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    let rule =
        json!({"flat_cents": 500, "percent_bp": 0, "grace_days": 0, "min_balance_cents": 100});
    for s in [&a, &b] {
        let res = app
            .request(
                Method::PUT,
                "/api/v1/late-fee-rule",
                Some(s.admin_key.expose()),
                Some(rule.clone()),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
    }
    let key = a.admin_key.expose();
    let plans = format!("/api/v1/accounts/{}/payment-plans", a.account);
    // $42.50 + $38.85 owed, in three monthly installments from 2026-11-15.
    let res = app
        .request(
            Method::POST,
            &plans,
            Some(key),
            Some(json!({"installments": 3, "first_due_on": "2026-11-15"})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let plan = res.json();
    assert_eq!(plan["total_cents"], 8_135, "{plan}");
    assert_eq!(plan["state"], "kept");
    let amounts: Vec<i64> = plan["installments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["amount_cents"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, vec![2_711, 2_711, 2_713]);
    let again = app
        .request(
            Method::POST,
            &plans,
            Some(key),
            Some(json!({"installments": 2, "first_due_on": "2026-11-15"})),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.text);

    // The first installment is paid; on 2026-11-26 the bill is past due.
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    ledger::post_payment(
        &tx,
        app.clock.as_ref(),
        a.account,
        Money::usd(2_711),
        "2026-11-10".parse().unwrap(),
        "pi_plan_1",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    app.clock.set(
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 26, 12, 0, 0)
            .unwrap(),
    );
    let job = |key: String| {
        let app = &app;
        async move {
            let res = app
                .request(Method::POST, "/api/v1/jobs/late-fees", Some(&key), None)
                .await;
            assert_eq!(res.status, 200, "{}", res.text);
            res.json()
        }
    };
    let r = job(key.to_owned()).await;
    assert_eq!(r["past_due_bills"], 1, "{r}");
    assert_eq!(r["on_payment_plan"], 1, "{r}");
    assert_eq!(r["assessed"], 0, "{r}");
    let r = job(b.admin_key.expose().to_owned()).await;
    assert_eq!(r["assessed"], 1, "{r}");

    // January: two more installments fell due and were not paid — broken.
    app.clock
        .set(chrono::Utc.with_ymd_and_hms(2027, 1, 20, 12, 0, 0).unwrap());
    let list = app.get(&plans, key).await.json();
    assert_eq!(list[0]["state"], "broken", "{list}");
    assert_eq!(list[0]["paid_cents"], 2_711);
    assert_eq!(list[0]["due_so_far_cents"], 8_135);
    let number = app
        .get(&format!("/api/v1/accounts/{}", a.account), key)
        .await
        .json()["account_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = |notices: &Value| {
        notices
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["account_number"] == number.as_str())
    };
    let notices = app.get("/api/v1/reports/shut-off-notices", key).await;
    assert_eq!(notices.status, 200, "{}", notices.text);
    let notices = notices.json();
    assert!(listed(&notices), "{notices}");
    assert!(!notices.to_string().contains(&b.marker));

    // The rest is paid: completed, and off the list.
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    ledger::post_payment(
        &tx,
        app.clock.as_ref(),
        a.account,
        Money::usd(5_424),
        "2027-01-20".parse().unwrap(),
        "pi_plan_rest",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let list = app.get(&plans, key).await.json();
    assert_eq!(list[0]["state"], "completed", "{list}");
    let notices = app
        .get("/api/v1/reports/shut-off-notices", key)
        .await
        .json();
    assert!(!listed(&notices), "{notices}");

    // Cancelling is idempotent; a viewer cannot make plans.
    let url = format!("{plans}/cancel");
    let c = app.request(Method::POST, &url, Some(key), None).await;
    assert_eq!(c.json()["cancelled"], 1, "{}", c.text);
    let c = app.request(Method::POST, &url, Some(key), None).await;
    assert_eq!(c.json()["cancelled"], 0, "{}", c.text);
    let viewer = app
        .request(
            Method::POST,
            &plans,
            Some(a.viewer_key.expose()),
            Some(json!({"installments": 2, "first_due_on": "2027-02-01"})),
        )
        .await;
    assert_eq!(viewer.status, 403);
});
