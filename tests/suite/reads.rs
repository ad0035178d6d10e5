//! Meter reads through the API: batch recording, idempotence, rollover,
//! negative use, out-of-order reads, and other tenants' meters.

use crate::db_test;
use crate::support::TestApp;
use crate::support::seed;
use http::Method;
use serde_json::json;

db_test!(batch_reads_are_idempotent_and_derive_consumption, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    let key = a.admin_key.expose();
    let meter = seed::extra_meter(&app.pool, &a, "RD-1").await.to_string();
    let batch = json!({"reads": [
        {"meter_id": meter, "read_on": "2026-07-01", "value": 999_000},
        {"meter_id": meter, "read_on": "2026-08-01", "value": 1_500},
        {"meter_id": meter, "read_on": "2026-09-01", "value": 7_500, "estimated": true},
        {"meter_id": b.meter.to_string(), "read_on": "2026-09-01", "value": 10},
        {"meter_serial": "NO-SUCH", "read_on": "2026-09-01", "value": 10}
    ]});
    let res = app
        .request(
            Method::POST,
            "/api/v1/reads",
            Some(key),
            Some(batch.clone()),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let r = res.json();
    assert_eq!(r["created"], 3);
    assert_eq!(r["errors"], 2);
    assert_eq!(r["results"][1]["consumption"]["units"], 2_500);
    assert_eq!(r["results"][1]["flags"][0], "rollover");
    assert_eq!(r["results"][3]["reason"], "unknown meter");
    assert_eq!(r["results"][4]["reason"], "unknown meter");

    // The same batch again adds nothing.
    let again = app
        .request(Method::POST, "/api/v1/reads", Some(key), Some(batch))
        .await
        .json();
    assert_eq!(again["created"], 0);
    assert_eq!(again["duplicates"], 3);

    // A different value for a stored day is a conflict, not an overwrite.
    let clash = app
        .request(
            Method::POST,
            "/api/v1/reads",
            Some(key),
            Some(json!({"reads": [{"meter_id": meter, "read_on": "2026-09-01", "value": 8_000}]})),
        )
        .await
        .json();
    assert_eq!(clash["conflicts"], 1);
    assert_eq!(clash["results"][0]["existing_value"], 7_500);

    // Late read between two stored ones, going backwards: flagged.
    let late = app
        .request(
            Method::POST,
            "/api/v1/reads",
            Some(key),
            Some(json!({"reads": [{"meter_id": meter, "read_on": "2026-08-15", "value": 1_000}]})),
        )
        .await
        .json();
    let flags = late["results"][0]["flags"].as_array().unwrap();
    assert!(flags.contains(&json!("out_of_order")), "{late}");
    assert!(flags.contains(&json!("negative_use")), "{late}");

    let list = app
        .get(&format!("/api/v1/meters/{meter}/reads"), key)
        .await
        .json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 4);
    assert!(list[0]["consumption"].is_null());
    assert_eq!(list[2]["read_on"], "2026-08-15");
    assert_eq!(list[2]["consumption"]["units"], 0);
    assert_eq!(list[2]["consumption"]["negative"], true);
    assert_eq!(list[2]["out_of_order"], true);
    assert_eq!(list[3]["estimated"], true);
    assert_eq!(list[3]["consumption"]["units"], 6_500);

    // Bravo's meter got nothing from alpha's batch (it keeps its two
    // seeded reads).
    let theirs = app
        .get(
            &format!("/api/v1/meters/{}/reads", b.meter),
            b.admin_key.expose(),
        )
        .await
        .json();
    assert_eq!(theirs.as_array().unwrap().len(), 2);
});

db_test!(reads_refuse_values_outside_the_register_and_viewers, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let body = json!({"reads": [{"meter_id": a.meter.to_string(), "read_on": "2026-12-01", "value": 1_000_000}]});
    let res = app
        .request(
            Method::POST,
            "/api/v1/reads",
            Some(a.admin_key.expose()),
            Some(body.clone()),
        )
        .await
        .json();
    assert_eq!(res["errors"], 1);
    assert!(
        res["results"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("6-digit")
    );
    let viewer = app
        .request(
            Method::POST,
            "/api/v1/reads",
            Some(a.viewer_key.expose()),
            Some(body),
        )
        .await;
    assert_eq!(viewer.status, 403);
    let extra = app
        .request(
            Method::POST,
            "/api/v1/reads",
            Some(a.admin_key.expose()),
            Some(json!({"reads": [], "tenant_id": "x"})),
        )
        .await;
    assert_eq!(extra.status, 422);
});
