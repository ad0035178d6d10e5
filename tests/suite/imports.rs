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
