//! The customer portal and the page foundation: one answer for every failed
//! look-up, the amount only after number + ZIP match, throttling, suspended
//! notice, branding, English/Spanish, CSP and versioned assets.

use crate::db_test;
use crate::support::app::TestResponse;
use crate::support::{TestApp, seed};
use aqueduct_tenant::{TenantStatus, directory};
use axum::body::Body;
use http::{Method, Request};
use serde_json::json;

async fn page(app: &TestApp, path: &str, lang: Option<&str>) -> TestResponse {
    let mut req = Request::builder().uri(path).header("accept", "text/html");
    if let Some(l) = lang {
        req = req.header("accept-language", l);
    }
    app.send(req.body(Body::empty()).unwrap()).await
}

async fn form(app: &TestApp, path: &str, body: &str) -> TestResponse {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-for", "203.0.113.9")
        .body(Body::from(body.to_owned()))
        .unwrap();
    app.send(req).await
}

fn error_text(html: &str) -> &str {
    let start = html.find("class=\"error\"").expect("an error message");
    &html[start..start + html[start..].find("</p>").unwrap()]
}

db_test!(
    web_find_bill_needs_number_and_zip_and_answers_one_way,
    |db| {
        let app = TestApp::new(db).await;
        let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let home = page(&app, "/alpha", None).await;
        assert_eq!(home.status, 200);
        assert!(home.text.contains("name=\"account_number\""));
        assert!(!home.text.contains("type=\"password\""));

        let wrong_zip = form(&app, "/alpha/find", "account_number=100-1&zip=99999").await;
        let unknown = form(&app, "/alpha/find", "account_number=777-7&zip=62701").await;
        let malformed = form(&app, "/alpha/find", "account_number=%3Cx%3E&zip=abc").await;
        for r in [&wrong_zip, &unknown, &malformed] {
            assert_eq!(r.status, 200);
            assert!(!r.text.contains("amount-due"), "no amount without a match");
            assert!(!r.text.contains(&a.marker));
        }
        assert_eq!(error_text(&wrong_zip.text), error_text(&unknown.text));
        assert_eq!(error_text(&wrong_zip.text), error_text(&malformed.text));

        let ok = form(&app, "/alpha/find", "account_number=100-1&zip=62701-1234").await;
        assert_eq!(ok.status, 200);
        assert!(ok.text.contains("id=\"amount-due\""), "{}", ok.text);
        assert!(
            !ok.text.contains(&a.marker),
            "the holder's name is not shown"
        );
        assert!(ok.text.contains("action=\"/alpha/pay\""));
        for card in ["cc-number", "cc-csc", "cvc", "card_number"] {
            assert!(!ok.text.contains(card), "no card field: {card}");
        }
        // No Stripe on this server: paying says so instead of failing.
        let pay = form(
        &app,
        "/alpha/pay",
        "account_number=100-1&zip=62701&attempt=0123456789abcdef0123456789abcdef&amount=other&other_amount=25",
    )
    .await;
        assert_eq!(pay.status, 200);
        assert!(pay.text.contains("not available"), "{}", pay.text);
        let too_small = form(
        &app,
        "/alpha/pay",
        "account_number=100-1&zip=62701&attempt=0123456789abcdef0123456789abcdef&amount=other&other_amount=0.50",
    )
    .await;
        assert!(too_small.text.contains("at least $1.00"));
    }
);

db_test!(web_find_bill_is_throttled, |db| {
    let app = TestApp::new(db).await;
    seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let mut last = None;
    for _ in 0..9 {
        last = Some(form(&app, "/alpha/find", "account_number=100-1&zip=11111").await);
    }
    assert_eq!(last.unwrap().status, 429);
    // Even the right ZIP is refused while the window lasts.
    let right = form(&app, "/alpha/find", "account_number=100-1&zip=62701").await;
    assert_eq!(right.status, 429);
    assert!(!right.text.contains("amount-due"));
});

db_test!(web_suspended_association_shows_the_notice, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let tx = app.pool.system("test: suspend").await.unwrap();
    directory::set_status(
        &tx,
        app.clock.as_ref(),
        a.tenant.id(),
        TenantStatus::Suspended,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let home = page(&app, "/alpha", None).await;
    assert_eq!(home.status, 200);
    assert!(home.text.contains("temporarily unavailable"));
    assert!(!home.text.contains("name=\"account_number\""));
    let es = page(&app, "/alpha", Some("es-MX,es;q=0.9")).await;
    assert!(es.text.contains("no está disponible"));
    let find = form(&app, "/alpha/find", "account_number=100-1&zip=62701").await;
    assert!(!find.text.contains("amount-due"));
});

db_test!(web_pages_speak_spanish_and_remember_it, |db| {
    let app = TestApp::new(db).await;
    seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let es = page(&app, "/alpha", Some("es-ES,es;q=0.9,en;q=0.5")).await;
    assert!(es.text.contains("<html lang=\"es\">"));
    assert!(es.text.contains("Pague su factura de agua"));
    let en = page(&app, "/alpha/privacy", Some("en-US")).await;
    assert!(en.text.contains("<html lang=\"en\">") && en.text.contains("never sold"));
    let switched = page(&app, "/alpha/security?lang=es", Some("en-US")).await;
    assert!(switched.text.contains("Declaración de seguridad"));
    let cookie = switched.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("aqueduct-lang=es;"), "{cookie}");
});

db_test!(web_branding_shows_on_customer_pages, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    let body = json!({
        "colour": "#0B4F6C",
        "contact_phone": "555-0100",
        "contact_email": "office@alpha.test",
        "contact_address": "1 Main St\nMon–Fri 9–5",
        "notice": "Boil water <notice> until Friday",
    });
    let put = app
        .request(
            Method::PUT,
            "/api/v1/branding",
            Some(a.admin_key.expose()),
            Some(body.clone()),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.json()["colour"], "#0b4f6c");
    let light = app
        .request(
            Method::PUT,
            "/api/v1/branding",
            Some(a.admin_key.expose()),
            Some(json!({ "colour": "#ffee00" })),
        )
        .await;
    assert_eq!(light.status, 422);
    let home = page(&app, "/alpha", None).await;
    assert!(home.text.contains("Boil water "));
    assert!(!home.text.contains("<notice>"), "the notice is escaped");
    assert!(home.text.contains("555-0100"));
    assert!(home.text.contains("/alpha/theme.css?c=0b4f6c"));
    let theme = page(&app, "/alpha/theme.css", None).await;
    assert!(theme.text.contains("--brand: #0b4f6c"));
    let contact = page(&app, "/alpha/contact", None).await;
    assert!(contact.text.contains("office@alpha.test"));
    // The other association is untouched.
    let other = page(&app, "/bravo", None).await;
    assert!(!other.text.contains("Boil water"));
    let got = app.get("/api/v1/branding", b.admin_key.expose()).await;
    assert_eq!(got.json()["notice"], serde_json::Value::Null);
});

db_test!(
    web_receipt_shows_the_payment_state_only_in_its_association,
    |db| {
        let app = TestApp::new(db).await;
        let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
        let mine = page(
            &app,
            &format!("/alpha/pay/{}/done?session=cs_x", a.payment),
            None,
        )
        .await;
        assert_eq!(mine.status, 200, "{}", mine.text);
        assert!(mine.text.contains("status-pending"));
        // Reached by URL alone: the account number is masked.
        assert!(!mine.text.contains("100-1") && mine.text.contains("••••0-1"));
        assert!(mine.text.contains("data-poll=\"3\"") && mine.text.contains("/static/poll."));
        let other = page(&app, &format!("/bravo/pay/{}", a.payment), None).await;
        assert_eq!(other.status, 404);
    }
);

db_test!(web_headers_assets_and_layout, |db| {
    let app = TestApp::new(db).await;
    seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let home = page(&app, "/alpha", None).await;
    let csp = home.headers["content-security-policy"].to_str().unwrap();
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert!(home.text.contains("class=\"skip\" href=\"#main\""));
    assert!(home.text.contains("<main id=\"main\""));
    let css_url = home
        .text
        .split("href=\"")
        .find(|s| s.starts_with("/static/app."))
        .map(|s| &s[..s.find('"').unwrap()])
        .expect("a versioned stylesheet")
        .to_owned();
    let css = page(&app, &css_url, None).await;
    assert_eq!(css.status, 200);
    assert!(
        css.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(css.text.contains(":focus-visible"));
    assert_eq!(page(&app, "/static/app.0000.css", None).await.status, 404);
    // The shared frame still serves the other pages (sign-in, errors).
    let login = page(&app, "/login", None).await;
    assert!(login.text.contains(&css_url) && login.text.contains("name=\"password\""));
    let missing = page(&app, "/nowhere-at-all", None).await;
    assert_eq!(missing.status, 404);
    assert!(missing.text.contains("<main id=\"main\""));
});

db_test!(web_workspace_pages_render_for_staff, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.viewer_key.expose();
    let get = |path: String| {
        let req = Request::builder()
            .uri(path)
            .header("authorization", format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap();
        app.send(req)
    };
    let dash = get("/app".into()).await;
    assert_eq!(dash.status, 200, "{}", dash.text);
    assert!(dash.text.contains("Receivables") && dash.text.contains("Last bill run"));
    let list = get("/app/accounts?q=100".into()).await;
    assert!(list.text.contains(&format!("/app/accounts/{}", a.account)));
    assert!(list.text.contains(&a.marker));
    let none = get("/app/accounts?q=zzz-nothing".into()).await;
    assert!(none.text.contains("No accounts match"));
    let detail = get(format!("/app/accounts/{}", a.account)).await;
    assert_eq!(detail.status, 200);
    for part in [
        "Ledger",
        "Bills",
        "Payments",
        "Meters and reads",
        "id=\"balance\"",
    ] {
        assert!(detail.text.contains(part), "{part}");
    }
    let pay = get(format!("/app/payments/{}", a.payment)).await;
    assert_eq!(pay.status, 200);
    // A viewer sees no refund form (and the route refuses a viewer).
    assert!(!pay.text.contains("/refund\""));
    assert!(
        get("/app/payments".into())
            .await
            .text
            .contains(&a.payment.to_string())
    );
    assert_eq!(get("/app/bill-runs".into()).await.status, 200);
    // Without credentials: 401, never the page.
    let anon = page(&app, "/app", None).await;
    assert_eq!(anon.status, 401);
    assert!(!anon.text.contains("Receivables"));
});

db_test!(
    web_bill_runs_are_created_and_finalized_from_the_workspace,
    |db| {
        let app = TestApp::new(db).await;
        let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let key = a.admin_key.expose();
        let send = |method: Method, path: String, body: &str| {
            let req = Request::builder()
                .method(method)
                .uri(path)
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body.to_owned()))
                .unwrap();
            app.send(req)
        };
        let list = send(Method::GET, "/app/bill-runs".into(), "").await;
        assert!(
            list.text.contains(&a.schedule.to_string()),
            "the form offers the schedule"
        );
        let bad = send(Method::POST, "/app/bill-runs".into(), "schedule_id=x").await;
        assert_eq!(bad.status, 200);
        assert!(bad.text.contains("class=\"error\""));
        let created = send(
            Method::POST,
            "/app/bill-runs".into(),
            &format!(
                "schedule_id={}&period_start=2026-11-01&period_end=2026-11-30&due_on=2026-12-20",
                a.schedule
            ),
        )
        .await;
        assert_eq!(created.status, 303, "{}", created.text);
        let run_page = created.headers["location"].to_str().unwrap().to_owned();
        let shown = send(Method::GET, run_page.clone(), "").await;
        assert_eq!(shown.status, 200, "{}", shown.text);
        assert!(shown.text.contains("id=\"run-status\" data-live>draft"));
        assert!(shown.text.contains("/finalize\""));
        let attempt = "0123456789abcdef0123456789abcdef";
        let fin = send(
            Method::POST,
            format!("{run_page}/finalize"),
            &format!("attempt={attempt}"),
        )
        .await;
        assert_eq!(fin.status, 303);
        // The request only enqueues a durable job: the run shows the
        // progress bar until a worker has finalized it.
        let waiting = send(Method::GET, run_page.clone(), "").await;
        assert!(
            waiting
                .text
                .contains("id=\"run-status\" data-live>finalizing"),
            "{}",
            waiting.text
        );
        assert!(waiting.text.contains("<progress"));
        // A double submit of the same form is one job.
        let again = send(
            Method::POST,
            format!("{run_page}/finalize"),
            &format!("attempt={attempt}"),
        )
        .await;
        assert_eq!(again.status, 303);
        let stats = aqueduct_jobs::stats(&app.pool, app.clock.as_ref())
            .await
            .unwrap();
        assert_eq!(stats.queued, 1, "one finalize job waits");
        let clock: std::sync::Arc<dyn aqueduct_core::Clock> = app.clock.clone();
        let worker = aqueduct_jobs::Worker::new(
            app.pool.clone(),
            clock.clone(),
            aqueduct_server::worker::registry(&app.pool, &clock),
            "web-test",
        );
        let ran = worker.run_until_idle().await.unwrap();
        assert_eq!((ran.done, ran.dead), (1, 0), "{ran:?}");
        let p = send(Method::GET, run_page.clone(), "").await;
        assert!(
            p.text.contains("id=\"run-status\" data-live>finalized"),
            "{}",
            p.text
        );
        assert!(!p.text.contains("/finalize\""), "no second finalize");
        assert!(!p.text.contains("<progress"));
    }
);

db_test!(web_finalize_job_resumes_an_interrupted_run, |db| {
    use aqueduct_billing::bill_runs::{self, FinalizeOptions, NewRun};
    use aqueduct_billing::entity::bill;
    use aqueduct_tenant::scoped;
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    // November's read, so the run has a bill to issue.
    let meter = aqueduct_billing::meters::get(&tx, a.meter).await.unwrap();
    aqueduct_billing::reads::record(
        &tx,
        app.clock.as_ref(),
        &meter,
        aqueduct_billing::reads::NewRead {
            read_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            value: 130_000,
            estimated: false,
            source: aqueduct_billing::reads::ReadSource::Manual,
        },
    )
    .await
    .unwrap();
    let run = bill_runs::create(
        &tx,
        app.clock.as_ref(),
        NewRun {
            schedule: a.schedule,
            period_start: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            period_end: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            due_on: chrono::NaiveDate::from_ymd_opt(2026, 12, 20).unwrap(),
        },
    )
    .await
    .unwrap();
    let id = aqueduct_core::BillRunId::from_uuid(run.id);
    aqueduct_billing::finalize_job::enqueue(&tx, app.clock.as_ref(), id, "k1")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // The process that was finalizing died before its first batch
    // committed (the job row is all that is left of the request).
    let stopped = bill_runs::finalize(
        &app.pool,
        &a.tenant,
        app.clock.as_ref(),
        id,
        &FinalizeOptions {
            batch_size: 1,
            stop_after_batches: Some(0),
            ..FinalizeOptions::default()
        },
    )
    .await;
    assert!(matches!(
        stopped,
        Err(aqueduct_billing::BillingError::Interrupted)
    ));
    let count = || async {
        let tx = app.pool.tenant(&a.tenant).await.unwrap();
        let n = scoped::<bill::Entity>(&tx)
            .filter(bill::Column::BillRunId.eq(run.id))
            .count(tx.conn())
            .await
            .unwrap();
        let status = bill_runs::get(&tx, id).await.unwrap().status;
        tx.commit().await.unwrap();
        (n, status)
    };
    let (partial, status) = count().await;
    assert_eq!(status, "finalizing");
    // A worker started after the restart picks the durable job up.
    let clock: std::sync::Arc<dyn aqueduct_core::Clock> = app.clock.clone();
    let worker = aqueduct_jobs::Worker::new(
        app.pool.clone(),
        clock.clone(),
        aqueduct_server::worker::registry(&app.pool, &clock),
        "after-restart",
    );
    let ran = worker.run_until_idle().await.unwrap();
    assert_eq!((ran.claimed, ran.done), (1, 1), "{ran:?}");
    let (all, status) = count().await;
    assert_eq!(status, "finalized");
    assert_eq!(partial, 0);
    assert_eq!(all, 1, "the worker issued the bill");
    // The job is done, not waiting or dead.
    let stats = aqueduct_jobs::stats(&app.pool, app.clock.as_ref())
        .await
        .unwrap();
    assert_eq!((stats.queued, stats.running, stats.dead), (0, 0, 0));
});
