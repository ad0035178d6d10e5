//! Bill runs: preview and exceptions, finalize in batches with a crash and
//! resume, re-run idempotence, gapless numbers, voids, the calculator.

use crate::db_test;
use crate::support::TestApp;
use crate::support::seed::{self, Seeded};
use aqueduct_billing::accounts::{self, AccountNumber, NewAccount};
use aqueduct_billing::bill_runs::{self, FinalizeOptions, NewRun};
use aqueduct_billing::entity::bill;
use aqueduct_billing::locations::{self, NewLocation};
use aqueduct_billing::meters::{self, NewMeter};
use aqueduct_billing::reads::{self, NewRead, ReadSource};
use aqueduct_billing::{BillingError, aging, ledger};
use aqueduct_core::{AccountId, BillRunId, LocationId};
use aqueduct_tenant::scoped;
use http::Method;
use sea_orm::{ConnectionTrait, QueryOrder};
use serde_json::json;

/// Adds `n` accounts, each with a meter read on 2026-10-28 and, except
/// those in `no_read`, on 2026-11-27 (use 1,000 × (i+1) gallons).
pub(crate) async fn add_accounts(app: &TestApp, s: &Seeded, n: u32, no_read: &[u32]) {
    let clock = app.clock.as_ref();
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let opened = "2020-01-01".parse().unwrap();
    for i in 0..n {
        let loc = locations::create(
            &tx,
            clock,
            NewLocation {
                address_line1: format!("{i} Main St"),
                address_line2: None,
                city: "Springfield".into(),
                state: "IL".into(),
                postal_code: "62701".into(),
                route: None,
                sequence: None,
            },
        )
        .await
        .unwrap();
        let acct = accounts::create(
            &tx,
            clock,
            NewAccount {
                number: AccountNumber::parse(&format!("200-{i}")).unwrap(),
                holder_name: format!("Holder {i}"),
                email: None,
                phone: None,
                mailing: None,
                opened_on: opened,
                paperless: false,
            },
        )
        .await
        .unwrap();
        let (aid, lid) = (AccountId::from_uuid(acct.id), LocationId::from_uuid(loc.id));
        locations::move_in(&tx, aid, lid, opened).await.unwrap();
        let meter = meters::create(
            &tx,
            NewMeter {
                location: lid,
                serial: format!("M-{i}"),
                size: "5/8\"".into(),
                unit: "gallons".into(),
                register_digits: 6,
                multiplier: 1,
                installed_on: opened,
            },
        )
        .await
        .unwrap();
        let mut days = vec![("2026-10-28", 50_000)];
        if !no_read.contains(&i) {
            days.push(("2026-11-27", 50_000 + 1_000 * (i64::from(i) + 1)));
        }
        for (on, value) in days {
            reads::record(
                &tx,
                clock,
                &meter,
                NewRead {
                    read_on: on.parse().unwrap(),
                    value,
                    estimated: false,
                    source: ReadSource::Manual,
                },
            )
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
}

pub(crate) async fn november(app: &TestApp, s: &Seeded) -> BillRunId {
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let run = bill_runs::create(
        &tx,
        app.clock.as_ref(),
        NewRun {
            schedule: s.schedule,
            period_start: "2026-11-01".parse().unwrap(),
            period_end: "2026-11-30".parse().unwrap(),
            due_on: "2026-12-20".parse().unwrap(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    BillRunId::from_uuid(run.id)
}

pub(crate) async fn all_bills(app: &TestApp, s: &Seeded) -> Vec<bill::Model> {
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let rows = scoped::<bill::Entity>(&tx)
        .order_by_asc(bill::Column::Number)
        .all(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    rows
}

db_test!(a_killed_run_resumes_without_duplicates_or_gaps, |db| {
    let app = TestApp::new(db).await;
    let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    // The seeded account has no November read: an exception.
    add_accounts(&app, &s, 9, &[]).await;
    let run = november(&app, &s).await;
    let clock = app.clock.as_ref();
    let opts = |stop| FinalizeOptions {
        batch_size: 3,
        stop_after_batches: stop,
        estimate_missing: false,
    };
    let killed = bill_runs::finalize(&app.pool, &s.tenant, clock, run, &opts(Some(2))).await;
    assert!(matches!(killed, Err(BillingError::Interrupted)));
    let after_crash = all_bills(&app, &s).await.len();
    assert!((3..=7).contains(&after_crash), "{after_crash}");
    let report = bill_runs::finalize(&app.pool, &s.tenant, clock, run, &opts(None))
        .await
        .unwrap();
    assert_eq!(report.status, "finalized");
    let bills = all_bills(&app, &s).await;
    // October's seeded bill plus nine November bills.
    assert_eq!(bills.len(), 10);
    assert_eq!(report.billed as usize + after_crash, 10);
    let numbers: Vec<i64> = bills.iter().map(|b| b.number).collect();
    assert_eq!(numbers, (1..=10).collect::<Vec<_>>(), "numbers have gaps");
    let mut accounts: Vec<_> = bills[1..].iter().map(|b| b.account_id).collect();
    accounts.sort();
    accounts.dedup();
    assert_eq!(accounts.len(), 9, "an account was billed twice");
    assert_eq!(report.exceptions.len(), 1);
    assert_eq!(report.exceptions[0].kind, "missing_read");

    // Every bill has exactly one ledger charge of its total.
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let entries = ledger::all(&tx).await.unwrap();
    for b in &bills {
        let charges: Vec<_> = entries.iter().filter(|e| e.bill_id == Some(b.id)).collect();
        assert_eq!(charges.len(), 1);
        assert_eq!(charges[0].amount_cents, b.total_cents);
    }
    assert_eq!(aging::trial_balance(&entries).values().sum::<i64>(), 0);
    // 3,000 gallons on a 5/8" meter: $24.50 + 1 kgal × $4.10.
    let three = bills.iter().find(|b| b.usage_units == 3_000).unwrap();
    assert_eq!(three.total_cents, 2_860);
    tx.commit().await.unwrap();

    // Running the finalized cycle again bills no one.
    let again = bill_runs::finalize(&app.pool, &s.tenant, clock, run, &opts(None))
        .await
        .unwrap();
    assert_eq!(again.billed, 0);
    assert_eq!(again.already_billed, 9);
    assert_eq!(all_bills(&app, &s).await.len(), 10);
});

db_test!(
    late_reads_and_voids_bill_once_more_under_new_numbers,
    |db| {
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        add_accounts(&app, &s, 3, &[1]).await;
        let run = november(&app, &s).await;
        let key = s.admin_key.expose();
        let preview = app
            .get(&format!("/api/v1/bill-runs/{run}/preview"), key)
            .await
            .json();
        assert_eq!(preview["bills"].as_array().unwrap().len(), 2, "{preview}");
        let kinds: Vec<&str> = preview["exceptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, vec!["missing_read", "missing_read"]);
        // Preview writes nothing.
        assert_eq!(all_bills(&app, &s).await.len(), 1);

        let res = app
            .request(
                Method::POST,
                &format!("/api/v1/bill-runs/{run}/finalize"),
                Some(key),
                None,
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert_eq!(res.json()["billed"], 2);

        // The missing read arrives; the cycle is finalized again.
        let late =
            json!({"reads": [{"meter_serial": "M-1", "read_on": "2026-11-29", "value": 52_000}]});
        app.request(Method::POST, "/api/v1/reads", Some(key), Some(late))
            .await;
        let res = app
            .request(
                Method::POST,
                &format!("/api/v1/bill-runs/{run}/finalize"),
                Some(key),
                None,
            )
            .await
            .json();
        assert_eq!(res["billed"], 1);
        assert_eq!(res["already_billed"], 2);

        // Void the first November bill: its charge is reversed, and the next
        // finalize issues revision 1 under the next number.
        let bills = all_bills(&app, &s).await;
        let first = &bills[1];
        let void = app
            .request(
                Method::POST,
                &format!("/api/v1/bills/{}/void", first.id),
                Some(key),
                Some(json!({"reason": "misread"})),
            )
            .await;
        assert_eq!(void.status, 200, "{}", void.text);
        assert_eq!(void.json()["voided"], true);
        let res = app
            .request(
                Method::POST,
                &format!("/api/v1/bill-runs/{run}/finalize"),
                Some(key),
                None,
            )
            .await
            .json();
        assert_eq!(res["billed"], 1);
        let bills = all_bills(&app, &s).await;
        assert_eq!(
            bills.iter().map(|b| b.number).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        let corrected = bills.last().unwrap();
        assert_eq!(corrected.account_id, first.account_id);
        assert_eq!(corrected.revision, 1);
        let ledger = app
            .get(
                &format!("/api/v1/accounts/{}/ledger", first.account_id),
                key,
            )
            .await
            .json();
        // Charge, reversal, corrected charge: one bill's worth owed.
        assert_eq!(ledger["balance_cents"], corrected.total_cents);

        // Bills are immutable in the database.
        let owner = app.db.owner().await;
        for sql in ["UPDATE bills SET total_cents = 1", "DELETE FROM bills"] {
            assert!(owner.execute_unprepared(sql).await.is_err(), "{sql}");
        }
        let shown = app
            .get(&format!("/api/v1/bills/{}", corrected.id), key)
            .await
            .json();
        assert_eq!(shown["revision"], 1);
        let sum: i64 = shown["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["amount"]["cents"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, corrected.total_cents);
    }
);

db_test!(calculator_prices_a_use_with_the_stored_rates, |db| {
    let app = TestApp::new(db).await;
    let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = s.viewer_key.expose();
    let body = json!({"usage": "12000", "unit": "gallon", "meter_size": "5/8",
                      "period_start": "2026-10-01", "period_end": "2026-10-31"});
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/rate-schedules/{}/preview", s.schedule),
            Some(key),
            Some(body),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    // $24.50 + 8 kgal × $4.10 + 2 kgal × $5.25 = $67.80.
    let calc = res.json();
    assert_eq!(calc["total"]["cents"], 6_780, "{calc}");
    let sum: i64 = calc["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount"]["cents"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, 6_780);
    // A new version from December; the old one stays.
    let mut v2 = seed::residential();
    v2.name = "Residential 2027".into();
    v2.effective_from = "2026-12-01".parse().unwrap();
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/rate-schedules/{}/versions", s.schedule),
            Some(s.admin_key.expose()),
            Some(serde_json::to_value(&v2).unwrap()),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.json()["versions"].as_array().unwrap().len(), 2);
    let dup = app
        .request(
            Method::POST,
            &format!("/api/v1/rate-schedules/{}/versions", s.schedule),
            Some(s.admin_key.expose()),
            Some(serde_json::to_value(&v2).unwrap()),
        )
        .await;
    assert_eq!(dup.status, 409, "{}", dup.text);
});

db_test!(missing_reads_can_be_estimated_and_are_marked, |db| {
    let app = TestApp::new(db).await;
    let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    // 200-0 has one read only: nothing to estimate from.
    add_accounts(&app, &s, 1, &[0]).await;
    let run = november(&app, &s).await;
    let key = s.admin_key.expose();
    let preview = app
        .get(
            &format!("/api/v1/bill-runs/{run}/preview?estimate_missing=true"),
            key,
        )
        .await
        .json();
    assert_eq!(preview["bills"].as_array().unwrap().len(), 1, "{preview}");
    assert_eq!(preview["exceptions"][0]["kind"], "missing_read");
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/bill-runs/{run}/finalize"),
            Some(key),
            Some(json!({"estimate_missing": true})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.json()["billed"], 1);
    // Seeded meter: 5,500 gallons in the 30 days to 2026-10-28, so 6,050
    // in the 33 days to 2026-11-30.
    let reads = app
        .get(&format!("/api/v1/meters/{}/reads", s.meter), key)
        .await
        .json();
    let last = reads.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["read_on"], "2026-11-30");
    assert_eq!(last["value"], 131_550);
    assert_eq!(last["estimated"], true);
    assert_eq!(last["source"], "estimate");
    let bills = all_bills(&app, &s).await;
    let nov = bills.last().unwrap();
    assert!(nov.estimated);
    assert_eq!(nov.usage_units, 6_050);
    let doc = app
        .get(&format!("/api/v1/bills/{}/document", nov.id), key)
        .await
        .text;
    assert!(doc.contains("<strong>estimated</strong> read"), "{doc}");
    assert!(doc.contains("131550 on 2026-11-30 (estimated)"), "{doc}");
});
