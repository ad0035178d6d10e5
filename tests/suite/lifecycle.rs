//! Move-out with a final bill and deposit, the next occupant billed from
//! the final read, transfer, meter change-out continuity (rollover and
//! multiplier on the old meter), estimated reads marked and trued up.

use crate::bill_runs::{all_bills, november};
use crate::db_test;
use crate::support::TestApp;
use crate::support::seed::{self, Seeded};
use aqueduct_billing::bill_runs::{self, FinalizeOptions, NewRun};
use aqueduct_billing::locations::{self, NewLocation};
use aqueduct_billing::meters::{self, NewMeter};
use aqueduct_billing::reads::{self, NewRead, ReadSource};
use aqueduct_billing::{aging, ledger};
use aqueduct_core::{BillRunId, LocationId, MeterId};
use http::Method;
use serde_json::{Value, json};

async fn post(app: &TestApp, s: &Seeded, path: &str, body: Value) -> (u16, Value) {
    let res = app
        .request(Method::POST, path, Some(s.admin_key.expose()), Some(body))
        .await;
    let code = res.status.as_u16();
    let v = if res.text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&res.text).unwrap_or(Value::String(res.text.clone()))
    };
    (code, v)
}

async fn read(app: &TestApp, s: &Seeded, meter: MeterId, on: &str, value: i64) {
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let m = meters::get(&tx, meter).await.unwrap();
    reads::record(
        &tx,
        app.clock.as_ref(),
        &m,
        NewRead {
            read_on: on.parse().unwrap(),
            value,
            estimated: false,
            source: ReadSource::Manual,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn trial_balance_is_zero(app: &TestApp, s: &Seeded) {
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let entries = ledger::all(&tx).await.unwrap();
    let tb = aging::trial_balance(&entries);
    assert_eq!(tb.values().sum::<i64>(), 0, "{tb:?}");
    assert_eq!(tb["transfers"], 0, "{tb:?}");
    tx.commit().await.unwrap();
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

async fn run(app: &TestApp, s: &Seeded, start: &str, end: &str, estimate: bool) -> BillRunId {
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let run = bill_runs::create(
        &tx,
        app.clock.as_ref(),
        NewRun {
            schedule: s.schedule,
            period_start: start.parse().unwrap(),
            period_end: end.parse().unwrap(),
            due_on: end.parse::<chrono::NaiveDate>().unwrap() + chrono::Days::new(20),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let id = BillRunId::from_uuid(run.id);
    bill_runs::finalize(
        &app.pool,
        &s.tenant,
        app.clock.as_ref(),
        id,
        &FinalizeOptions {
            estimate_missing: estimate,
            ..FinalizeOptions::default()
        },
    )
    .await
    .unwrap();
    id
}

db_test!(
    move_out_bills_to_the_cent_applies_the_deposit_and_the_next_occupant_starts_at_the_final_read,
    |db| {
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let acct = s.account.to_string();
        // A $150 deposit, posted once whatever the retries.
        for _ in 0..2 {
            let res = app
                .send(
                    http::Request::builder()
                        .method(Method::POST)
                        .uri(format!("/api/v1/accounts/{acct}/deposits"))
                        .header("authorization", format!("Bearer {}", s.admin_key.expose()))
                        .header("content-type", "application/json")
                        .header("idempotency-key", "dep-1")
                        .body(axum::body::Body::from(
                            json!({"amount_cents": 15_000, "received_on": "2026-10-01"})
                                .to_string(),
                        ))
                        .unwrap(),
                )
                .await;
            assert!(res.status == 201 || res.status == 200, "{}", res.text);
        }
        let dep = app
            .get(
                &format!("/api/v1/accounts/{acct}/deposits"),
                s.viewer_key.expose(),
            )
            .await
            .json();
        assert_eq!(dep["held_cents"], 15_000, "{dep}");
        let owed_before = balance(&app, &s, &acct).await;

        // Final read on 2026-11-15: 128,500 − 125,500 (October's billed
        // read) = 3,000 gallons on a 5/8" meter. Residential 2026
        // (tests/suite/support/seed.rs): $24.50 base with 2,000 gallons
        // included, then $4.10 per 1,000 → $24.50 + 1 × $4.10 = $28.60.
        let body = json!({"read_on": "2026-11-15", "value": 128_500});
        let (code, closed) = post(
            &app,
            &s,
            &format!("/api/v1/accounts/{acct}/move-out"),
            body.clone(),
        )
        .await;
        assert_eq!(code, 201, "{closed}");
        let fb = &closed["final_bill"];
        assert_eq!(fb["usage_units"], 3_000, "{closed}");
        assert_eq!(fb["total_cents"], 2_860, "{closed}");
        assert_eq!(fb["read_from"], "2026-10-28");
        assert_eq!(fb["read_to"], "2026-11-15");
        assert_eq!(fb["previous_value"], 125_500);
        // The deposit pays the whole balance; the rest is refunded.
        let owed = owed_before + 2_860;
        assert_eq!(closed["deposit_applied_cents"], owed.min(15_000));
        assert_eq!(closed["deposit_refunded_cents"], 15_000 - owed.min(15_000));
        // The refunded rest is a credit owed to the customer until it is
        // paid out (tests/suite/deposit_refunds.rs): the whole deposit
        // went to the balance.
        assert_eq!(balance(&app, &s, &acct).await, owed - 15_000);
        let dep = app
            .get(
                &format!("/api/v1/accounts/{acct}/deposits"),
                s.viewer_key.expose(),
            )
            .await
            .json();
        assert_eq!(dep["held_cents"], 0, "{dep}");
        let kinds: Vec<&str> = dep["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["deposit", "deposit_applied", "deposit_refund"]);

        // Closed, retention clock started, occupancy ended.
        let a = app
            .get(&format!("/api/v1/accounts/{acct}"), s.viewer_key.expose())
            .await
            .json();
        assert_eq!(a["status"], "closed");
        assert!(a["closed_at"].is_string(), "{a}");

        // Twice: one final bill.
        let bills_before = all_bills(&app, &s).await.len();
        let (code, again) =
            post(&app, &s, &format!("/api/v1/accounts/{acct}/move-out"), body).await;
        assert_eq!(code, 200, "{again}");
        assert_eq!(again["final_bill"]["id"], fb["id"]);
        assert_eq!(all_bills(&app, &s).await.len(), bills_before);
        let (code, _) = post(
            &app,
            &s,
            &format!("/api/v1/accounts/{acct}/move-out"),
            json!({"read_on": "2026-11-16", "value": 128_600}),
        )
        .await;
        assert_eq!(code, 409);

        // The next occupant moves in the same day and starts from the
        // final read.
        let loc = s.location.to_string();
        let (code, moved) = post(
            &app,
            &s,
            &format!("/api/v1/locations/{loc}/move-in"),
            json!({"account": {"account_number": "100-2", "holder_name": "Next Occupant",
                               "opened_on": "2026-11-15"},
                   "moved_in_on": "2026-11-15"}),
        )
        .await;
        assert_eq!(code, 201, "{moved}");
        let next = moved["account"]["id"].as_str().unwrap().to_owned();
        // A second move-in while occupied is refused.
        let (code, _) = post(
            &app,
            &s,
            &format!("/api/v1/locations/{loc}/move-in"),
            json!({"account": {"account_number": "100-3", "holder_name": "Squatter",
                               "opened_on": "2026-11-20"},
                   "moved_in_on": "2026-11-20"}),
        )
        .await;
        assert_eq!(code, 409);
        let history = app
            .get(
                &format!("/api/v1/locations/{loc}/occupancies"),
                s.viewer_key.expose(),
            )
            .await
            .json();
        let spans: Vec<(String, String)> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["account_number"].as_str().unwrap().to_owned(),
                    o["ends_on"].as_str().unwrap_or("-").to_owned(),
                )
            })
            .collect();
        assert_eq!(
            spans,
            [
                ("100-1".to_owned(), "2026-11-15".to_owned()),
                ("100-2".to_owned(), "-".to_owned())
            ]
        );

        read(&app, &s, s.meter, "2026-11-27", 130_000).await;
        let run = november(&app, &s).await;
        let report = bill_runs::finalize(
            &app.pool,
            &s.tenant,
            app.clock.as_ref(),
            run,
            &FinalizeOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(report.billed, 1, "{report:?}");
        let bills = all_bills(&app, &s).await;
        let nov: Vec<_> = bills
            .iter()
            .filter(|b| b.bill_run_id == run.uuid())
            .collect();
        assert_eq!(nov.len(), 1);
        assert_eq!(nov[0].account_id.to_string(), next);
        assert_eq!(nov[0].previous_value, 128_500);
        assert_eq!(nov[0].usage_units, 1_500);
        // 1,500 gallons are inside the allowance: the base charge only.
        assert_eq!(nov[0].total_cents, 2_450);
        trial_balance_is_zero(&app, &s).await;

        // The deposit register shows it.
        let csv = app
            .get("/api/v1/reports/deposits.csv", s.viewer_key.expose())
            .await;
        assert_eq!(csv.status, 200);
        assert!(csv.text.contains("100-1"), "{}", csv.text);
        assert!(csv.text.contains("150.00"), "{}", csv.text);
    }
);

db_test!(
    transfer_closes_with_a_final_bill_and_carries_balance_and_deposit,
    |db| {
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let acct = s.account.to_string();
        let (code, _) = post(
            &app,
            &s,
            &format!("/api/v1/accounts/{acct}/deposits"),
            json!({"amount_cents": 5_000}),
        )
        .await;
        assert_eq!(code, 201);
        let (new_loc, new_meter) = {
            let tx = app.pool.tenant(&s.tenant).await.unwrap();
            let loc = locations::create(
                &tx,
                app.clock.as_ref(),
                NewLocation {
                    address_line1: "9 Hill Rd".into(),
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
            let m = meters::create(
                &tx,
                NewMeter {
                    location: LocationId::from_uuid(loc.id),
                    serial: "HILL-1".into(),
                    size: "5/8\"".into(),
                    unit: "gallons".into(),
                    register_digits: 6,
                    multiplier: 1,
                    installed_on: "2020-01-01".parse().unwrap(),
                },
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            (loc.id, MeterId::from_uuid(m.id))
        };
        let owed_before = balance(&app, &s, &acct).await;
        let body = json!({
            "move_out": {"read_on": "2026-11-15", "value": 128_500},
            "to_location_id": new_loc.to_string(),
            "new_account_number": "100-1B",
            "moved_in_on": "2026-11-16",
            "read_value": 7_000
        });
        let (code, done) = post(
            &app,
            &s,
            &format!("/api/v1/accounts/{acct}/transfer"),
            body.clone(),
        )
        .await;
        assert_eq!(code, 201, "{done}");
        assert_eq!(done["closure"]["final_bill"]["total_cents"], 2_860);
        let new_id = done["account"]["id"].as_str().unwrap().to_owned();
        assert_eq!(done["closure"]["transferred_to"], new_id.as_str());
        // Old account: nothing left; new account: the balance and deposit.
        assert_eq!(balance(&app, &s, &acct).await, 0);
        assert_eq!(balance(&app, &s, &new_id).await, owed_before + 2_860);
        let dep = app
            .get(
                &format!("/api/v1/accounts/{new_id}/deposits"),
                s.viewer_key.expose(),
            )
            .await
            .json();
        assert_eq!(dep["held_cents"], 5_000, "{dep}");
        // Idempotent.
        let (code, again) =
            post(&app, &s, &format!("/api/v1/accounts/{acct}/transfer"), body).await;
        assert_eq!(code, 200, "{again}");
        assert_eq!(again["account"]["id"], new_id.as_str());
        trial_balance_is_zero(&app, &s).await;
        // The new account's first bill starts from its move-in read.
        read(&app, &s, new_meter, "2026-11-27", 10_000).await;
        let run = november(&app, &s).await;
        bill_runs::finalize(
            &app.pool,
            &s.tenant,
            app.clock.as_ref(),
            run,
            &FinalizeOptions::default(),
        )
        .await
        .unwrap();
        let nov: Vec<_> = all_bills(&app, &s)
            .await
            .into_iter()
            .filter(|b| b.bill_run_id == run.uuid())
            .collect();
        assert_eq!(nov.len(), 1);
        assert_eq!(nov[0].account_id.to_string(), new_id);
        assert_eq!(nov[0].usage_units, 3_000);
    }
);

db_test!(
    a_change_out_keeps_consumption_continuous_across_rollover_and_multiplier,
    |db| {
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let old = s.meter.to_string();
        // Old meter: billed through 125,500 (October). Change-out on
        // 2026-11-10 with the old register at 127,000 (1,500 gallons);
        // the new meter is a 4-digit register read ×10 starting at 9,900.
        let (code, ch) = post(
            &app,
            &s,
            &format!("/api/v1/meters/{old}/change-out"),
            json!({"changed_on": "2026-11-10", "old_final_value": 127_000,
                   "new_serial": "NEW-1", "new_initial_value": 9_900,
                   "register_digits": 4, "multiplier": 10}),
        )
        .await;
        assert_eq!(code, 201, "{ch}");
        let new_id = ch["new_meter"]["id"].as_str().unwrap().to_owned();
        assert_eq!(ch["new_meter"]["multiplier"], 10);
        let m = app
            .get(&format!("/api/v1/meters/{old}"), s.viewer_key.expose())
            .await
            .json();
        assert_eq!(m["status"], "removed");
        assert_eq!(m["removed_on"], "2026-11-10");
        // The same change again: nothing new.
        let (code, _) = post(
            &app,
            &s,
            &format!("/api/v1/meters/{old}/change-out"),
            json!({"changed_on": "2026-11-10", "old_final_value": 127_000,
                   "new_serial": "NEW-1", "new_initial_value": 9_900,
                   "register_digits": 4, "multiplier": 10}),
        )
        .await;
        assert_eq!(code, 200);
        // The new register rolls over: 9,900 → 0,250 is 350 × 10 = 3,500.
        read(
            &app,
            &s,
            MeterId::from_uuid(new_id.parse().unwrap()),
            "2026-11-27",
            250,
        )
        .await;
        let run = november(&app, &s).await;
        bill_runs::finalize(
            &app.pool,
            &s.tenant,
            app.clock.as_ref(),
            run,
            &FinalizeOptions::default(),
        )
        .await
        .unwrap();
        let nov: Vec<_> = all_bills(&app, &s)
            .await
            .into_iter()
            .filter(|b| b.bill_run_id == run.uuid())
            .collect();
        assert_eq!(nov.len(), 1);
        let b = &nov[0];
        // (127,000 − 125,500) + (0,250 − 9,900 rolled over) × 10
        // = 1,500 + 3,500 = 5,000 gallons from the October read.
        assert_eq!(b.usage_units, 5_000);
        assert_eq!(b.read_from.to_string(), "2026-10-28");
        assert_eq!(b.meter_id.to_string(), new_id);
        // $24.50 + 3 × $4.10 = $36.80.
        assert_eq!(b.total_cents, 3_680);
        // The bill document tells the customer about the change.
        let doc = app
            .get(
                &format!("/api/v1/bills/{}/document", b.id),
                s.viewer_key.expose(),
            )
            .await;
        assert_eq!(doc.status, 200);
        assert!(
            doc.text.contains("NEW-1") || doc.text.contains("meter was replaced"),
            "{}",
            doc.text
        );
    }
);

db_test!(
    an_estimated_read_is_marked_on_the_bill_and_the_next_actual_read_trues_it_up,
    |db| {
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        // The rule is an association setting.
        let res = app
            .request(
                Method::PUT,
                "/api/v1/estimate-settings",
                Some(s.admin_key.expose()),
                Some(json!({"method": "average", "periods": 1})),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        let bad = app
            .request(
                Method::PUT,
                "/api/v1/estimate-settings",
                Some(s.admin_key.expose()),
                Some(json!({"method": "guess"})),
            )
            .await;
        assert_eq!(bad.status, 422, "{}", bad.text);
        // Seeded reads: 2026-09-28 120,000 and 2026-10-28 125,500: 5,500
        // gallons in 30 days. No November read: estimated on 2026-11-30
        // (33 days): 125,500 + 5,500 × 33 / 30 = 131,550.
        let run = run(&app, &s, "2026-11-01", "2026-11-30", true).await;
        let nov: Vec<_> = all_bills(&app, &s)
            .await
            .into_iter()
            .filter(|b| b.bill_run_id == run.uuid())
            .collect();
        assert_eq!(nov.len(), 1);
        assert!(nov[0].estimated);
        assert_eq!(nov[0].current_value, 131_550);
        assert_eq!(nov[0].usage_units, 6_050);
        let doc = app
            .get(
                &format!("/api/v1/bills/{}/document", nov[0].id),
                s.viewer_key.expose(),
            )
            .await;
        assert!(doc.text.contains("estimated"), "{}", doc.text);
        let csv = app
            .get(
                "/api/v1/reports/estimated-reads.csv?from=2026-11-01&to=2026-12-31",
                s.viewer_key.expose(),
            )
            .await;
        assert_eq!(csv.status, 200, "{}", csv.text);
        assert!(csv.text.contains("2026-11-30,131550,false"), "{}", csv.text);
        // December's actual read trues it up: use is measured from the
        // estimate, so the two bills add up to the actual use.
        read(&app, &s, s.meter, "2026-12-28", 133_000).await;
        let dec = run_december(&app, &s).await;
        let dec: Vec<_> = all_bills(&app, &s)
            .await
            .into_iter()
            .filter(|b| b.bill_run_id == dec.uuid())
            .collect();
        assert_eq!(dec.len(), 1);
        assert!(!dec[0].estimated);
        assert_eq!(dec[0].previous_value, 131_550);
        assert_eq!(dec[0].usage_units, 1_450);
        assert_eq!(nov[0].usage_units + dec[0].usage_units, 133_000 - 125_500);
        let csv = app
            .get(
                "/api/v1/reports/estimated-reads.csv?from=2026-11-01&to=2026-12-31",
                s.viewer_key.expose(),
            )
            .await;
        assert!(csv.text.contains("2026-11-30,131550,true"), "{}", csv.text);
    }
);

async fn run_december(app: &TestApp, s: &Seeded) -> BillRunId {
    run(app, s, "2026-12-01", "2026-12-31", false).await
}

db_test!(
    the_account_page_moves_out_and_takes_deposits_without_javascript,
    |db| {
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let page = format!("/app/accounts/{}", s.account);
        let html = app.get(&page, s.admin_key.expose()).await;
        assert_eq!(html.status, 200, "{}", html.text);
        assert!(
            html.text.contains(&format!("action=\"{page}/move-out\"")),
            "{}",
            html.text
        );
        assert!(html.text.contains(&format!("action=\"{page}/deposits\"")));
        let form = |path: String, body: &str| {
            http::Request::builder()
                .method(Method::POST)
                .uri(path)
                .header("authorization", format!("Bearer {}", s.admin_key.expose()))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(body.to_owned()))
                .unwrap()
        };
        let attempt = "0123456789abcdef0123456789abcdef";
        for _ in 0..2 {
            let res = app
                .send(form(
                    format!("{page}/deposits"),
                    &format!("amount=75.00&attempt={attempt}"),
                ))
                .await;
            assert_eq!(res.status, 303, "{}", res.text);
        }
        let dep = app
            .get(
                &format!("/api/v1/accounts/{}/deposits", s.account),
                s.viewer_key.expose(),
            )
            .await
            .json();
        assert_eq!(
            dep["held_cents"], 7_500,
            "a double submit posted twice: {dep}"
        );
        // A bad read is answered on the page, nothing changes.
        let res = app
            .send(form(
                format!("{page}/move-out"),
                "read_on=2026-11-15&value=abc",
            ))
            .await;
        assert_eq!(res.status, 200);
        assert!(res.text.contains("role=\"alert\""), "{}", res.text);
        let res = app
            .send(form(
                format!("{page}/move-out"),
                "read_on=2026-11-15&value=128500",
            ))
            .await;
        assert_eq!(res.status, 303, "{}", res.text);
        let html = app.get(&page, s.admin_key.expose()).await;
        assert!(html.text.contains("Closed on 2026-11-15"), "{}", html.text);
        assert!(!html.text.contains("/move-out\""));
    }
);

db_test!(
    a_cycle_over_the_same_period_as_a_final_bill_adopts_its_run,
    |db| {
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        crate::bill_runs::add_accounts(&app, &s, 3, &[]).await;
        // The final read falls on the day the others are read: the final
        // bill's run is (2026-10-28, 2026-11-27), the cycle's period.
        let (code, closed) = post(
            &app,
            &s,
            &format!("/api/v1/accounts/{}/move-out", s.account),
            json!({"read_on": "2026-11-27", "value": 128_000}),
        )
        .await;
        assert_eq!(code, 201, "{closed}");
        let final_run = closed["final_bill"]["bill_run_id"].clone();
        // Staff then bill the cycle: adopted, not refused.
        let id = run(&app, &s, "2026-10-28", "2026-11-27", false).await;
        assert_eq!(
            json!(id.to_string()),
            final_run,
            "the final bill's run is the cycle's"
        );
        let bills: Vec<_> = all_bills(&app, &s)
            .await
            .into_iter()
            .filter(|b| b.bill_run_id == id.uuid())
            .collect();
        assert_eq!(bills.len(), 4, "the final bill and the three others");
        assert_eq!(
            bills
                .iter()
                .filter(|b| b.account_id == s.account.uuid())
                .count(),
            1,
            "the moved-out account is not billed twice"
        );
        let tx = app.pool.tenant(&s.tenant).await.unwrap();
        let r = bill_runs::get(&tx, id).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!((r.kind.as_str(), r.status.as_str()), ("cycle", "finalized"));
        trial_balance_is_zero(&app, &s).await;
    }
);
