//! Estimate true-up end to end: an estimated bill, then an actual read
//! below the estimate — in the next bill run and in a move-out's final
//! bill. The correction is a bill line in the API, a notice on the bill
//! document, and part of the charge posted to the ledger.

use crate::db_test;
use crate::support::TestApp;
use crate::support::seed::{self, Seeded};
use aqueduct_billing::bill_runs::{self, NewRun};
use aqueduct_billing::meters;
use aqueduct_billing::reads::{self, NewRead, ReadSource};
use aqueduct_core::BillRunId;
use http::Method;
use serde_json::{Value, json};

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
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/bill-runs/{id}/finalize"),
            Some(s.admin_key.expose()),
            Some(json!({ "estimate_missing": estimate })),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.json()["billed"], 1, "{}", res.text);
    id
}

/// Records an actual read; returns its flags.
async fn actual_read(app: &TestApp, s: &Seeded, on: &str, value: i64) -> Vec<&'static str> {
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let m = meters::get(&tx, s.meter).await.unwrap();
    let recorded = reads::record(
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
    match recorded {
        reads::Recorded::Created { flags, .. } => flags,
        other => panic!("read not stored: {other:?}"),
    }
}

/// The account's bills through the API, oldest first.
async fn bills(app: &TestApp, s: &Seeded) -> Vec<Value> {
    let list = app
        .get(
            &format!("/api/v1/accounts/{}/bills", s.account),
            s.viewer_key.expose(),
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    let mut out = Vec::new();
    for b in list.json().as_array().unwrap() {
        let one = app
            .get(
                &format!("/api/v1/bills/{}", b["id"].as_str().unwrap()),
                s.viewer_key.expose(),
            )
            .await;
        assert_eq!(one.status, 200, "{}", one.text);
        out.push(one.json());
    }
    out.sort_by_key(|b| b["number"].as_i64().unwrap());
    out
}

/// The seeded tariff (tests/suite/support/seed.rs): $24.50 base on a 5/8"
/// meter, 2,000 gallons included, then $4.10 per 1,000 (to 8,000).
///
/// October (seeded): actual 125,500 on 2026-10-28. November has no read:
/// estimated from 5,500 gallons in 30 days → 6,050 in the 33 days to
/// 2026-11-30 = 131,550; billed $24.50 + 4.05 × $4.10 ($16.605 → $16.61)
/// = $41.11.
async fn estimated_november(app: &TestApp, s: &Seeded) {
    run(app, s, "2026-11-01", "2026-11-30", true).await;
    let nov = bills(app, s).await.pop().unwrap();
    assert_eq!(nov["estimated"], true);
    assert_eq!(nov["usage_units"], 6_050);
    assert_eq!(nov["total_cents"], 4_111, "{nov}");
}

/// The December bill after November's estimate: an actual read of
/// 129,500 is 4,000 gallons since October's actual read, 2,050 fewer than
/// the 6,050 billed. November truly used 4,000 → 2,000 billable → $8.20
/// of water instead of $16.61: $8.41 credited. December prices no water
/// (0 gallons): $24.50 − $8.41 = $16.09.
fn assert_corrected(b: &Value) {
    assert_eq!(b["usage_units"], -2_050, "{b}");
    assert_eq!(b["previous_value"], 131_550);
    assert_eq!(b["current_value"], 129_500);
    assert_eq!(b["estimated"], false);
    assert_eq!(b["total_cents"], 1_609, "{b}");
    let lines = b["lines"].as_array().unwrap();
    let fix = lines
        .iter()
        .find(|l| l["kind"] == "estimate_correction")
        .unwrap_or_else(|| panic!("no correction line: {b}"));
    assert_eq!(
        fix["description"],
        "Correction of estimated use: 6,050 gallons billed on estimates, 4,000 used"
    );
    assert_eq!(fix["amount"]["cents"], -841, "{fix}");
    assert_eq!(fix["quantity"], "-2050");
    let base: i64 = lines
        .iter()
        .filter(|l| l["kind"] == "base")
        .map(|l| l["amount"]["cents"].as_i64().unwrap())
        .sum();
    assert_eq!(base, 2_450, "the base charge is not credited");
    let sum: i64 = lines
        .iter()
        .map(|l| l["amount"]["cents"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, 1_609);
}

db_test!(
    an_actual_read_below_the_estimate_is_credited_on_the_next_bill,
    |db| {
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        estimated_november(&app, &s).await;
        // Flagged as below the estimate, not as a meter going backwards.
        assert_eq!(
            actual_read(&app, &s, "2026-12-28", 129_500).await,
            ["below_estimate"]
        );
        // The preview no longer stops at negative_use.
        let dec = {
            let tx = app.pool.tenant(&s.tenant).await.unwrap();
            let r = bill_runs::create(
                &tx,
                app.clock.as_ref(),
                NewRun {
                    schedule: s.schedule,
                    period_start: "2026-12-01".parse().unwrap(),
                    period_end: "2026-12-31".parse().unwrap(),
                    due_on: "2027-01-20".parse().unwrap(),
                },
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            BillRunId::from_uuid(r.id)
        };
        let key = s.admin_key.expose();
        let preview = app
            .get(&format!("/api/v1/bill-runs/{dec}/preview"), key)
            .await
            .json();
        assert_eq!(preview["exceptions"], json!([]), "{preview}");
        assert_eq!(preview["bills"][0]["usage_units"], -2_050, "{preview}");
        assert_eq!(preview["bills"][0]["total_cents"], 1_609, "{preview}");
        let res = app
            .request(
                Method::POST,
                &format!("/api/v1/bill-runs/{dec}/finalize"),
                Some(key),
                Some(json!({})),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert_eq!(res.json()["billed"], 1);

        let all = bills(&app, &s).await;
        let december = all.last().unwrap();
        assert_corrected(december);
        // Units billed since October's actual read add up to the use.
        let since: i64 = all[all.len() - 2..]
            .iter()
            .map(|b| b["usage_units"].as_i64().unwrap())
            .sum();
        assert_eq!(since, 129_500 - 125_500);

        // The ledger charge is the corrected total.
        let ledger = app
            .get(&format!("/api/v1/accounts/{}/ledger", s.account), key)
            .await
            .json();
        let id = december["id"].as_str().unwrap();
        let charge = ledger["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["bill_id"] == id)
            .unwrap_or_else(|| panic!("no charge for the bill: {ledger}"));
        assert_eq!(charge["kind"], "charge");
        assert_eq!(charge["amount_cents"], 1_609);

        // The bill document explains it.
        let doc = app
            .get(&format!("/api/v1/bills/{id}/document"), key)
            .await
            .text;
        assert!(doc.contains("id=\"estimate-correction\""), "{doc}");
        assert!(
            doc.contains("6,050 gallons billed on estimates, 4,000 used"),
            "{doc}"
        );
        assert!(doc.contains(">−$8.41<"), "{doc}");
        // And the PDF renders (its text is checked in the documents crate).
        let pdf = app.get(&format!("/api/v1/bills/{id}/pdf"), key).await;
        assert_eq!(pdf.status, 200);
    }
);

db_test!(
    a_final_read_below_the_estimate_is_credited_on_the_final_bill,
    |db| {
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        estimated_november(&app, &s).await;
        // Moving out on 2026-12-28 with the same actual read: the same
        // correction on the final bill (same arithmetic as above).
        let res = app
            .request(
                Method::POST,
                &format!("/api/v1/accounts/{}/move-out", s.account),
                Some(s.admin_key.expose()),
                Some(json!({"read_on": "2026-12-28", "value": 129_500})),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
        let closed = res.json();
        let id = closed["final_bill"]["id"].as_str().unwrap();
        let b = app
            .get(&format!("/api/v1/bills/{id}"), s.viewer_key.expose())
            .await
            .json();
        assert_corrected(&b);
    }
);

db_test!(a_final_read_below_the_last_actual_read_is_refused, |db| {
    let app = TestApp::new(db).await;
    let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    estimated_november(&app, &s).await;
    // Below October's actual 125,500: not an over-estimate, a backwards
    // meter — refused, nothing closed.
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/accounts/{}/move-out", s.account),
            Some(s.admin_key.expose()),
            Some(json!({"read_on": "2026-12-28", "value": 125_000})),
        )
        .await;
    assert_eq!(res.status, 422, "{}", res.text);
    assert!(
        res.text.contains("below its last actual read"),
        "{}",
        res.text
    );
});

db_test!(
    reads_below_an_estimate_are_flagged_as_such_not_as_backwards,
    |db| {
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let key = s.admin_key.expose();
        let serial = "TU-1";
        seed::extra_meter(&app.pool, &s, serial).await;
        let res = app
        .request(
            Method::POST,
            "/api/v1/reads",
            Some(key),
            Some(json!({"reads": [
                {"meter_serial": serial, "read_on": "2026-01-01", "value": 10_000},
                {"meter_serial": serial, "read_on": "2026-02-01", "value": 16_000, "estimated": true}
            ]})),
        )
        .await;
        assert_eq!(res.json()["created"], 2, "{}", res.text);
        // Line 2: 14,000 is under February's estimate but over January's
        // actual read. Line 3: 9,000 is under the actual read of line 2.
        let csv = format!(
            "meter_serial,read_on,value\n{serial},2026-03-01,14000\n{serial},2026-04-01,9000\n"
        );
        let res = app
            .send(
                http::Request::builder()
                    .method(Method::POST)
                    .uri("/api/v1/imports/reads?mapping=aqueduct")
                    .header("authorization", format!("Bearer {key}"))
                    .header("content-type", "text/csv")
                    .body(axum::body::Body::from(csv))
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        let r = res.json();
        let kinds: Vec<(u64, &str)> = r["exceptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["line"].as_u64().unwrap(), e["kind"].as_str().unwrap()))
            .collect();
        assert_eq!(kinds, [(2, "below_estimate"), (3, "negative_use")], "{r}");
    }
);
