//! The structured rate-schedule editor on the workspace rates pages
//! (issue 7): a clerk fills in base charges by meter size, an allowance,
//! usage blocks, sewer and a percentage fee, and the page stores the same
//! schedule document the JSON editor would — checked here by pricing it.

use crate::db_test;
use crate::support::app::TestResponse;
use crate::support::browser::{self, Browser, PASSWORD};
use crate::support::{TestApp, seed};
use aqueduct_billing::rates;
use aqueduct_core::RateScheduleId;
use aqueduct_tenant::Role;
use axum::body::Body;
use http::Method;
use serde_json::json;

async fn send(app: &TestApp, key: &str, path: &str, form: &str) -> TestResponse {
    let req = http::Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap();
    app.send(req).await
}

fn encode(fields: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The worked example: 5/8" base $24.50 with 2,000 gallons included,
/// $4.10 per 1,000 gallons up to 8,000 gallons of use, $5.25 above.
fn example(name: &str) -> Vec<(&str, &str)> {
    vec![
        ("editor", "form"),
        ("name", name),
        ("effective_from", "2026-01-01"),
        ("base_0", "24.50"),
        ("base_2", "41.00"),
        ("base_default", "60.00"),
        ("unit", "thousand_gallons"),
        ("allowance", "2"),
        ("tiers_start", "first_unit"),
        ("from_1", "0"),
        ("rate_1", "4.10"),
        ("from_2", "8"),
        ("rate_2", "5.25"),
        ("from_3", ""),
        ("rate_3", ""),
    ]
}

/// `POST /api/v1/rate-schedules/{id}/preview` for a 5/8" meter; the total in cents.
async fn preview_cents(
    app: &TestApp,
    key: &str,
    id: &str,
    gallons: &str,
    start: &str,
    end: &str,
) -> i64 {
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/rate-schedules/{id}/preview"),
            Some(key),
            Some(
                json!({"usage": gallons, "unit": "gallon", "meter_size": "5/8",
                        "period_start": start, "period_end": end}),
            ),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.json()["total"]["cents"].as_i64().unwrap()
}

async fn schedule_names(app: &TestApp, a: &seed::Seeded) -> Vec<String> {
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let rows = rates::list(&tx).await.unwrap();
    tx.commit().await.unwrap();
    rows.into_iter().map(|r| r.name).collect()
}

fn id_from(location: &str) -> String {
    location.trim_start_matches("/app/rates/").to_owned()
}

/// The fields a browser would post from the form `id="rate-form"`: every
/// input's value and every select's selected option.
fn form_fields(page: &str) -> Vec<(String, String)> {
    fields_of(page, "rate-form")
}

/// The fields a browser would post from the form with this id.
fn fields_of(page: &str, form_id: &str) -> Vec<(String, String)> {
    let form = page
        .split(&format!("id=\"{form_id}\""))
        .nth(1)
        .and_then(|t| t.split("</form>").next())
        .expect("the structured form");
    let attr = |tag: &str, name: &str| {
        tag.split(&format!(" {name}=\""))
            .nth(1)
            .and_then(|t| t.split('"').next())
            .map(|v| {
                v.replace("&#34;", "\"")
                    .replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&")
            })
    };
    let mut out = Vec::new();
    for part in form.split('<').skip(1) {
        if let Some(tag) = part.strip_prefix("input") {
            let tag = tag.split('>').next().unwrap();
            if let Some(n) = attr(tag, "name") {
                out.push((n, attr(tag, "value").unwrap_or_default()));
            }
        } else if let Some(tag) = part.strip_prefix("select") {
            let name = attr(tag.split('>').next().unwrap(), "name").unwrap();
            let body = form
                .split(&format!("name=\"{name}\""))
                .nth(1)
                .and_then(|t| t.split("</select>").next())
                .unwrap();
            let chosen = body
                .split("<option")
                .find(|o| o.contains(" selected"))
                .and_then(|o| attr(o, "value"))
                .unwrap_or_else(|| panic!("no option of {name} selected"));
            out.push((name, chosen));
        }
    }
    out
}

db_test!(rates_form_stores_a_schedule_that_prices_to_the_cent, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.admin_key.expose();
    let list = app.get("/app/rates", key).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert!(list.text.contains("id=\"rate-form\""), "{}", list.text);
    assert!(list.text.contains("Advanced (JSON)"));
    for (id, name) in [("rf-base-0", "base_0"), ("rf-rate-6", "rate_6")] {
        assert!(
            list.text
                .contains(&format!("<label class=\"visually-hidden\" for=\"{id}\""))
                || list.text.contains(&format!("<label for=\"{id}\"")),
            "{id} has a label"
        );
        assert!(list.text.contains(&format!("name=\"{name}\"")));
    }

    // The new-schedule form starts from the sample schedule, from the
    // first of this year; posted as shown (renamed) it is stored.
    let mut fields = form_fields(&list.text);
    assert!(
        fields.contains(&("base_0".into(), "24.50".into())),
        "{fields:?}"
    );
    assert!(fields.contains(&("effective_from".into(), "2026-01-01".into())));
    for f in &mut fields {
        if f.0 == "name" {
            f.1 = "Sample".into();
        }
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter())
        .finish();
    let sample = send(&app, key, "/app/rates", &body).await;
    assert_eq!(sample.status, 303, "{}", sample.text);
    let sample_id = id_from(sample.headers["location"].to_str().unwrap());
    // $24.50 + 8 × $4.10 + 4 × $5.25 = $78.30 for 12,000 gallons.
    assert_eq!(
        preview_cents(&app, key, &sample_id, "12000", "2026-10-01", "2026-10-31").await,
        7_830
    );

    let created = send(
        &app,
        key,
        "/app/rates",
        &encode(&example("Form residential")),
    )
    .await;
    assert_eq!(created.status, 303, "{}", created.text);
    let location = created.headers["location"].to_str().unwrap().to_owned();
    let id = id_from(&location);
    // 12,000 gallons: $24.50 base; gallons 1–2,000 included (free in the
    // first block); 6,000 × $4.10/1,000 = $24.60 up to 8,000; 4,000 ×
    // $5.25/1,000 = $21.00 above: $70.10.
    assert_eq!(
        preview_cents(&app, key, &id, "12000", "2026-10-01", "2026-10-31").await,
        7_010
    );
    // 1,500 gallons is within the allowance: the base charge only.
    assert_eq!(
        preview_cents(&app, key, &id, "1500", "2026-10-01", "2026-10-31").await,
        2_450
    );
    // The document stored is the one the JSON editor would post.
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let stored = rates::get(&tx, id.parse::<RateScheduleId>().unwrap())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let v = &stored.history.versions()[0];
    let expected: aqueduct_rates::RateSchedule = serde_json::from_value(json!({
        "name": "Form residential",
        "effective_from": "2026-01-01",
        "services": [{
            "service": "water",
            "base": {"amounts": {"by_meter_size": [{"size": "5/8", "amount": "24.50"},
                                                   {"size": "1", "amount": "41.00"}],
                                 "default": "60.00"}},
            "usage": {"unit": "thousand_gallons", "allowance": "2", "tiers_start": "first_unit",
                      "blocks": [{"from": "0", "rate": "4.10"}, {"from": "8", "rate": "5.25"}]}
        }]
    }))
    .unwrap();
    assert_eq!(v, &expected);

    // A new version from December through the form on the schedule's page:
    // sewer $10.00 flat + $2.00 per 1,000 gallons, and a 1.5 % state fee.
    let mut v2 = example("Form residential 2027");
    v2[2] = ("effective_from", "2026-12-01");
    v2.extend([
        ("sewer_flat", "10.00"),
        ("sewer_rate", "2.00"),
        ("fee_description", "State regulatory fee"),
        ("fee_percent", "1.5"),
        ("minimum_bill", "30"),
    ]);
    let added = send(&app, key, &format!("{location}/versions"), &encode(&v2)).await;
    assert_eq!(added.status, 303, "{}", added.text);
    // $70.10 water + $10.00 + 12 × $2.00 sewer = $104.10; 1.5 % of it is
    // $1.5615 → $1.56: $105.66.
    assert_eq!(
        preview_cents(&app, key, &id, "12000", "2026-12-01", "2026-12-31").await,
        10_566
    );
    // October still has the first version's rates.
    assert_eq!(
        preview_cents(&app, key, &id, "12000", "2026-10-01", "2026-10-31").await,
        7_010
    );
    // The live calculator on the page prices with the new version.
    let calc = send(
        &app,
        key,
        &format!("{location}/calculate"),
        "usage=12&unit=thousand_gallons&meter_size=5%2F8&period_start=2026-12-01&period_end=2026-12-31",
    )
    .await;
    assert_eq!(calc.status, 200, "{}", calc.text);
    assert!(
        calc.text.contains("id=\"calc-total\">$105.66"),
        "{}",
        calc.text
    );
    assert!(calc.text.contains("State regulatory fee"));
});

db_test!(
    rates_form_errors_keep_what_was_typed_and_store_nothing,
    |db| {
        let app = TestApp::new(db).await;
        let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let key = a.admin_key.expose();
        let before = schedule_names(&app, &a).await;

        // A rate that is not a number.
        let mut bad = example("Typo");
        bad[10] = ("rate_1", "abc");
        let res = send(&app, key, "/app/rates", &encode(&bad)).await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert!(res.text.contains("id=\"rate-form-error\""), "{}", res.text);
        assert!(res.text.contains("Block 1 rate"), "{}", res.text);
        assert!(
            res.text
                .contains("name=\"rate_1\" inputmode=\"decimal\" value=\"abc\"")
        );
        assert!(
            res.text
                .contains("name=\"rate_2\" inputmode=\"decimal\" value=\"5.25\"")
        );
        assert!(
            res.text
                .contains("name=\"base_0\" inputmode=\"decimal\" value=\"24.50\"")
        );
        assert!(res.text.contains("value=\"Typo\""));

        // Blocks out of order: refused by the rates crate's validation.
        let mut order = example("Out of order");
        order.extend([("from_3", "5"), ("rate_3", "6.00")]);
        order.retain(|(k, v)| !(["from_3", "rate_3"].contains(k) && v.is_empty()));
        let res = send(&app, key, "/app/rates", &encode(&order)).await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert!(
            res.text.contains("thresholds must strictly increase"),
            "{}",
            res.text
        );
        assert!(
            res.text
                .contains("name=\"from_3\" inputmode=\"decimal\" value=\"5\"")
        );

        // No base charge for any size.
        let none: Vec<_> = example("No sizes")
            .into_iter()
            .filter(|(k, _)| !k.starts_with("base_"))
            .collect();
        let res = send(&app, key, "/app/rates", &encode(&none)).await;
        assert!(res.text.contains("Give the base charge"), "{}", res.text);
        assert!(
            res.text
                .contains("name=\"rate_1\" inputmode=\"decimal\" value=\"4.10\"")
        );

        // A rate on a block with no start (not the first).
        let mut gap = example("Gap");
        gap.extend([("rate_4", "7")]);
        let res = send(&app, key, "/app/rates", &encode(&gap)).await;
        assert!(
            res.text
                .contains("Block 4: give the use where the block starts"),
            "{}",
            res.text
        );

        // A bad new version keeps the form too, and adds nothing.
        let mut v = example("Later");
        v[2] = ("effective_from", "2026-13-40");
        let res = send(
            &app,
            key,
            &format!("/app/rates/{}/versions", a.schedule),
            &encode(&v),
        )
        .await;
        assert_eq!(res.status, 200);
        assert!(
            res.text.contains("Give the date the rates take effect"),
            "{}",
            res.text
        );
        assert!(res.text.contains("value=\"2026-13-40\""));
        let tx = app.pool.tenant(&a.tenant).await.unwrap();
        let stored = rates::get(&tx, a.schedule).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(stored.history.versions().len(), 1);

        assert_eq!(schedule_names(&app, &a).await, before, "nothing stored");

        // A viewer may look but not change.
        let viewer = a.viewer_key.expose();
        let res = send(&app, viewer, "/app/rates", &encode(&example("Viewer"))).await;
        assert_eq!(res.status, 403);
        let res = send(
            &app,
            viewer,
            &format!("/app/rates/{}/versions", a.schedule),
            &encode(&example("Viewer")),
        )
        .await;
        assert_eq!(res.status, 403);
        let page = app.get("/app/rates", viewer).await;
        assert!(!page.text.contains("id=\"rate-form\""));
        assert_eq!(schedule_names(&app, &a).await, before);
    }
);

db_test!(rates_form_needs_the_csrf_token, |db| {
    let (app, a) = browser::alpha_with(db, "admin@alpha.test", Role::Admin).await;
    let mut b = Browser::default();
    let signed = b.sign_in(&app, "admin@alpha.test", PASSWORD).await;
    assert_eq!(signed.status, 200, "{}", signed.text);
    let token = b.csrf.clone().unwrap();
    let mut bare = b.clone();
    bare.csrf = None;
    let post = |b: &Browser, body: String| {
        b.build(Method::POST, "/app/rates")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let before = schedule_names(&app, &a).await;
    let res = bare
        .send(&app, post(&bare, encode(&example("No token"))))
        .await;
    assert_eq!(res.status, 403, "{}", res.text);
    let mut wrong = example("Wrong token");
    wrong.push(("csrf_token", "nope"));
    let res = bare.send(&app, post(&bare, encode(&wrong))).await;
    assert_eq!(res.status, 403, "{}", res.text);
    assert_eq!(schedule_names(&app, &a).await, before);
    // The page's form carries the token; posted with it, it is stored.
    let page = bare.get(&app, "/app/rates").await;
    assert!(
        page.text.contains(&format!("value=\"{token}\"")),
        "{}",
        page.text
    );
    let mut good = example("With token");
    good.push(("csrf_token", &token));
    let res = bare.send(&app, post(&bare, encode(&good))).await;
    assert_eq!(res.status, 303, "{}", res.text);
    assert!(
        schedule_names(&app, &a)
            .await
            .contains(&"With token".to_owned())
    );
});

db_test!(rates_new_version_form_is_prefilled_and_round_trips, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.admin_key.expose();
    let path = format!("/app/rates/{}", a.schedule);
    let page = app.get(&path, key).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(!page.text.contains("id=\"not-expressible\""));
    let fields = form_fields(&page.text);
    let get = |n: &str| {
        fields
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no field {n}"))
    };
    // The seed's schedule, in the form; dated the first of next month
    // (the test clock is at 2 November 2026).
    assert_eq!(get("editor"), "form");
    assert_eq!(get("base_0"), "24.50");
    assert_eq!(get("base_default"), "60.00");
    assert_eq!(get("allowance"), "2");
    assert_eq!(get("unit"), "thousand_gallons");
    assert_eq!(get("tiers_start"), "after_allowance");
    assert_eq!((get("from_2"), get("rate_2")), ("8", "5.25"));
    assert_eq!(get("effective_from"), "2026-12-01");
    // Posted back unchanged (as a browser would, bearer-authenticated
    // here so no CSRF field), it adds a version identical but for the date.
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter())
        .finish();
    let res = send(&app, key, &format!("{path}/versions"), &body).await;
    assert_eq!(res.status, 303, "{}", res.text);
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let stored = rates::get(&tx, a.schedule).await.unwrap();
    tx.commit().await.unwrap();
    let versions = stored.history.versions();
    assert_eq!(versions.len(), 2);
    let mut again = versions[1].clone();
    assert_eq!(again.effective_from.to_string(), "2026-12-01");
    again.effective_from = versions[0].effective_from;
    assert_eq!(again, versions[0]);
    // With a version already dated December, the next starts in January.
    let page = app.get(&path, key).await;
    let next = form_fields(&page.text);
    assert!(
        next.contains(&("effective_from".into(), "2027-01-01".into())),
        "{next:?}"
    );

    // A schedule the form cannot show (a tax) says so and opens the JSON.
    let mut taxed = seed::residential();
    taxed.taxes = vec![aqueduct_rates::PercentCharge {
        description: "Sales tax".into(),
        percent: "6".parse().unwrap(),
        services: vec![],
    }];
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let made = rates::create(&tx, app.clock.as_ref(), "Taxed", taxed)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let page = app
        .get(&format!("/app/rates/{}", made.schedule.id), key)
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("id=\"not-expressible\""),
        "{}",
        page.text
    );
    assert!(page.text.contains("<details id=\"rate-json\" open>"));
    assert!(!page.text.contains("id=\"rate-form\""));
    assert!(page.text.contains("Sales tax"));
});

/// The seed's October bill: its total and its use in gallons.
async fn seeded_bill(app: &TestApp, a: &seed::Seeded) -> (i64, i64) {
    let bill = app
        .get(&format!("/api/v1/bills/{}", a.bill), a.admin_key.expose())
        .await
        .json();
    let unit = bill["usage_unit"].as_str().unwrap().to_owned();
    assert!(unit.starts_with("gallon"), "{bill}");
    (
        bill["total_cents"].as_i64().unwrap(),
        bill["usage_units"].as_i64().unwrap(),
    )
}

fn dollars(cents: i64) -> String {
    aqueduct_core::Money::usd(cents).to_string()
}

/// Sets `name` in posted fields.
fn set(fields: &mut [(String, String)], name: &str, value: &str) {
    let f = fields
        .iter_mut()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no field {name}"));
    f.1 = value.to_owned();
}

fn body_of(fields: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter())
        .finish()
}

db_test!(rate_impact_from_the_structured_form, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    let key = a.admin_key.expose();
    let (billed, gallons) = seeded_bill(&app, &a).await;

    // The schedule page leads to the form, prefilled with the rates in
    // force: $24.50 base, 2,000 gallons included, $4.10 per 1,000 gallons
    // for the first 8,000 gallons after the allowance, $5.25 above.
    let rates = app.get(&format!("/app/rates/{}", a.schedule), key).await;
    assert!(
        rates.text.contains(&format!(
            "href=\"/app/rates/impact?schedule={}\"",
            a.schedule
        )),
        "{}",
        rates.text
    );
    let page = app
        .get(&format!("/app/rates/impact?schedule={}", a.schedule), key)
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("Advanced (JSON)"));
    assert!(!page.text.contains("id=\"impact-summary\""));
    let mut fields = fields_of(&page.text, "impact-form");
    let get = |fs: &[(String, String)], n: &str| {
        fs.iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get(&fields, "schedule_id"), a.schedule.to_string());
    assert_eq!(get(&fields, "base_0"), "24.50");
    assert_eq!(get(&fields, "allowance"), "2");
    assert_eq!(get(&fields, "tiers_start"), "after_allowance");
    assert_eq!(
        (get(&fields, "from_1"), get(&fields, "rate_1")),
        ("0".into(), "4.10".into())
    );
    assert_eq!(
        (get(&fields, "from_2"), get(&fields, "rate_2")),
        ("8".into(), "5.25".into())
    );

    // Posted unchanged, the report shows no change.
    let same = send(&app, key, "/app/rates/impact", &body_of(&fields)).await;
    assert_eq!(same.status, 200, "{}", same.text);
    assert!(
        same.text.contains("id=\"impact-change\">$0.00 (+0.00 %)"),
        "{}",
        same.text
    );

    // The first block 50 cents dearer. Computed here from the fixture's
    // use: gallons beyond the 2,000 included, up to 8,000 of them, each
    // 1,000 costing $0.50 more.
    set(&mut fields, "rate_1", "4.60");
    let in_block_1 = (gallons - 2_000).clamp(0, 8_000);
    assert_eq!(in_block_1 * 50 % 1_000, 0, "a whole number of cents");
    let change = in_block_1 * 50 / 1_000;
    assert!(change > 0, "the fixture uses water in the first block");
    // The proposed bill priced by hand: base, then both blocks.
    let in_block_2 = (gallons - 2_000 - 8_000).max(0);
    let proposed = 2_450 + in_block_1 * 460 / 1_000 + in_block_2 * 525 / 1_000;
    assert_eq!(
        proposed,
        billed + change,
        "the bill was priced with the current rates"
    );
    let res = send(&app, key, "/app/rates/impact", &body_of(&fields)).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let t = &res.text;
    assert!(t.contains("id=\"impact-summary\""), "{t}");
    assert!(
        t.contains(&format!("id=\"impact-proposed\">{}<", dollars(proposed))),
        "{t}"
    );
    let bp = change * 10_000 / billed;
    assert!(
        t.contains(&format!(
            "id=\"impact-change\">+{} (+{}.{:02} %)",
            dollars(change),
            bp / 100,
            bp % 100
        )),
        "{t}"
    );
    // The group of the one bill: typical bill now and proposed.
    assert!(
        t.contains(&format!(
            "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            dollars(billed),
            dollars(proposed)
        )),
        "{t}"
    );
    // The form keeps the proposal; the JSON box follows it.
    let kept = fields_of(t, "impact-form");
    assert_eq!(get(&kept, "rate_1"), "4.60");
    assert!(
        t.contains("&quot;4.60&quot;") || t.contains("&#34;4.60&#34;"),
        "{t}"
    );
    assert!(!t.contains(&b.marker));

    // The CSV of the same proposal.
    let mut csv_fields = fields.clone();
    csv_fields.push(("format".into(), "csv".into()));
    let csv = send(&app, key, "/app/rates/impact", &body_of(&csv_fields)).await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines.len(), 3, "{}", csv.text);
    let cents = |c: i64| format!("{}.{:02}", c / 100, c % 100);
    assert!(
        lines[2].starts_with(&format!(
            "all,all,1,{},{},{},",
            cents(billed),
            cents(proposed),
            cents(change)
        )),
        "{}",
        csv.text
    );

    // A cheaper base charge lowers it by exactly that much.
    let mut lower = fields_of(&page.text, "impact-form");
    set(&mut lower, "base_0", "$22.00");
    let res = send(&app, key, "/app/rates/impact", &body_of(&lower)).await;
    assert!(
        res.text.contains("id=\"impact-change\">-$2.50 (−"),
        "{}",
        res.text
    );

    // Another association's schedule cannot be the starting point.
    let theirs = app
        .get(&format!("/app/rates/impact?schedule={}", b.schedule), key)
        .await;
    assert_eq!(theirs.status, 404, "{}", theirs.text);
    assert!(!theirs.text.contains(&b.marker));
});

db_test!(rate_impact_form_errors_keep_what_was_typed, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.admin_key.expose();
    let page = app
        .get(&format!("/app/rates/impact?schedule={}", a.schedule), key)
        .await;
    let mut fields = fields_of(&page.text, "impact-form");
    set(&mut fields, "base_0", "25.75");
    set(&mut fields, "rate_1", "4,6O");
    let res = send(&app, key, "/app/rates/impact", &body_of(&fields)).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let t = &res.text;
    assert!(t.contains("id=\"rate-form-error\""), "{t}");
    assert!(t.contains("Block 1 rate: “4,6O” is not a number"), "{t}");
    assert!(!t.contains("id=\"impact-summary\""));
    let kept = fields_of(t, "impact-form");
    assert!(kept.contains(&("rate_1".into(), "4,6O".into())), "{kept:?}");
    assert!(
        kept.contains(&("base_0".into(), "25.75".into())),
        "{kept:?}"
    );
    assert!(kept.contains(&("rate_2".into(), "5.25".into())), "{kept:?}");

    // Refused by the rates crate's validation (blocks out of order): the
    // message and the values come back too.
    let mut order = fields_of(&page.text, "impact-form");
    set(&mut order, "from_3", "5");
    set(&mut order, "rate_3", "6.00");
    let res = send(&app, key, "/app/rates/impact", &body_of(&order)).await;
    assert!(
        res.text.contains("thresholds must strictly increase"),
        "{}",
        res.text
    );
    assert!(fields_of(&res.text, "impact-form").contains(&("from_3".into(), "5".into())));

    // A bad JSON proposal keeps the JSON, open, with its message.
    let res = send(&app, key, "/app/rates/impact", "schedule=%7B%22name%22").await;
    assert!(
        res.text
            .contains("<details class=\"card\" id=\"impact-json\" open>")
    );
    assert!(res.text.contains("not valid"), "{}", res.text);
    assert!(res.text.contains("{&quot;name&quot;") || res.text.contains("{&#34;name&#34;"));
});

db_test!(rate_impact_needs_csrf_and_is_not_for_viewers, |db| {
    let (app, a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
    let mut b = Browser::default();
    let signed = b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    assert_eq!(signed.status, 200, "{}", signed.text);
    let token = b.csrf.clone().unwrap();
    let page = b.get(&app, "/app/rates/impact").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains(&format!("value=\"{token}\"")));
    let mut fields = fields_of(&page.text, "impact-form");
    set(&mut fields, "rate_1", "4.60");
    let post = |b: &Browser, body: String| {
        b.build(Method::POST, "/app/rates/impact")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    // The page's form carries the token: posted as is, the report.
    let ok = b.send(&app, post(&b, body_of(&fields))).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(ok.text.contains("id=\"impact-summary\""), "{}", ok.text);
    // Without it, or with a wrong one: 403.
    let bare_fields: Vec<_> = fields
        .iter()
        .filter(|(k, _)| k != "csrf_token")
        .cloned()
        .collect();
    let mut bare = b.clone();
    bare.csrf = None;
    let res = bare.send(&app, post(&bare, body_of(&bare_fields))).await;
    assert_eq!(res.status, 403, "{}", res.text);
    let mut wrong = bare_fields.clone();
    wrong.push(("csrf_token".into(), "nope".into()));
    let res = bare.send(&app, post(&bare, body_of(&wrong))).await;
    assert_eq!(res.status, 403, "{}", res.text);

    // A viewer may not run it, on the page or through the API.
    let viewer = a.viewer_key.expose();
    assert_eq!(app.get("/app/rates/impact", viewer).await.status, 403);
    let res = send(&app, viewer, "/app/rates/impact", &body_of(&bare_fields)).await;
    assert_eq!(res.status, 403, "{}", res.text);
    let res = app
        .request(
            Method::POST,
            "/api/v1/reports/rate-impact",
            Some(viewer),
            Some(json!({"schedule": seed::residential()})),
        )
        .await;
    assert_eq!(res.status, 403, "{}", res.text);
    // Nor does the viewer see the way in.
    let rates = app.get(&format!("/app/rates/{}", a.schedule), viewer).await;
    assert!(!rates.text.contains("/app/rates/impact"), "{}", rates.text);
});
