//! Rate-change impact: the last twelve months of bills priced again with a
//! proposed schedule, by meter size and usage band (JSON and CSV).

use crate::db_test;
use crate::support::TestApp;
use crate::support::seed;
use http::Method;
use serde_json::{Value, json};

fn schedule(base: &str, first_block: &str) -> Value {
    json!({
        "name": "Proposed",
        "effective_from": "2027-01-01",
        "services": [{
            "service": "water",
            "base": {"amounts": {"by_meter_size": [{"size": "5/8", "amount": base}],
                                 "default": "60.00"}},
            "usage": {"unit": "thousand_gallons", "allowance": "2",
                      "blocks": [{"from": "0", "rate": first_block}, {"from": "8", "rate": "5.25"}]}
        }]
    })
}

db_test!(rate_impact_reprices_last_years_bills, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    let key = a.admin_key.expose();
    let bill = app
        .get(&format!("/api/v1/bills/{}", a.bill), a.admin_key.expose())
        .await
        .json();
    let billed = bill["total_cents"].as_i64().unwrap();

    // The tariff the bill was issued under reprices it to the cent.
    let same = app
        .request(
            Method::POST,
            "/api/v1/reports/rate-impact",
            Some(key),
            Some(json!({"schedule": schedule("24.50", "4.10")})),
        )
        .await;
    assert_eq!(same.status, 200, "{}", same.text);
    let r = same.json();
    assert_eq!(r["bills"], 1, "{r}");
    assert_eq!(r["current_cents"], billed, "{r}");
    assert_eq!(r["change_cents"], 0, "{r}");
    assert_eq!(r["groups"][0]["meter_size"], "5/8\"", "{r}");

    // $2.00 more base: exactly +200 cents on the one bill.
    let higher = app
        .request(
            Method::POST,
            "/api/v1/reports/rate-impact",
            Some(key),
            Some(json!({"schedule": schedule("26.50", "4.10")})),
        )
        .await
        .json();
    assert_eq!(higher["change_cents"], 200, "{higher}");
    assert_eq!(higher["proposed_cents"], billed + 200, "{higher}");
    assert_eq!(higher["change_bp"], 200 * 10_000 / billed, "{higher}");

    // CSV: one group line and the total.
    let res = app
        .request(
            Method::POST,
            "/api/v1/reports/rate-impact.csv",
            Some(key),
            Some(json!({"schedule": schedule("26.50", "4.10")})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let lines: Vec<&str> = res.text.lines().collect();
    assert_eq!(lines.len(), 3, "{}", res.text);
    assert!(lines[0].starts_with("meter_size,usage_band,bills,current,proposed,change"));
    assert!(lines[2].starts_with("all,all,1,"), "{}", res.text);
    assert!(lines[2].contains(",2.00,"), "{}", res.text);
    assert!(!res.text.contains(&b.marker));

    // An invalid schedule is refused.
    let bad = app
        .request(
            Method::POST,
            "/api/v1/reports/rate-impact",
            Some(key),
            Some(json!({"schedule": {"name": "x"}})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
});
