//! The late-fee job: once per bill however often it runs, never while a
//! payment is in flight, never on a paid bill.

use crate::db_test;
use crate::support::TestApp;
use crate::support::seed;
use aqueduct_billing::ledger;
use aqueduct_core::Money;
use chrono::TimeZone;
use http::Method;
use serde_json::json;

db_test!(
    late_fees_are_assessed_once_and_wait_for_payments_in_flight,
    |db| {
        let app = TestApp::new(db).await;
        let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
        let rule = json!({"flat_cents": 500, "percent_bp": 150, "grace_days": 5, "min_balance_cents": 100});
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
        let job = |key: &str| {
            let key = key.to_owned();
            let app = &app;
            async move {
                let res = app
                    .request(Method::POST, "/api/v1/jobs/late-fees", Some(&key), None)
                    .await;
                assert_eq!(res.status, 200, "{}", res.text);
                res.json()
            }
        };
        // The October bill is due 2026-11-20: not yet past due on 2026-11-02.
        let r = job(a.admin_key.expose()).await;
        assert_eq!(r["past_due_bills"], 0);

        // Bravo pays everything; alpha starts an ACH payment of $10.
        let clock = app.clock.as_ref();
        let on = "2026-11-10".parse().unwrap();
        let tx = app.pool.tenant(&b.tenant).await.unwrap();
        ledger::post_payment(&tx, clock, b.account, Money::usd(8_135), on, "pi_all")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let tx = app.pool.tenant(&a.tenant).await.unwrap();
        ledger::payment_processing(&tx, clock, a.account, "pi_ach")
            .await
            .unwrap();
        tx.commit().await.unwrap();

        // Past due plus grace: 2026-11-26.
        app.clock.set(
            chrono::Utc
                .with_ymd_and_hms(2026, 11, 26, 12, 0, 0)
                .unwrap(),
        );
        let r = job(a.admin_key.expose()).await;
        assert_eq!(r["past_due_bills"], 1);
        assert_eq!(r["payment_in_flight"], 1);
        assert_eq!(r["assessed"], 0);
        let r = job(b.admin_key.expose()).await;
        assert_eq!(r["below_minimum"], 1);
        assert_eq!(r["assessed"], 0);

        // The ACH payment settles: now the fee is due, on what is still unpaid
        // of charges through the bill: $42.50 + $38.85 − $10.00 = $71.35;
        // $5.00 + 1.5 % ($1.07) = $6.07.
        let tx = app.pool.tenant(&a.tenant).await.unwrap();
        ledger::post_payment(&tx, clock, a.account, Money::usd(1_000), on, "pi_ach")
            .await
            .unwrap();
        assert!(!ledger::has_payment_in_flight(&tx, a.account).await.unwrap());
        tx.commit().await.unwrap();
        let r = job(a.admin_key.expose()).await;
        assert_eq!(r["assessed"], 1);
        assert_eq!(r["assessed_cents"], 607);
        // Running it again (same day or later) adds nothing.
        for _ in 0..2 {
            let r = job(a.admin_key.expose()).await;
            assert_eq!(r["assessed"], 0);
            assert_eq!(r["already_assessed"], 1);
            app.clock.advance(chrono::Duration::days(1));
        }
        let view = app
            .get(
                &format!("/api/v1/accounts/{}/ledger", a.account),
                a.admin_key.expose(),
            )
            .await
            .json();
        let fees = view["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "late_fee")
            .count();
        assert_eq!(fees, 1);
        assert_eq!(view["balance_cents"], 7_135 + 607);
    }
);
