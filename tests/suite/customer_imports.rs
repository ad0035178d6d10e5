//! CSV import of customers (accounts, service locations, meters): row-level
//! errors with line numbers, nothing good lost, idempotent re-import, saved
//! mappings, and one association's import never touching another's data.

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
        .uri(format!("/api/v1/imports/customers{query}"))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "text/csv")
        .body(Body::from(csv.to_owned()))
        .unwrap();
    app.send(req).await
}

fn lines_of(report: &Value) -> Vec<u64> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect()
}

const FILE: &str = "\
account_number,holder_name,email,opened_on,service_address,service_unit,service_city,service_state,service_zip,route,sequence,meter_serial,meter_size,meter_unit
C-1,Ada Reyes,ada@example.org,2024-01-15,12 Mill Rd,,Salida,CO,81201,R1,10,CM-1,5/8,GAL
C-1,Ada Reyes,ada@example.org,2024-01-15,12 Mill Rd,,Salida,CO,81201,R1,10,CM-2,1,GAL
C-9,Bad Zip,,2024-01-15,9 Elm St,,Salida,CO,8120,R1,11,CM-9,5/8,GAL
C-8,Bad Size,,2024-01-15,8 Elm St,,Salida,CO,81201,R1,12,CM-8,7/8,GAL
C-2,Next Door,,2024-02-01,12 Mill Rd,,Salida,CO,81201,R1,10,,,
C-3,Stolen Meter,,2024-02-01,3 Oak Ave,,Salida,CO,81201,R1,13,CM-1,5/8,GAL
C-7,Bad Date,,2024-02-31,7 Oak Ave,,Salida,co,81201,R1,14,,,
C-4,Lot Owner,,2024-03-01,4 Pine Ct,Lot 2,Salida,co,81201-1234,R2,1,,,
";

db_test!(
    customers_import_row_by_row_and_reimport_adds_nothing,
    |db| {
        let app = TestApp::new(db).await;
        let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
        let key = a.admin_key.expose();

        let res = import(&app, key, "", FILE).await;
        assert_eq!(res.status, 200, "{}", res.text);
        let r = res.json();
        assert_eq!(r["rows"], 8, "{r}");
        assert_eq!(r["accounts_created"], 2, "{r}");
        assert_eq!(r["locations_created"], 2, "{r}");
        assert_eq!(r["meters_created"], 2, "{r}");
        assert_eq!(lines_of(&r), vec![4, 5, 6, 7, 8], "{r}");
        let reasons: Vec<&str> = r["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["reason"].as_str().unwrap())
            .collect();
        assert!(reasons[0].contains("ZIP"), "{reasons:?}");
        assert!(reasons[1].contains("meter size"), "{reasons:?}");
        assert!(
            reasons[2].contains("occupied by account \"C-1\""),
            "{reasons:?}"
        );
        assert!(
            reasons[3].contains("another service address"),
            "{reasons:?}"
        );
        assert!(reasons[4].starts_with("bad date"), "{reasons:?}");

        // What was imported is really there: C-1 with both meters.
        let page = app.get("/api/v1/accounts?q=C-1", key).await.json();
        let c1 = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["account_number"] == "C-1")
            .cloned()
            .unwrap_or_else(|| panic!("C-1 missing: {page}"));
        let meters = app
            .get(
                &format!("/api/v1/accounts/{}/meters", c1["id"].as_str().unwrap()),
                key,
            )
            .await
            .json();
        let serials: Vec<&str> = meters
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["serial"].as_str().unwrap())
            .collect();
        assert_eq!(serials, vec!["CM-1", "CM-2"], "{meters}");
        assert_eq!(meters[0]["size"], "5/8\"");
        assert_eq!(meters[0]["unit"], "gallons");

        // The same file again adds nothing and reports the same lines.
        let again = import(&app, key, "", FILE).await.json();
        assert_eq!(again["accounts_created"], 0, "{again}");
        assert_eq!(again["locations_created"], 0, "{again}");
        assert_eq!(again["meters_created"], 0, "{again}");
        assert_eq!(again["unchanged"], 3, "{again}");
        assert_eq!(lines_of(&again), vec![4, 5, 6, 7, 8]);

        // Bravo imports the same numbers and serials into its own books.
        let theirs = import(&app, b.admin_key.expose(), "", FILE).await.json();
        assert_eq!(theirs["accounts_created"], 2, "{theirs}");
        assert_eq!(theirs["meters_created"], 2, "{theirs}");

        // A viewer cannot import.
        let viewer = import(&app, a.viewer_key.expose(), "", FILE).await;
        assert_eq!(viewer.status, 403);
    }
);

db_test!(customers_import_with_a_saved_mapping, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.admin_key.expose();
    let mapping = json!({"name": "old system", "mapping": {
        "account_number": "Acct #", "holder_name": "Customer",
        "service_address": "Street", "service_city": "Town", "service_state": "ST",
        "service_zip": "Zip", "meter_serial": "Meter", "meter_size": "Size"}});
    let res = app
        .request(
            Method::POST,
            "/api/v1/import-mappings/customers",
            Some(key),
            Some(mapping.clone()),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let dup = app
        .request(
            Method::POST,
            "/api/v1/import-mappings/customers",
            Some(key),
            Some(mapping),
        )
        .await;
    assert_eq!(dup.status, 409);
    let list = app
        .get("/api/v1/import-mappings/customers", key)
        .await
        .json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["aqueduct", "old system"]);

    let csv = "Acct #,Customer,Street,Town,ST,Zip,Meter,Size\n\
               77-1,Old One,1 River Rd,Buena Vista,CO,81211,OM-1,3/4\"\n";
    let r = import(&app, key, "?mapping=old%20system", csv).await.json();
    assert_eq!(r["accounts_created"], 1, "{r}");
    assert_eq!(r["meters_created"], 1, "{r}");
    let missing = import(&app, key, "", csv).await;
    assert_eq!(missing.status, 422, "{}", missing.text);
});
