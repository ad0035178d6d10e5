//! The workspace and operator console pages added for issue 7: the
//! onboarding checklist, sign-up page, imports with preview and per-row
//! errors (including the multipart CSRF check), reads by route and their
//! exceptions, rates with the calculator and impact report, reports,
//! settings, and the operator's job, backup, audit and settings pages.

use crate::db_test;
use crate::support::app::TestResponse;
use crate::support::browser::{self, Browser, PASSWORD};
use crate::support::{TestApp, seed};
use aqueduct_tenant::{PlatformAccess, TenantStatus, directory};
use axum::body::Body;
use http::{Method, Request};

async fn send(app: &TestApp, key: &str, method: Method, path: &str, form: &str) -> TestResponse {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap();
    app.send(req).await
}

const BOUNDARY: &str = "----aqueducttest7";

fn multipart(fields: &[(&str, &str)], file: Option<&str>) -> String {
    let mut out = String::new();
    for (k, v) in fields {
        out.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    if let Some(f) = file {
        out.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\nContent-Type: text/csv\r\n\r\n{f}\r\n"
        ));
    }
    out.push_str(&format!("--{BOUNDARY}--\r\n"));
    out
}

async fn upload(app: &TestApp, key: &str, path: &str, body: String) -> TestResponse {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .unwrap();
    app.send(req).await
}

async fn set_status(app: &TestApp, a: &seed::Seeded, status: TenantStatus) {
    let tx = app
        .pool
        .platform(
            PlatformAccess {
                actor: "test".into(),
                reason: "test.status",
                request_id: None,
            },
            app.clock.as_ref(),
        )
        .await
        .unwrap();
    directory::set_status(&tx, app.clock.as_ref(), a.tenant.id(), status)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

db_test!(web_onboarding_checklist_follows_the_data, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.admin_key.expose();
    // An active association sees no checklist.
    let active = app.get("/app", key).await;
    assert_eq!(active.status, 200);
    assert!(!active.text.contains("id=\"onboarding\""));

    set_status(&app, &a, TenantStatus::Onboarding).await;
    let dash = app.get("/app", key).await;
    assert_eq!(dash.status, 200, "{}", dash.text);
    // The seed has rates, customers, reads and a finalized run; no
    // profile and no Stripe account.
    assert!(
        dash.text.contains("Getting started: 4 of 6 steps done"),
        "{}",
        dash.text
    );
    assert!(dash.text.contains("href=\"/app/settings/branding\""));
    assert!(dash.text.contains("href=\"/app/stripe\""));
    assert!(!dash.text.contains("action=\"/app/go-live\""));
    let early = send(&app, key, Method::POST, "/app/go-live", "").await;
    assert_eq!(early.status, 409, "{}", early.text);

    let bad = send(
        &app,
        key,
        Method::POST,
        "/app/settings/branding",
        "contact_email=not-an-address",
    )
    .await;
    assert_eq!(bad.status, 200);
    assert!(bad.text.contains("class=\"error\""), "{}", bad.text);
    let saved = send(
        &app,
        key,
        Method::POST,
        "/app/settings/branding",
        "contact_phone=%28719%29+555-0100&notice=Boil+water+until+Friday",
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    let dash = app.get("/app", key).await;
    assert!(dash.text.contains("Getting started: 5 of 6 steps done"));
    // The notice reaches the customer pages.
    let home = app.get("/alpha", key).await;
    assert!(home.text.contains("Boil water until Friday"));
    // The Stripe step's page explains payments are not configured here.
    let stripe = app.get("/app/stripe", key).await;
    assert_eq!(stripe.status, 200);
    assert!(stripe.text.contains("not configured"));
    // A viewer may not open it.
    let viewer = app.get("/app/stripe", a.viewer_key.expose()).await;
    assert_eq!(viewer.status, 403);
});

db_test!(web_sign_up_page_registers_an_onboarding_association, |db| {
    let app = TestApp::new(db).await;
    let form = app
        .send(
            Request::builder()
                .uri("/sign-up")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(form.status, 200);
    assert!(form.text.contains("name=\"association_name\""));
    let post = |body: &'static str| {
        app.send(
            Request::builder()
                .method(Method::POST)
                .uri("/sign-up")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-forwarded-for", "203.0.113.77")
                .body(Body::from(body))
                .unwrap(),
        )
    };
    let bad = post("association_name=Mesa+Water&slug=Not+A+Slug%21&time_zone=America%2FDenver&admin_email=ana%40mesa.test").await;
    assert_eq!(bad.status, 200);
    assert!(bad.text.contains("class=\"error\""), "{}", bad.text);
    assert!(
        bad.text.contains("value=\"Mesa Water\""),
        "the form keeps what was typed"
    );
    let ok = post("association_name=Mesa+Water&slug=mesa-water&time_zone=America%2FDenver&admin_email=ana%40mesa.test").await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(ok.text.contains("id=\"signed-up\""), "{}", ok.text);
    let t = directory::by_slug(&app.pool, "mesa-water")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.status(), TenantStatus::Onboarding);
    let mail = app.mailer.sent();
    assert!(
        mail.iter()
            .any(|m| m.to == "ana@mesa.test" && m.body.contains("/invite?token=")),
        "the admin is mailed the link"
    );
    let taken = post("association_name=Other&slug=mesa-water&time_zone=America%2FDenver&admin_email=bo%40mesa.test").await;
    assert!(taken.text.contains("taken"), "{}", taken.text);
});

db_test!(web_imports_preview_then_import_with_row_errors, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.admin_key.expose();
    let page = app.get("/app/imports/customers", key).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("enctype=\"multipart/form-data\""));
    let csv = "account_number,holder_name,service_address,service_city,service_state,service_zip,route,sequence,meter_serial,meter_size,meter_unit\n\
               2001,Ana Reyes,12 Mesa Rd,Alamosa,CO,81101,R1,20,M-2001,5/8,gallons\n\
               2002,,14 Mesa Rd,Alamosa,CO,81101,R1,30,M-2002,5/8,gallons\n";
    let preview = upload(
        &app,
        key,
        "/app/imports/customers",
        multipart(&[("mapping", "aqueduct"), ("action", "preview")], Some(csv)),
    )
    .await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert!(
        preview.text.contains("Preview: nothing was saved"),
        "{}",
        preview.text
    );
    assert!(preview.text.contains("id=\"row-errors\""));
    assert!(
        preview.text.contains("<td class=\"num\">3</td>"),
        "line 3 is reported: {}",
        preview.text
    );
    let count = || async {
        let tx = app.pool.tenant(&a.tenant).await.unwrap();
        let n = aqueduct_billing::accounts::count(&tx).await.unwrap();
        tx.commit().await.unwrap();
        n
    };
    assert_eq!(count().await, 1, "a preview saves nothing");
    let imported = upload(
        &app,
        key,
        "/app/imports/customers",
        multipart(&[("mapping", "aqueduct"), ("action", "import")], Some(csv)),
    )
    .await;
    assert!(imported.text.contains(">Imported<"), "{}", imported.text);
    assert_eq!(
        count().await,
        2,
        "the good row is imported, the bad one is not"
    );
    // Reads: pasted rather than a file; an unknown meter is a row error.
    let reads = "meter_serial,read_on,value\nM-2001,2026-10-28,1000\nNOPE,2026-10-28,5\n";
    let r = upload(
        &app,
        key,
        "/app/imports/reads",
        multipart(
            &[
                ("pasted", reads),
                ("mapping", "aqueduct"),
                ("action", "import"),
            ],
            None,
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("id=\"error-count\">1<"), "{}", r.text);
    let empty = upload(
        &app,
        key,
        "/app/imports/reads",
        multipart(&[("action", "import")], None),
    )
    .await;
    assert!(empty.text.contains("Choose a CSV file"));
    // A viewer may not import.
    let viewer = upload(
        &app,
        a.viewer_key.expose(),
        "/app/imports/reads",
        multipart(&[("pasted", reads)], None),
    )
    .await;
    assert_eq!(viewer.status, 403);
});

db_test!(web_upload_forms_carry_the_csrf_token_as_a_part, |db| {
    let (app, _a) = browser::alpha_with(db, "clerk@alpha.test", aqueduct_tenant::Role::Clerk).await;
    let mut b = Browser::default();
    let signed = b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    assert_eq!(signed.status, 200, "{}", signed.text);
    let token = b.csrf.clone().unwrap();
    let mut bare = b.clone();
    bare.csrf = None;
    let reads = "meter_serial,read_on,value\n";
    let post = |b: &Browser, body: String| {
        b.build(Method::POST, "/app/imports/reads")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(body))
            .unwrap()
    };
    let without = post(&bare, multipart(&[("pasted", reads)], None));
    let res = bare.send(&app, without).await;
    assert_eq!(res.status, 403, "no token, no upload: {}", res.text);
    let wrong = post(
        &bare,
        multipart(&[("csrf_token", "nope"), ("pasted", reads)], None),
    );
    assert_eq!(bare.send(&app, wrong).await.status, 403);
    let good = post(
        &bare,
        multipart(
            &[
                ("csrf_token", &token),
                ("pasted", reads),
                ("action", "preview"),
            ],
            None,
        ),
    );
    let res = bare.send(&app, good).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(res.text.contains("Preview: nothing was saved"));
});

db_test!(web_reads_by_route_and_exceptions, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.admin_key.expose();
    let route = app.get("/app/reads?route=R1", key).await;
    assert_eq!(route.status, 200, "{}", route.text);
    let field = format!("v_{}", a.meter);
    assert!(
        route.text.contains(&format!("name=\"{field}\"")),
        "{}",
        route.text
    );
    assert!(
        route.text.contains("125500 on 2026-10-28"),
        "the last read is shown"
    );
    let bad = send(
        &app,
        key,
        Method::POST,
        "/app/reads",
        &format!("route=R1&read_on=2026-11-01&{field}=12x"),
    )
    .await;
    assert!(bad.text.contains("aria-invalid=\"true\""), "{}", bad.text);
    assert!(bad.text.contains("not a whole number"));
    let ok = send(
        &app,
        key,
        Method::POST,
        "/app/reads",
        &format!("route=R1&read_on=2026-11-01&{field}=125500"),
    )
    .await;
    assert!(ok.text.contains("1 read(s) saved"), "{}", ok.text);
    // No use since the last read: an exception.
    let exc = app.get("/app/reads/exceptions", key).await;
    assert_eq!(exc.status, 200);
    assert!(exc.text.contains("no use"), "{}", exc.text);
    let viewer = send(
        &app,
        a.viewer_key.expose(),
        Method::POST,
        "/app/reads",
        "route=R1",
    )
    .await;
    assert_eq!(viewer.status, 403);
});

db_test!(web_rates_calculator_editor_and_impact, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.admin_key.expose();
    let list = app.get("/app/rates", key).await;
    assert!(list.text.contains(&format!("/app/rates/{}", a.schedule)));
    let page = app.get(&format!("/app/rates/{}", a.schedule), key).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("id=\"calculator\""));
    let calc = send(
        &app,
        key,
        Method::POST,
        &format!("/app/rates/{}/calculate", a.schedule),
        "usage=6&unit=thousand_gallons&meter_size=5%2F8&period_start=2026-10-01&period_end=2026-10-31",
    )
    .await;
    assert_eq!(calc.status, 200, "{}", calc.text);
    assert!(calc.text.contains("id=\"calc-total\">$"), "{}", calc.text);
    let wrong = send(
        &app,
        key,
        Method::POST,
        &format!("/app/rates/{}/calculate", a.schedule),
        "usage=lots&unit=thousand_gallons&meter_size=5%2F8&period_start=2026-10-01&period_end=2026-10-31",
    )
    .await;
    assert!(wrong.text.contains("class=\"error\""));
    // The impact report of the schedule as it stands: no change.
    let json = page
        .text
        .split("id=\"impact-schedule\" name=\"schedule\" rows=\"12\" spellcheck=\"false\">")
        .nth(1)
        .and_then(|t| t.split("</textarea>").next())
        .unwrap()
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let enc: String = url::form_urlencoded::byte_serialize(json.as_bytes()).collect();
    let impact = send(
        &app,
        key,
        Method::POST,
        "/app/rates/impact",
        &format!("schedule={enc}"),
    )
    .await;
    assert_eq!(impact.status, 200);
    assert!(
        impact.text.contains("id=\"impact-summary\""),
        "{}",
        impact.text
    );
    let csv = send(
        &app,
        key,
        Method::POST,
        "/app/rates/impact",
        &format!("schedule={enc}&format=csv"),
    )
    .await;
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(csv.text.starts_with("meter_size"), "{}", csv.text);
    let nonsense = send(&app, key, Method::POST, "/app/rates/impact", "schedule=%7B").await;
    assert!(nonsense.text.contains("not valid"));
    // The editor: a new schedule from the JSON, refused for a viewer.
    let created = send(
        &app,
        key,
        Method::POST,
        "/app/rates",
        &format!("name=Second&schedule={enc}"),
    )
    .await;
    assert_eq!(created.status, 303, "{}", created.text);
    let dup = send(
        &app,
        key,
        Method::POST,
        "/app/rates",
        &format!("name=Second&schedule={enc}"),
    )
    .await;
    assert!(dup.text.contains("class=\"error\""));
    let viewer = send(
        &app,
        a.viewer_key.expose(),
        Method::POST,
        "/app/rates",
        "name=x",
    )
    .await;
    assert_eq!(viewer.status, 403);
});

db_test!(web_reports_settings_and_audit_pages, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.admin_key.expose();
    let reports = app.get("/app/reports", key).await;
    assert_eq!(reports.status, 200);
    for link in [
        "aging.csv",
        "general-ledger.csv",
        "payments.csv",
        "consumption.csv",
    ] {
        assert!(reports.text.contains(link), "{link}");
    }
    assert!(
        reports
            .text
            .contains(&format!("/api/v1/bill-runs/{}/register.csv", a.run))
    );
    let settings = app.get("/app/settings", key).await;
    assert_eq!(settings.status, 200, "{}", settings.text);
    assert!(settings.text.contains("Users and roles") && settings.text.contains("API keys"));
    let bad = send(
        &app,
        key,
        Method::POST,
        "/app/settings/late-fee",
        "flat=abc",
    )
    .await;
    assert!(bad.text.contains("class=\"error\""));
    let ok = send(
        &app,
        key,
        Method::POST,
        "/app/settings/late-fee",
        "flat=7.50&percent=1.5&grace_days=10&min_balance=20",
    )
    .await;
    assert_eq!(ok.status, 303, "{}", ok.text);
    let shown = app.get("/app/settings?saved=late+fee", key).await;
    assert!(shown.text.contains("$7.50 plus 1.50 %"), "{}", shown.text);
    let fees = send(
        &app,
        key,
        Method::POST,
        "/app/settings/fees",
        "card_percent=2.5&card_fixed=0.30&bank_percent=0&bank_fixed=1",
    )
    .await;
    assert_eq!(fees.status, 303, "{}", fees.text);
    let too_much = send(
        &app,
        key,
        Method::POST,
        "/app/settings/fees",
        "card_percent=50",
    )
    .await;
    assert!(too_much.text.contains("class=\"error\""));
    let log = app
        .get("/app/audit?action=late_fee_rule.updated", key)
        .await;
    assert_eq!(log.status, 200);
    assert!(log.text.contains("late_fee_rule.updated"), "{}", log.text);
    assert_eq!(
        app.get("/app/settings", a.viewer_key.expose()).await.status,
        403
    );
});

db_test!(web_operator_console_pages, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    // A job that gave up shows on the queue page.
    let tx = app.pool.system("test").await.unwrap();
    aqueduct_jobs::enqueue(
        tx.conn(),
        app.clock.as_ref(),
        aqueduct_jobs::NewJob::new("test.unknown_kind", serde_json::json!({}))
            .for_tenant(a.tenant.id()),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    browser::operator(&app.pool, app.clock.as_ref(), "ops@platform.test").await;
    let mut op = Browser::from_ip("198.51.100.50");
    op.sign_in(&app, "ops@platform.test", PASSWORD).await;
    op.enrol_totp(&app).await;
    let jobs = op.get(&app, "/ops/jobs").await;
    assert_eq!(jobs.status, 200, "{}", jobs.text);
    assert!(jobs.text.contains("id=\"jobs-queued\">1<"), "{}", jobs.text);
    assert!(jobs.text.contains("test.unknown_kind"));
    let backups = op.get(&app, "/ops/backups").await;
    assert_eq!(backups.status, 200, "{}", backups.text);
    assert!(backups.text.contains("none on record"));
    assert!(backups.text.contains("aqueduct backup verify"));
    let audit = op.get(&app, "/ops/audit?tenant=alpha").await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    let settings = op.get(&app, "/ops/settings").await;
    assert!(settings.text.contains("http://aqueduct.test"));
    // Staff are refused the console.
    let staff = app.get("/ops/jobs", a.admin_key.expose()).await;
    assert!(
        staff.status == 401 || staff.status == 403,
        "{}",
        staff.status
    );
});
