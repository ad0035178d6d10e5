//! Deposit refunds payable: a move-out leaves the rest of the deposit as a
//! credit owed to the customer; it is listed until staff record its
//! payment (once, audited), which zeroes the credit with a balanced
//! `deposit_refund_paid` entry; or the credit is applied to another
//! account's debt.

use crate::db_test;
use crate::support::TestApp;
use crate::support::seed::{self, Seeded};
use aqueduct_billing::aging;
use aqueduct_billing::ledger::{self, EntryKind, NewEntry};
use aqueduct_core::{AccountId, Money};
use aqueduct_tenant::audit;
use http::Method;
use serde_json::{Value, json};

async fn send(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let res = app.request(method, path, Some(key), body).await;
    let v = serde_json::from_str(&res.text).unwrap_or(Value::String(res.text.clone()));
    (res.status.as_u16(), v)
}

async fn pay(
    app: &TestApp,
    s: &Seeded,
    refund: &str,
    key: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut b = http::Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/deposit-refunds/{refund}/payments"))
        .header("authorization", format!("Bearer {}", s.admin_key.expose()))
        .header("content-type", "application/json");
    if let Some(k) = key {
        b = b.header("idempotency-key", k);
    }
    let res = app
        .send(b.body(axum::body::Body::from(body.to_string())).unwrap())
        .await;
    let v = serde_json::from_str(&res.text).unwrap_or(Value::String(res.text.clone()));
    (res.status.as_u16(), v)
}

async fn balance(app: &TestApp, s: &Seeded, account: &str) -> i64 {
    app.get(
        &format!("/api/v1/accounts/{account}/ledger"),
        s.admin_key.expose(),
    )
    .await
    .json()["balance_cents"]
        .as_i64()
        .unwrap()
}

async fn trial_balance_is_zero(app: &TestApp, s: &Seeded) {
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let tb = aging::trial_balance(&ledger::all(&tx).await.unwrap());
    assert_eq!(tb.values().sum::<i64>(), 0, "{tb:?}");
    tx.commit().await.unwrap();
}

/// A $150 deposit, then a move-out on 2026-11-15 at 128,500 (final bill
/// $28.60, see tests/suite/lifecycle.rs). The balance owed before it is
/// the seeded $42.50 opening charge + October's $38.85 bill = $81.35, plus
/// $28.60 = $109.95: the deposit pays it and $40.05 is refunded.
pub(crate) async fn moved_out_with_refund(app: &TestApp, s: &Seeded) -> String {
    let acct = s.account.to_string();
    let key = s.admin_key.expose();
    let (code, dep) = send(
        app,
        key,
        Method::POST,
        &format!("/api/v1/accounts/{acct}/deposits"),
        Some(json!({"amount_cents": 15_000, "received_on": "2026-10-01"})),
    )
    .await;
    assert_eq!(code, 201, "{dep}");
    let (code, closed) = send(
        app,
        key,
        Method::POST,
        &format!("/api/v1/accounts/{acct}/move-out"),
        Some(json!({"read_on": "2026-11-15", "value": 128_500})),
    )
    .await;
    assert_eq!(code, 201, "{closed}");
    assert_eq!(closed["deposit_applied_cents"], 10_995, "{closed}");
    assert_eq!(closed["deposit_refunded_cents"], 4_005, "{closed}");
    let (code, list) = send(app, key, Method::GET, "/api/v1/deposit-refunds", None).await;
    assert_eq!(code, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    list[0]["refund_id"].as_str().unwrap().to_owned()
}

db_test!(a_refund_owed_is_listed_until_paid_once, |db| {
    let app = TestApp::new(db).await;
    let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let refund = moved_out_with_refund(&app, &s).await;
    let acct = s.account.to_string();
    let key = s.admin_key.expose();

    // Owed: the closed account carries a $40.05 credit.
    let (_, list) = send(&app, key, Method::GET, "/api/v1/deposit-refunds", None).await;
    let r = &list[0];
    assert_eq!(r["account_id"], acct.as_str());
    assert_eq!(r["account_status"], "closed");
    assert_eq!(r["refunded_on"], "2026-11-15");
    assert_eq!(
        (r["refund_cents"].as_i64(), r["owed_cents"].as_i64()),
        (Some(4_005), Some(4_005))
    );
    assert_eq!(r["status"], "owed");
    assert_eq!(r["payment"], Value::Null);
    assert_eq!(balance(&app, &s, &acct).await, -4_005);
    trial_balance_is_zero(&app, &s).await;
    // The register shows it owed.
    let csv = app.get("/api/v1/reports/deposits.csv", key).await.text;
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "account_number,holder_name,status,received,applied,refunded,transferred,held,refund_owed,refund_paid"
    );
    assert!(
        lines
            .next()
            .unwrap()
            .ends_with(",closed,150.00,109.95,40.05,0.00,0.00,40.05,0.00"),
        "{csv}"
    );
    // The staff page lists it with a form.
    let page = app.get("/app/deposits/refunds", key).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text
            .contains(&format!("action=\"/app/deposits/refunds/{refund}/pay\""))
    );
    assert!(page.text.contains("$40.05"));

    // Refused: a viewer; more than owed; a check without its number; a
    // day before the refund; an unknown method.
    let viewer = app
        .request(
            Method::GET,
            "/api/v1/deposit-refunds",
            Some(s.viewer_key.expose()),
            None,
        )
        .await;
    assert_eq!(viewer.status, 403);
    let viewer = app
        .request(
            Method::POST,
            &format!("/api/v1/deposit-refunds/{refund}/payments"),
            Some(s.viewer_key.expose()),
            Some(json!({"method": "check", "check_number": "1042", "paid_on": "2026-11-20"})),
        )
        .await;
    assert_eq!(viewer.status, 403);
    for body in [
        json!({"method": "check", "check_number": "1042", "paid_on": "2026-11-20", "amount_cents": 4_006}),
        json!({"method": "check", "paid_on": "2026-11-20"}),
        json!({"method": "check", "check_number": "1042", "paid_on": "2026-11-14"}),
        json!({"method": "wire", "paid_on": "2026-11-20"}),
    ] {
        let (code, err) = pay(&app, &s, &refund, Some("bad"), body.clone()).await;
        assert_eq!(code, 422, "{body}: {err}");
    }
    assert_eq!(
        balance(&app, &s, &acct).await,
        -4_005,
        "a refused payment posted"
    );

    // Paid by check 1042: 201; the same request again: the same payment.
    let body = json!({"method": "check", "check_number": "1042", "paid_on": "2026-11-20"});
    let (code, paid) = pay(&app, &s, &refund, Some("k-1"), body.clone()).await;
    assert_eq!(code, 201, "{paid}");
    assert_eq!(paid["amount_cents"], 4_005);
    assert_eq!(paid["check_number"], "1042");
    assert_eq!(paid["method"], "check");
    assert_eq!(paid["paid_on"], "2026-11-20");
    let (code, again) = pay(&app, &s, &refund, Some("k-1"), body).await;
    assert_eq!(code, 200, "{again}");
    assert_eq!(again["payment_id"], paid["payment_id"]);
    // Twice with another key or another check: refused.
    let (code, twice) = pay(
        &app,
        &s,
        &refund,
        Some("k-2"),
        json!({"method": "check", "check_number": "1043", "paid_on": "2026-11-21"}),
    )
    .await;
    assert_eq!(code, 409, "{twice}");
    let (code, _) = pay(
        &app,
        &s,
        &refund,
        Some("k-3"),
        json!({"method": "cash", "paid_on": "2026-11-21"}),
    )
    .await;
    assert_eq!(code, 409);

    // The credit is zeroed by one balanced entry: receivable ← cash.
    assert_eq!(balance(&app, &s, &acct).await, 0);
    trial_balance_is_zero(&app, &s).await;
    let ledger = app
        .get(&format!("/api/v1/accounts/{acct}/ledger"), key)
        .await
        .json();
    let paid_entries: Vec<&Value> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "deposit_refund_paid")
        .collect();
    assert_eq!(paid_entries.len(), 1, "{ledger}");
    assert_eq!(paid_entries[0]["amount_cents"], 4_005);
    assert_eq!(paid_entries[0]["debit"], "receivable");
    assert_eq!(paid_entries[0]["credit"], "cash");
    assert_eq!(paid_entries[0]["id"], paid["ledger_entry_id"]);

    // Off the owed list, on the paid one; the register shows it paid.
    let (_, owed) = send(&app, key, Method::GET, "/api/v1/deposit-refunds", None).await;
    assert_eq!(owed, json!([]));
    let (_, done) = send(
        &app,
        key,
        Method::GET,
        "/api/v1/deposit-refunds?status=paid",
        None,
    )
    .await;
    assert_eq!(done[0]["status"], "paid");
    assert_eq!(done[0]["payment"]["check_number"], "1042");
    assert_eq!(done[0]["owed_cents"], 0);
    let csv = app.get("/api/v1/reports/deposits.csv", key).await.text;
    assert!(
        csv.lines().nth(1).unwrap().ends_with(",0.00,40.05"),
        "{csv}"
    );

    // Audited once.
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let log = audit::recent(&tx, 1000).await.unwrap();
    tx.commit().await.unwrap();
    let paid_log: Vec<_> = log
        .iter()
        .filter(|e| e.action == "deposit_refund.paid")
        .collect();
    assert_eq!(paid_log.len(), 1);
    assert_eq!(paid_log[0].outcome, "success");
    assert_eq!(
        paid_log[0].target.as_deref(),
        Some(format!("account:{acct}").as_str())
    );
});

db_test!(
    later_charges_use_the_credit_and_the_form_pays_what_is_left,
    |db| {
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let refund = moved_out_with_refund(&app, &s).await;
        let acct = s.account.to_string();
        // A $10.00 charge on the closed account after the move-out: $30.05 of
        // the credit is left to pay out.
        {
            let tx = app.pool.tenant(&s.tenant).await.unwrap();
            ledger::post(
                &tx,
                app.clock.as_ref(),
                NewEntry {
                    account: s.account,
                    kind: EntryKind::Adjustment,
                    amount: Money::usd(1_000),
                    effective_on: "2026-11-18".parse().unwrap(),
                    external_id: Some("late-charge".into()),
                    bill: None,
                    memo: "Meter box repair".into(),
                },
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
        let key = s.admin_key.expose();
        let (_, list) = send(&app, key, Method::GET, "/api/v1/deposit-refunds", None).await;
        assert_eq!(list[0]["owed_cents"], 3_005, "{list}");
        let (code, _) = pay(
            &app,
            &s,
            &refund,
            Some("k"),
            json!({"method": "ach", "paid_on": "2026-11-20", "amount_cents": 4_005}),
        )
        .await;
        assert_eq!(code, 422, "more than owed");

        // The staff form (a double submit records once).
        let form = |body: String| {
            http::Request::builder()
                .method(Method::POST)
                .uri(format!("/app/deposits/refunds/{refund}/pay"))
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(body))
                .unwrap()
        };
        let attempt = "0123456789abcdef0123456789abcdef";
        let bad = app
            .send(form(format!(
                "method=check&paid_on=2026-11-20&attempt={attempt}"
            )))
            .await;
        assert_eq!(bad.status, 422);
        assert!(bad.text.contains("check number"), "{}", bad.text);
        for _ in 0..2 {
            let res = app
            .send(form(format!(
                "method=check&check_number=2001&paid_on=2026-11-20&reference=mailed&attempt={attempt}"
            )))
            .await;
            assert_eq!(res.status, 303, "{}", res.text);
        }
        assert_eq!(balance(&app, &s, &acct).await, 0);
        let (_, done) = send(
            &app,
            key,
            Method::GET,
            "/api/v1/deposit-refunds?status=all",
            None,
        )
        .await;
        assert_eq!(done.as_array().unwrap().len(), 1);
        assert_eq!(done[0]["payment"]["amount_cents"], 3_005);
        assert_eq!(done[0]["payment"]["reference"], "mailed");
        let page = app.get("/app/deposits/refunds?status=paid", key).await.text;
        assert!(
            page.contains("$30.05 by check 2001 on 2026-11-20"),
            "{page}"
        );
        // Check 2001 cannot pay anything else.
        trial_balance_is_zero(&app, &s).await;
    }
);

db_test!(the_credit_can_be_applied_to_another_accounts_debt, |db| {
    let app = TestApp::new(db).await;
    let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let refund = moved_out_with_refund(&app, &s).await;
    crate::bill_runs::add_accounts(&app, &s, 1, &[]).await;
    let other = {
        let tx = app.pool.tenant(&s.tenant).await.unwrap();
        let a = aqueduct_billing::accounts::by_number(
            &tx,
            &aqueduct_billing::accounts::AccountNumber::parse("200-0").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        tx.commit().await.unwrap();
        a.id.to_string()
    };
    {
        let tx = app.pool.tenant(&s.tenant).await.unwrap();
        ledger::post(
            &tx,
            app.clock.as_ref(),
            NewEntry {
                account: other.parse::<AccountId>().unwrap(),
                kind: EntryKind::Charge,
                amount: Money::usd(5_000),
                effective_on: "2026-11-01".parse().unwrap(),
                external_id: Some("other-debt".into()),
                bill: None,
                memo: "Owed".into(),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let (code, applied) = pay(
        &app,
        &s,
        &refund,
        Some("apply-1"),
        json!({"method": "applied", "to_account_id": other, "paid_on": "2026-11-20"}),
    )
    .await;
    assert_eq!(code, 201, "{applied}");
    assert_eq!(applied["applied_to_account_id"], other.as_str());
    assert_eq!(balance(&app, &s, &s.account.to_string()).await, 0);
    assert_eq!(balance(&app, &s, &other).await, 5_000 - 4_005);
    trial_balance_is_zero(&app, &s).await;
    let (_, owed) = send(
        &app,
        s.admin_key.expose(),
        Method::GET,
        "/api/v1/deposit-refunds",
        None,
    )
    .await;
    assert_eq!(owed, json!([]));
});
