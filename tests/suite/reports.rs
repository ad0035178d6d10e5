//! CSV reports (formula injection escaped) and the bill document.

use crate::db_test;
use crate::support::TestApp;
use crate::support::seed;
use http::Method;
use serde_json::json;

db_test!(csv_reports_escape_formulas_and_add_up, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.admin_key.expose();
    let res = app
        .request(
            Method::POST,
            "/api/v1/accounts",
            Some(key),
            Some(
                json!({"account_number": "300-1", "holder_name": "=HYPERLINK(\"http://x\")",
                        "opened_on": "2026-01-01"}),
            ),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let id = res.json()["id"].as_str().unwrap().to_owned();
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/accounts/{id}/ledger"),
            Some(key),
            Some(
                json!({"kind": "adjustment", "amount_cents": 1_234, "memo": "@SUM(A1:A9)",
                        "effective_on": "2026-07-01"}),
            ),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);

    let aging = app.get("/api/v1/reports/aging.csv", key).await;
    assert_eq!(aging.status, 200);
    assert!(
        aging.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let lines: Vec<&str> = aging.text.lines().collect();
    assert_eq!(
        lines[0],
        "account_number,holder_name,current,days_30,days_60,days_90_plus,total"
    );
    // Opening $42.50 (2020) is 90+, the October bill current.
    assert_eq!(
        lines[1],
        format!("100-1,Holder {},38.85,0.00,0.00,42.50,81.35", a.marker)
    );
    assert_eq!(
        lines[2],
        "300-1,\"'=HYPERLINK(\"\"http://x\"\")\",0.00,0.00,0.00,12.34,12.34"
    );
    assert!(!aging.text.contains(",=HYPERLINK"));

    let gl = app
        .get("/api/v1/reports/general-ledger.csv", key)
        .await
        .text;
    assert!(gl.contains(",'@SUM(A1:A9)"), "{gl}");
    // Two lines per entry, debits equal credits.
    let (mut d, mut c) = (0_i64, 0_i64);
    for line in gl.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let cents = |s: &str| -> i64 {
            if s.is_empty() {
                0
            } else {
                s.replace('.', "").parse().unwrap()
            }
        };
        d += cents(cells[3]);
        c += cents(cells[4]);
    }
    assert_eq!(d, c);
    assert_eq!(d, 4_250 + 3_885 + 1_234);

    // A payment with a hostile external id, then the payments journal.
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    aqueduct_billing::ledger::post_payment(
        &tx,
        app.clock.as_ref(),
        a.account,
        aqueduct_core::Money::usd(2_000),
        "2026-11-01".parse().unwrap(),
        "=cmd|calc",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let pay = app.get("/api/v1/reports/payments.csv", key).await.text;
    assert_eq!(pay.lines().count(), 2, "{pay}");
    assert!(
        pay.contains(",payment,20.00,'=cmd|calc,Payment received"),
        "{pay}"
    );
    let cons = app.get("/api/v1/reports/consumption.csv", key).await.text;
    assert_eq!(
        cons.lines().nth(1).unwrap(),
        "2026-10,\"5/8\"\"\",1,5500,gallons,38.85",
        "{cons}"
    );

    let reg = app
        .get(&format!("/api/v1/bill-runs/{}/register.csv", a.run), key)
        .await
        .text;
    let row = reg.lines().nth(1).unwrap();
    assert!(
        row.starts_with(&format!(
            "1,100-1,Holder {},2026-09-28,2026-10-28,5500,gallons,false,38.85,2026-11-20,false",
            a.marker
        )),
        "{reg}"
    );
});

db_test!(bill_document_shows_what_is_owed, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let res = app
        .get(
            &format!("/api/v1/bills/{}/document", a.bill),
            a.viewer_key.expose(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(
        res.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let t = &res.text;
    for needle in [
        "alpha water association",
        "Water bill no. 1",
        "Account 100-1",
        "2026-09-28",
        "5500 gallons",
        "Previous balance</td><td class=\"amount\">$42.50",
        "This bill</td><td class=\"amount\">$38.85",
        "Amount due by 2026-11-20</td><td class=\"amount\">$81.35",
        "<svg",
        "Return this part with your payment",
    ] {
        assert!(t.contains(needle), "missing {needle:?} in {t}");
    }
    assert!(!t.contains("estimated</strong> read"));
});
