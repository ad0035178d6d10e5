//! CSV import of reads: the Badger BEACON preset, row-by-row validation
//! with line numbers, idempotent re-import, exceptions, saved mappings.

use crate::db_test;
use crate::support::TestApp;
use crate::support::app::TestResponse;
use crate::support::seed;
use axum::body::Body;
use http::{Method, Request};
use serde_json::{Value, json};

async fn import(app: &TestApp, key: &str, query: &str, csv: &str) -> TestResponse {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/imports/reads{query}"))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "text/csv")
        .body(Body::from(csv.to_owned()))
        .unwrap();
    app.send(req).await
}

fn lines_of(report: &Value, field: &str) -> Vec<u64> {
    report[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect()
}

db_test!(
    badger_export_is_validated_row_by_row_and_reimport_adds_nothing,
    |db| {
        let app = TestApp::new(db).await;
        let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
        // An account number that exists only at bravo.
        let res = app
        .request(
            Method::POST,
            "/api/v1/accounts",
            Some(b.admin_key.expose()),
            Some(json!({"account_number": "200-7", "holder_name": "B only", "opened_on": "2020-01-01"})),
        )
        .await;
        assert_eq!(res.status, 201, "{}", res.text);
        let key = a.admin_key.expose();
        let serial = "IMP-1".to_owned();
        let meter = seed::extra_meter(&app.pool, &a, &serial).await;
        let theirs = format!("SN-{}", b.marker);
        let history = json!({"reads": [
            {"meter_serial": serial, "read_on": "2026-01-01", "value": 10_000},
            {"meter_serial": serial, "read_on": "2026-02-01", "value": 13_000},
            {"meter_serial": serial, "read_on": "2026-03-01", "value": 16_000}
        ]});
        let res = app
            .request(Method::POST, "/api/v1/reads", Some(key), Some(history))
            .await;
        assert_eq!(res.json()["created"], 3, "{}", res.text);

        let h = "Account_ID,Location_ID,Service_Point_ID,Meter_ID,Register_Number,Endpoint_SN,Read_Method,Read,Read_Unit,Billing_Read,Read_Time";
        let csv = format!(
            "{h}\n\
         100-1,L1,SP1,{serial},1,E1,Network,19000,GAL,19000,2026-04-01 06:00:00\n\
         100-1,L1,SP1,{serial},1,E1,Network,19500,GAL,19500,04/31/2026\n\
         100-1,L1,SP1,{serial},1,E1,Network,12a,GAL,,2026-05-01 06:00:00\n\
         100-1,L1,SP1,NOPE-1,1,E1,Network,100,GAL,100,2026-05-01 06:00:00\n\
         100-1,L1,SP1,{serial},1,E1,Network,19000,GAL,19000,2026-04-01 06:00:00\n\
         100-1,L1,SP1,{theirs},1,E1,Network,100,GAL,100,2026-05-01 06:00:00\n\
         200-7,L1,SP1,{serial},1,E1,Network,100,GAL,100,2026-05-02 06:00:00\n\
         100-1,L1,SP1,{serial},1,E1,Network,7000,CUBIC_FEET,7000,2026-05-01T06:00:00Z\n\
         100-1,L1,SP1,{serial},1,E1,Estimated,52363,GAL,52363,2026-06-01 06:00:00\n\
         100-1,L1,SP1,{serial},1,E1,Network,14000,GAL,14000,2026-02-15 06:00:00\n"
        );
        let res = import(&app, key, "?mapping=badger_beacon", &csv).await;
        assert_eq!(res.status, 200, "{}", res.text);
        let r = res.json();
        assert_eq!(r["rows"], 10, "{r}");
        assert_eq!(r["imported"], 4, "{r}");
        assert_eq!(lines_of(&r, "errors"), vec![3, 4, 5, 6, 7, 8], "{r}");
        let reasons: Vec<&str> = r["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["reason"].as_str().unwrap())
            .collect();
        assert!(reasons[0].starts_with("bad date"), "{reasons:?}");
        assert!(reasons[1].contains("not a number"), "{reasons:?}");
        assert!(reasons[2].starts_with("unknown meter"), "{reasons:?}");
        assert_eq!(reasons[3], "duplicate of line 2");
        assert!(reasons[4].starts_with("unknown meter"), "{reasons:?}");
        assert!(reasons[5].starts_with("unknown account"), "{reasons:?}");
        assert!(!res.text.contains(&b.marker), "bravo's meter echoed back");
        let kinds: Vec<(u64, &str)> = r["exceptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["line"].as_u64().unwrap(), e["kind"].as_str().unwrap()))
            .collect();
        assert_eq!(
            kinds,
            vec![(9, "high_use"), (10, "zero_use"), (11, "out_of_order")],
            "{r}"
        );

        // The stored reads: cubic feet converted to the meter's gallons.
        let list = app
            .get(&format!("/api/v1/meters/{meter}/reads"), key)
            .await
            .json();
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 7);
        let may = list.iter().find(|r| r["read_on"] == "2026-05-01").unwrap();
        // 7,000 ft³ = 52,363.6 gal: whole gallons, as the register shows.
        assert_eq!(may["value"], 52_363);
        assert_eq!(may["source"], "csv");
        let june = list.iter().find(|r| r["read_on"] == "2026-06-01").unwrap();
        assert_eq!(june["estimated"], true);

        // Again: nothing new, the same rows rejected.
        let again = import(&app, key, "?mapping=badger_beacon", &csv)
            .await
            .json();
        assert_eq!(again["imported"], 0);
        assert_eq!(again["unchanged"], 4);
        assert_eq!(lines_of(&again, "errors"), vec![3, 4, 5, 6, 7, 8]);
        let after = app
            .get(&format!("/api/v1/meters/{meter}/reads"), key)
            .await
            .json();
        assert_eq!(after.as_array().unwrap().len(), 7);
        // Bravo's meter was never touched (it keeps its two seeded reads).
        let theirs = app
            .get(
                &format!("/api/v1/meters/{}/reads", b.meter),
                b.admin_key.expose(),
            )
            .await
            .json();
        assert_eq!(theirs.as_array().unwrap().len(), 2);
    }
);

db_test!(saved_mappings_and_the_default_format, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.admin_key.expose();
    let serial = "IMP-2";
    seed::extra_meter(&app.pool, &a, serial).await;
    let mapping = json!({"name": "handheld", "mapping": {
        "meter": "Serial No", "read_on": "Date", "value": ["Reading"]}});
    let res = app
        .request(
            Method::POST,
            "/api/v1/import-mappings",
            Some(key),
            Some(mapping.clone()),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let dup = app
        .request(
            Method::POST,
            "/api/v1/import-mappings",
            Some(key),
            Some(mapping),
        )
        .await;
    assert_eq!(dup.status, 409);
    let list = app.get("/api/v1/import-mappings", key).await.json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["aqueduct", "badger_beacon", "handheld"]);

    let csv = format!("Serial No,Date,Reading\n{serial},2026-03-01,100\n{serial},2026-04-01,250\n");
    let r = import(&app, key, "?mapping=handheld", &csv).await.json();
    assert_eq!(r["imported"], 2, "{r}");
    let csv = format!("meter_serial,read_on,value\n{serial},2026-05-01,400\n{serial},2026-06-01\n");
    let r = import(&app, key, "", &csv).await.json();
    assert_eq!(r["imported"], 1, "{r}");
    assert_eq!(lines_of(&r, "errors"), vec![3]);
    let missing = import(&app, key, "", "a,b\n1,2\n").await;
    assert_eq!(missing.status, 422);
    let viewer = import(&app, a.viewer_key.expose(), "", &csv).await;
    assert_eq!(viewer.status, 403);
});

/// The same association on any engine: alpha with meters of fixed serials
/// (a 6-digit gallons meter with three months of history, a 4-digit one
/// near its rollover, a cubic-feet one, and one at another account's
/// location), bravo with a meter and an account of its own.
async fn parity_fixture(app: &TestApp) -> (String, Vec<(String, uuid::Uuid)>) {
    use aqueduct_billing::accounts::{self, AccountNumber, NewAccount};
    use aqueduct_billing::locations::{self, NewLocation};
    use aqueduct_billing::meters::{self, NewMeter};
    use aqueduct_core::{AccountId, LocationId};
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    seed::extra_meter(&app.pool, &b, "B-MTR").await;
    let res = app
        .request(
            Method::POST,
            "/api/v1/accounts",
            Some(b.admin_key.expose()),
            Some(json!({"account_number": "200-7", "holder_name": "B only", "opened_on": "2020-01-01"})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let meter = |location, serial: &str, unit: &str, digits| NewMeter {
        location,
        serial: serial.into(),
        size: "5/8\"".into(),
        unit: unit.into(),
        register_digits: digits,
        multiplier: 1,
        installed_on: day("2020-01-01"),
    };
    let mut ids = Vec::new();
    for (serial, unit, digits) in [
        ("M-1", "gallons", 6),
        ("M-ROLL", "gallons", 4),
        ("M-CF", "cubic_feet", 6),
    ] {
        let m = meters::create(&tx, meter(a.location, serial, unit, digits))
            .await
            .unwrap();
        ids.push((serial.to_owned(), m.id));
    }
    // Account 300-3 lives elsewhere, with its own meter M-3.
    let elsewhere = locations::create(
        &tx,
        app.clock.as_ref(),
        NewLocation {
            address_line1: "3 Other St".into(),
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
    let other = accounts::create(
        &tx,
        app.clock.as_ref(),
        NewAccount {
            number: AccountNumber::parse("300-3").unwrap(),
            holder_name: "Other Holder".into(),
            email: None,
            phone: None,
            mailing: None,
            opened_on: day("2020-01-01"),
            paperless: false,
        },
    )
    .await
    .unwrap();
    let elsewhere = LocationId::from_uuid(elsewhere.id);
    locations::move_in(
        &tx,
        AccountId::from_uuid(other.id),
        elsewhere,
        day("2020-01-01"),
    )
    .await
    .unwrap();
    let m3 = meters::create(&tx, meter(elsewhere, "M-3", "gallons", 6))
        .await
        .unwrap();
    ids.push(("M-3".to_owned(), m3.id));
    tx.commit().await.unwrap();
    let key = a.admin_key.expose().to_owned();
    let history = json!({"reads": [
        {"meter_serial": "M-1", "read_on": "2026-01-01", "value": 10_000},
        {"meter_serial": "M-1", "read_on": "2026-02-01", "value": 13_000},
        {"meter_serial": "M-1", "read_on": "2026-03-01", "value": 16_000},
        {"meter_serial": "M-ROLL", "read_on": "2026-01-01", "value": 9_000},
        {"meter_serial": "M-ROLL", "read_on": "2026-02-01", "value": 9_500},
        {"meter_serial": "M-ROLL", "read_on": "2026-03-01", "value": 9_900},
        {"meter_serial": "M-3", "read_on": "2026-03-01", "value": 500}
    ]});
    let res = app
        .request(Method::POST, "/api/v1/reads", Some(&key), Some(history))
        .await;
    assert_eq!(res.json()["created"], 7, "{}", res.text);
    (key, ids)
}

/// A file with every kind of bad row, and good rows that raise every
/// exception. The last two lines: an actual read under an estimated read
/// of the same file but above the last actual one (also from the file), so
/// below the estimate, not backwards.
const PARITY_CSV: &str = "meter_serial,read_on,value,estimated,unit,account_number
M-1,2026-04-01,19000,,,100-1
M-1,04/31/2026,19500,,,
M-1,2026-05-01,12a,,,
NOPE-1,2026-05-01,100,,,
M-1,2026-04-01,19000,,,
B-MTR,2026-05-01,100,,,
M-1,2026-05-02,100,,,200-7
M-1,2026-05-02,100,,,300-3
M-1,2026-06-01,40000,,,
M-1,2026-07-01,40000,true,,
M-1,2026-02-15,14000,,,
M-ROLL,2026-04-01,0050,,,
M-ROLL,2026-05-01,0040,,,
M-CF,2026-04-01,\"7,480.52\",,GAL,
M-1,2026-03-01,16001,,,
M-1,2026-01-01,10000,,,
M-ROLL,2026-06-01,12000,,,
M-1,2026-08-01,-5,,,
M-1,2026-08-01,100,,BARRELS,
M-1,2026-08-01
M-1,2026-08-01 06:00:00,50000,no,,100-1
M-1,2026-09-01T06:00:00Z,51,,kgal,
M-3,2026-04-01,400,,,300-3
M-3,2026-05-01,400,,,bad number!
M-CF,2026-05-01,2000,true,,
M-CF,2026-06-01,1500,,,
";

/// What an engine made of [`PARITY_CSV`]: the report of the first import,
/// the report of the same file again, and every alpha meter's reads.
async fn parity_run(app: &TestApp) -> (Value, Value, Value) {
    let (key, meters) = parity_fixture(app).await;
    let first = import(app, &key, "", PARITY_CSV).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let again = import(app, &key, "", PARITY_CSV).await;
    assert_eq!(again.status, 200, "{}", again.text);
    let mut reads = serde_json::Map::new();
    for (serial, id) in meters {
        let list = app
            .get(&format!("/api/v1/meters/{id}/reads"), &key)
            .await
            .json();
        let list: Vec<Value> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                json!([
                    r["read_on"],
                    r["value"],
                    r["estimated"],
                    r["source"],
                    r["consumption"],
                    r["out_of_order"]
                ])
            })
            .collect();
        reads.insert(serial, Value::Array(list));
    }
    (first.json(), again.json(), Value::Object(reads))
}

fn assert_parity_expectations(first: &Value, again: &Value, reads: &Value) {
    assert_eq!(first["rows"], 26, "{first}");
    assert_eq!(first["imported"], 12, "{first}");
    assert_eq!(first["unchanged"], 1, "{first}");
    let errors: Vec<(u64, &str)> = first["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (3, "bad date \"04/31/2026\""),
            (4, "read \"12a\" is not a number"),
            (5, "unknown meter"),
            (6, "duplicate of line 2"),
            (7, "unknown meter"),
            (8, "unknown account"),
            (9, "meter \"M-1\" is not at account \"300-3\""),
            (
                16,
                "a different read (16000) is stored for this meter and day"
            ),
            (18, "read 12000 does not fit a 4-digit register"),
            (19, "read \"-5\" is negative"),
            (20, "unknown unit \"BARRELS\""),
            (21, "expected 6 columns, found 2"),
            (25, "unknown account"),
        ],
        "{first}"
    );
    let kinds: Vec<(u64, &str)> = first["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (10, "high_use"),
            (11, "zero_use"),
            (12, "out_of_order"),
            (14, "negative_use"),
            (24, "negative_use"),
            (27, "below_estimate"),
        ],
        "{first}"
    );
    assert_eq!(
        first["exceptions"][0]["detail"],
        "21000 is over 3× the average of 2250"
    );
    assert_eq!(
        first["exceptions"][5]["detail"],
        "below the estimated read of 2026-05-01: the next bill credits the difference"
    );
    // Again: nothing new, the same rows refused, every good row unchanged.
    assert_eq!(again["imported"], 0, "{again}");
    assert_eq!(again["unchanged"], 13, "{again}");
    assert_eq!(again["errors"], first["errors"], "{again}");
    assert_eq!(again["exceptions"], json!([]), "{again}");
    // 7,480.52 gal is 1,000.0007 ft³: whole cubic feet, as the register shows.
    assert_eq!(reads["M-CF"][0][1], 1000, "{reads}");
    // 51 kgal on a gallons meter.
    let m1 = reads["M-1"].as_array().unwrap();
    assert!(
        m1.iter().any(|r| r[0] == "2026-09-01" && r[1] == 51_000),
        "{reads}"
    );
    assert!(
        m1.iter().any(|r| r[0] == "2026-07-01" && r[2] == true),
        "{reads}"
    );
    assert_eq!(m1.len(), 9, "{reads}");
    // The rollover is a use of 150, not a negative one.
    let roll = reads["M-ROLL"].as_array().unwrap();
    let april = roll.iter().find(|r| r[0] == "2026-04-01").unwrap();
    assert_eq!(april[4]["units"], 150, "{reads}");
    assert_eq!(april[4]["rolled_over"], true, "{reads}");
    assert_eq!(reads["M-3"].as_array().unwrap().len(), 2, "{reads}");
}

/// The PostgreSQL path (staged, set-based) and the SQLite path (row by
/// row in chunks) make the same decisions on the same file: the same
/// report line for line, the same stored reads, and a re-import that adds
/// nothing. Runs when `TEST_DATABASE_URL` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_fast_path_decides_exactly_as_the_sqlite_path() {
    use crate::support::{Engine, TestDb};
    let lite = TestApp::new(TestDb::new(Engine::Sqlite).await.unwrap()).await;
    let (first, again, reads) = parity_run(&lite).await;
    assert_parity_expectations(&first, &again, &reads);
    let Some(pg) = TestDb::postgres().await else {
        eprintln!("skipped the PostgreSQL half: TEST_DATABASE_URL is not set");
        return;
    };
    let pg = TestApp::new(pg).await;
    let (pg_first, pg_again, pg_reads) = parity_run(&pg).await;
    assert_eq!(pg_first, first, "first import differs");
    assert_eq!(pg_again, again, "re-import differs");
    assert_eq!(pg_reads, reads, "stored reads differ");
}
