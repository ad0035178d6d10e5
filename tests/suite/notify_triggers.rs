//! The scheduled and event triggers of notifications, against the real
//! SMTP server: due-date reminders, past-due and shut-off notices from the
//! daily `billing.notices` job, high-use alerts at bill finalize, the job
//! queue watchdog; one-click unsubscribe; the development sender's honest
//! `logged` status. Each trigger mails once when its job runs twice.

use crate::db_test;
use crate::notifications::{Spec, add_accounts, finalize_november, rows, to, worker};
use crate::support::TestApp;
use crate::support::app::TestResponse;
use crate::support::seed::{self, Seeded};
use crate::support::smtp::{Received, SmtpServer};
use aqueduct_billing::bill_runs::{self, FinalizeOptions, NewRun};
use aqueduct_billing::entity::account;
use aqueduct_billing::{ledger, meters, reads};
use aqueduct_core::{AccountId, BillRunId, Clock};
use aqueduct_jobs::{NewJob, Worker};
use aqueduct_notify::{Kind, NewNotification, Recorded, prefs};
use axum::body::Body;
use chrono::{DateTime, TimeZone, Utc};
use http::Method;
use http::Request;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::json;
use std::sync::Arc;

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 15, 0, 0).unwrap()
}

async fn set_rules(app: &TestApp, s: &Seeded, reminder: Option<i32>, lead: Option<i32>) {
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    prefs::set_settings(
        &tx,
        app.clock.as_ref(),
        prefs::Settings {
            reminder_days_before: reminder,
            shutoff_lead_days: lead,
            ..prefs::Settings::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// Runs the daily notices twice: once through the job queue (the
/// scheduled job's handler), once directly, then delivers.
async fn notices_twice(app: &TestApp, w: &Worker) {
    let tx = app.pool.system("test: enqueue notices").await.unwrap();
    aqueduct_jobs::enqueue(
        tx.conn(),
        app.clock.as_ref(),
        NewJob::new(aqueduct_billing::notices::NOTICES_JOB, json!({})),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    w.run_until_idle().await.unwrap();
    aqueduct_billing::notices::run_all(&app.pool, app.clock.as_ref())
        .await
        .unwrap();
    w.run_until_idle().await.unwrap();
}

fn with_subject(mails: &[Received], addr: &str, needle: &str) -> Vec<Received> {
    to(mails, addr)
        .into_iter()
        .filter(|m| m.subject.contains(needle))
        .collect()
}

db_test!(
    reminders_past_due_and_shutoff_notices_mail_once_and_skip_paid_autopay_opted_out,
    |db| {
        let Some(smtp) = SmtpServer::start() else {
            return;
        };
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let specs: [Spec<'_>; 5] = [
            (Some("unpaid@cust.test"), true),
            (Some("paid@cust.test"), true),
            (Some("autopay@cust.test"), false),
            (Some("optout@cust.test"), true),
            (Some("es@cust.test"), false),
        ];
        let ids = add_accounts(&app, &s, &specs).await;
        finalize_november(&app, &s).await; // due 2026-12-20
        set_rules(&app, &s, Some(7), Some(10)).await;
        let clock = app.clock.as_ref();
        let tx = app.pool.tenant(&s.tenant).await.unwrap();
        // paid: the whole bill paid; autopay on; opted out of reminders;
        // Spanish.
        let owed = ledger::balance(&tx, ids[1]).await.unwrap();
        ledger::post_payment(
            &tx,
            clock,
            ids[1],
            owed,
            "2026-12-01".parse().unwrap(),
            "pi_paid",
        )
        .await
        .unwrap();
        let a = account::Entity::find_by_id((s.tenant.id().uuid(), ids[2].uuid()))
            .one(tx.conn())
            .await
            .unwrap()
            .unwrap();
        let mut a: account::ActiveModel = a.into();
        a.autopay = Set(true);
        a.update(tx.conn()).await.unwrap();
        prefs::set(&tx, clock, ids[3], None, &["due_reminder".into()])
            .await
            .unwrap();
        prefs::set(&tx, clock, ids[4], Some("es"), &[])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let w = worker(&app, &smtp);
        w.run_until_idle().await.unwrap(); // the bill-ready mails

        // Nine days before the due date: outside the 7-day window.
        app.clock.set(at(2026, 12, 11));
        notices_twice(&app, &w).await;
        let mails = smtp.received();
        assert!(
            mails.iter().all(|m| !m.subject.contains("Reminder")),
            "{mails:?}"
        );

        // Five days before: reminders.
        app.clock.set(at(2026, 12, 15));
        notices_twice(&app, &w).await;
        let mails = smtp.received();
        let r = with_subject(&mails, "unpaid@cust.test", "Reminder");
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].text.contains("December 20, 2026"), "{}", r[0].text);
        assert!(
            r[0].list_unsubscribe.contains("/alpha/unsubscribe/"),
            "{:?}",
            r[0]
        );
        for (addr, why) in [
            ("paid@cust.test", "paid"),
            ("autopay@cust.test", "on autopay"),
            ("optout@cust.test", "opted out"),
        ] {
            assert!(
                with_subject(&mails, addr, "Reminder").is_empty(),
                "{why}: {addr} got a reminder"
            );
        }
        let es = with_subject(&mails, "es@cust.test", "Recordatorio");
        assert_eq!(es.len(), 1, "{:?}", to(&mails, "es@cust.test"));
        assert!(
            es[0].text.contains("20 de diciembre de 2026"),
            "{}",
            es[0].text
        );

        // Two days after the due date: past-due notices (also on autopay:
        // its payment did not come), not for the paid account.
        app.clock.set(at(2026, 12, 22));
        notices_twice(&app, &w).await;
        let mails = smtp.received();
        for addr in ["unpaid@cust.test", "autopay@cust.test", "optout@cust.test"] {
            assert_eq!(
                with_subject(&mails, addr, "Past due").len(),
                1,
                "{addr}: {:?}",
                to(&mails, addr)
            );
        }
        assert_eq!(
            with_subject(&mails, "es@cust.test", "Pago vencido").len(),
            1
        );
        assert!(with_subject(&mails, "paid@cust.test", "Past due").is_empty());
        // Essential: no unsubscribe link.
        assert!(
            with_subject(&mails, "unpaid@cust.test", "Past due")[0]
                .list_unsubscribe
                .is_empty()
        );

        // 60+ days overdue: shut-off notices with the lead time.
        app.clock.set(at(2027, 2, 1));
        notices_twice(&app, &w).await;
        let mails = smtp.received();
        let off = with_subject(&mails, "unpaid@cust.test", "disconnection");
        assert_eq!(off.len(), 1, "{:?}", to(&mails, "unpaid@cust.test"));
        assert!(off[0].text.contains("February 11, 2027"), "{}", off[0].text);
        assert!(with_subject(&mails, "paid@cust.test", "disconnection").is_empty());
        assert_eq!(with_subject(&mails, "es@cust.test", "corte").len(), 1);
        // Every row is sent once: no duplicate rows, all delivered.
        let all = rows(&app, &s).await;
        let mut keys: Vec<_> = all
            .iter()
            .map(|r| (r.kind.clone(), r.subject_id.clone(), r.recipient.clone()))
            .collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n);
        assert!(
            all.iter()
                .filter(|r| r.recipient.ends_with("@cust.test"))
                .all(|r| r.status == "sent"),
            "{all:?}"
        );
    }
);

db_test!(
    without_rules_no_reminders_or_shutoff_notices_are_sent,
    |db| {
        let Some(smtp) = SmtpServer::start() else {
            return;
        };
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        add_accounts(&app, &s, &[(Some("norule@cust.test"), true)]).await;
        finalize_november(&app, &s).await;
        let w = worker(&app, &smtp);
        for day in [at(2026, 12, 15), at(2026, 12, 22), at(2027, 2, 1)] {
            app.clock.set(day);
            notices_twice(&app, &w).await;
        }
        let mails = to(&smtp.received(), "norule@cust.test");
        assert!(
            mails
                .iter()
                .all(|m| !m.subject.contains("Reminder") && !m.subject.contains("disconnection")),
            "{mails:?}"
        );
        // Past-due notices are essential and always on.
        assert_eq!(
            with_subject(&mails, "norule@cust.test", "Past due").len(),
            1
        );
    }
);

async fn add_december_read(app: &TestApp, s: &Seeded, serial: &str, value: i64) {
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let meter = meters::by_serial(&tx, serial).await.unwrap().unwrap();
    reads::record(
        &tx,
        app.clock.as_ref(),
        &meter,
        reads::NewRead {
            read_on: "2026-12-28".parse().unwrap(),
            value,
            estimated: false,
            source: reads::ReadSource::Manual,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

db_test!(
    high_use_at_finalize_alerts_once_and_only_the_high_one,
    |db| {
        let Some(smtp) = SmtpServer::start() else {
            return;
        };
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        // November use: 3,000 and 6,000 gallons.
        add_accounts(
            &app,
            &s,
            &[
                (Some("leak@cust.test"), false),
                (Some("usual@cust.test"), true),
            ],
        )
        .await;
        finalize_november(&app, &s).await;
        // December: 40,000 (a leak) and 6,000 (as usual).
        add_december_read(&app, &s, "N-0", 13_000 + 40_000).await;
        add_december_read(&app, &s, "N-1", 16_000 + 6_000).await;
        let tx = app.pool.tenant(&s.tenant).await.unwrap();
        let run = bill_runs::create(
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
        let id = BillRunId::from_uuid(run.id);
        for _ in 0..2 {
            bill_runs::finalize(
                &app.pool,
                &s.tenant,
                app.clock.as_ref(),
                id,
                &FinalizeOptions::default(),
            )
            .await
            .unwrap();
        }
        let w = worker(&app, &smtp);
        w.run_until_idle().await.unwrap();
        let mails = smtp.received();
        let leak = with_subject(&mails, "leak@cust.test", "high water use");
        assert_eq!(leak.len(), 1, "{:?}", to(&mails, "leak@cust.test"));
        assert!(
            leak[0]
                .text
                .contains("40,000 gallons (usually about 3,000 gallons)"),
            "{}",
            leak[0].text
        );
        assert!(!leak[0].list_unsubscribe.is_empty());
        assert!(with_subject(&mails, "usual@cust.test", "high water use").is_empty());
    }
);

db_test!(stuck_queue_mails_the_operator_once_per_incident, |db| {
    use chrono::Duration;
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let app = TestApp::new(db).await;
    let mut config = crate::support::db::config_for(&app.db.app_url);
    config.notify.operator_address = Some("ops@platform.test".into());
    config.notify.queue_stuck_minutes = Some(30);
    let clock = app.clock.as_ref();
    let enqueue_stuck = |name: &'static str| {
        let pool = app.pool.clone();
        let clock = app.clock.clone();
        async move {
            let tx = pool.system("test: a stuck job").await.unwrap();
            aqueduct_jobs::enqueue(tx.conn(), clock.as_ref(), NewJob::new(name, json!({})))
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    };
    enqueue_stuck("test.stuck").await;
    // Fresh: not stuck yet.
    app.clock.advance(Duration::minutes(10));
    assert!(
        !aqueduct_server::schedule::watch_queue(&config, &app.pool, clock)
            .await
            .unwrap()
    );
    // Past the threshold: one mail, however often the watch runs.
    app.clock.advance(Duration::minutes(25));
    assert!(
        aqueduct_server::schedule::watch_queue(&config, &app.pool, clock)
            .await
            .unwrap()
    );
    assert!(
        !aqueduct_server::schedule::watch_queue(&config, &app.pool, clock)
            .await
            .unwrap()
    );
    // Deliver the operator mail (the stuck job has no handler: it ends
    // dead, which is what clears this incident).
    let w = worker(&app, &smtp);
    w.run_until_idle().await.unwrap();
    let ops = to(&smtp.received(), "ops@platform.test");
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert!(ops[0].subject.contains("stuck"), "{}", ops[0].subject);
    assert!(ops[0].text.contains("test.stuck"), "{}", ops[0].text);
    assert!(
        !aqueduct_server::schedule::watch_queue(&config, &app.pool, clock)
            .await
            .unwrap()
    );
    // A new incident mails again.
    enqueue_stuck("test.stuck.again").await;
    app.clock.advance(Duration::minutes(31));
    assert!(
        aqueduct_server::schedule::watch_queue(&config, &app.pool, clock)
            .await
            .unwrap()
    );
    // Off without an operator address.
    config.notify.operator_address = None;
    assert!(
        !aqueduct_server::schedule::watch_queue(&config, &app.pool, clock)
            .await
            .unwrap()
    );
});

fn unsubscribe_path(m: &Received) -> String {
    let url = m
        .list_unsubscribe
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    url.strip_prefix("http://aqueduct.test")
        .unwrap_or_else(|| panic!("unexpected unsubscribe URL {url}"))
        .to_owned()
}

async fn one_click(app: &TestApp, path: &str) -> TestResponse {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("List-Unsubscribe=One-Click"))
        .unwrap();
    app.send(req).await
}

async fn page(app: &TestApp, path: &str) -> TestResponse {
    let req = Request::builder()
        .uri(path)
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    app.send(req).await
}

fn note(kind: Kind, subject: &str, to: &str, account: AccountId) -> NewNotification {
    NewNotification {
        kind,
        subject_id: subject.into(),
        recipient: to.into(),
        account: Some(account),
        data: json!({ "holder": "Ana", "account": "A-1", "amount_cents": 100, "date": "2026-12-20", "usage": "1 gal" }),
    }
}

db_test!(
    one_click_unsubscribe_turns_off_one_kind_only_for_its_own_tenant,
    |db| {
        let Some(smtp) = SmtpServer::start() else {
            return;
        };
        let app = TestApp::new(db).await;
        let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
        let clock = app.clock.as_ref();
        let tx = app.pool.tenant(&a.tenant).await.unwrap();
        aqueduct_notify::record(
            &tx,
            clock,
            note(Kind::DueReminder, "bill:1", "ana@cust.test", a.account),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let tx = app.pool.tenant(&b.tenant).await.unwrap();
        aqueduct_notify::record(
            &tx,
            clock,
            note(Kind::HighUsage, "bill:2", "bob@cust.test", b.account),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let w = worker(&app, &smtp);
        w.run_until_idle().await.unwrap();
        let mails = smtp.received();
        let ana = to(&mails, "ana@cust.test");
        let bob = to(&mails, "bob@cust.test");
        assert_eq!((ana.len(), bob.len()), (1, 1));
        let path = unsubscribe_path(&ana[0]);
        assert!(path.starts_with("/alpha/unsubscribe/"), "{path}");
        assert!(
            ana[0]
                .raw
                .contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
        );

        // The page confirms (English and Spanish) and changes nothing.
        let shown = page(&app, &path).await;
        assert_eq!(shown.status, 200, "{}", shown.text);
        assert!(shown.text.contains("Due-date reminders"), "{}", shown.text);
        assert!(shown.text.contains("100-1"), "{}", shown.text);
        let es = page(&app, &format!("{path}?lang=es")).await;
        assert!(
            es.text.contains("Recordatorios de vencimiento"),
            "{}",
            es.text
        );
        let tx = app.pool.tenant(&a.tenant).await.unwrap();
        assert!(
            prefs::get(&tx, a.account)
                .await
                .unwrap()
                .disabled
                .is_empty()
        );
        tx.commit().await.unwrap();

        // Bravo's token under alpha's slug, or altered: 404, nothing changes.
        let bob_path = unsubscribe_path(&bob[0]);
        let token = bob_path.rsplit('/').next().unwrap();
        let res = one_click(&app, &format!("/alpha/unsubscribe/{token}")).await;
        assert_eq!(res.status, 404, "{}", res.text);
        let mut altered = path.clone();
        altered.push('x');
        assert_eq!(one_click(&app, &altered).await.status, 404);
        let tx = app.pool.tenant(&b.tenant).await.unwrap();
        assert!(
            prefs::get(&tx, b.account)
                .await
                .unwrap()
                .disabled
                .is_empty()
        );
        tx.commit().await.unwrap();

        // One click (as a mail provider sends it: no cookie, no Origin).
        let res = one_click(&app, &path).await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert_eq!(one_click(&app, &path).await.status, 200, "idempotent");
        let tx = app.pool.tenant(&a.tenant).await.unwrap();
        assert_eq!(
            prefs::get(&tx, a.account).await.unwrap().disabled,
            vec!["due_reminder".to_owned()]
        );
        // The next reminder is not recorded; other kinds still are.
        let r = aqueduct_notify::record(
            &tx,
            clock,
            note(Kind::DueReminder, "bill:3", "ana@cust.test", a.account),
        )
        .await
        .unwrap();
        assert_eq!(r, Recorded::OptedOut);
        let r = aqueduct_notify::record(
            &tx,
            clock,
            note(Kind::HighUsage, "bill:3", "ana@cust.test", a.account),
        )
        .await
        .unwrap();
        assert!(matches!(r, Recorded::Queued(_)));
        tx.commit().await.unwrap();

        // A token for an essential kind (mails never carry one, but a
        // forged-by-us one must still be refused).
        let links = app.pool.links().unwrap();
        let essential = aqueduct_notify::unsubscribe::url(
            links,
            "alpha",
            aqueduct_notify::unsubscribe::Target {
                tenant: a.tenant.id(),
                account: a.account,
                kind: Kind::ShutoffNotice,
            },
        );
        let essential = essential.strip_prefix("http://aqueduct.test").unwrap();
        let res = one_click(&app, essential).await;
        assert_eq!(res.status, 422, "{}", res.text);
        let tx = app.pool.tenant(&a.tenant).await.unwrap();
        assert_eq!(
            prefs::get(&tx, a.account).await.unwrap().disabled,
            vec!["due_reminder".to_owned()]
        );
        tx.commit().await.unwrap();
    }
);

db_test!(development_sender_marks_rows_logged_not_sent, |db| {
    let app = TestApp::new(db).await;
    let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let r = aqueduct_notify::record(
        &tx,
        app.clock.as_ref(),
        note(Kind::PastDue, "bill:9", "dev@cust.test", s.account),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let Recorded::Queued(id) = r else {
        panic!("{r:?}")
    };
    let clock: Arc<dyn Clock> = app.clock.clone();
    let w = Worker::new(
        app.pool.clone(),
        clock.clone(),
        aqueduct_server::worker::registry(&app.pool, &clock),
        "dev",
    );
    w.run_until_idle().await.unwrap();
    let row = rows(&app, &s)
        .await
        .into_iter()
        .find(|r| r.id == id)
        .unwrap();
    assert_eq!(row.status, "logged");
    assert!(row.sent_at.is_none());
    // Shown as such to staff, and can be resent once SMTP is configured.
    let list = app
        .get("/api/v1/notifications?status=logged", s.admin_key.expose())
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert!(list.text.contains("\"logged\""), "{}", list.text);
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    aqueduct_notify::outbox::resend(&tx, app.clock.as_ref(), id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
});

db_test!(daily_summary_mails_staff_yesterdays_figures_once, |db| {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let app = TestApp::new(db).await;
    let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let ids = add_accounts(&app, &s, &[(Some("ana@cust.test"), false)]).await;
    app.clock.set(at(2026, 12, 1));
    finalize_november(&app, &s).await;
    let clock = app.clock.as_ref();
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    ledger::post_payment(
        &tx,
        clock,
        ids[0],
        aqueduct_core::Money::usd(1234),
        "2026-12-01".parse().unwrap(),
        "pi_summary",
    )
    .await
    .unwrap();
    let bills = scoped_count(&tx).await;
    tx.commit().await.unwrap();
    let w = worker(&app, &smtp);

    // Not asked for: nothing to staff.
    app.clock.set(at(2026, 12, 2));
    notices_twice(&app, &w).await;
    assert!(
        to(&smtp.received(), "office@alpha.test").is_empty(),
        "no summary unless the association turns it on"
    );

    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let refused = prefs::set_settings(
        &tx,
        clock,
        prefs::Settings {
            daily_summary: Some(true),
            ..prefs::Settings::default()
        },
    )
    .await;
    assert!(refused.is_err(), "a summary needs a staff address");
    for factor in [1, 11] {
        let bad = prefs::set_settings(
            &tx,
            clock,
            prefs::Settings {
                high_usage_factor: Some(factor),
                ..prefs::Settings::default()
            },
        )
        .await;
        assert!(bad.is_err(), "high_usage_factor {factor} is refused");
    }
    prefs::set_settings(
        &tx,
        clock,
        prefs::Settings {
            staff_address: Some("office@alpha.test".into()),
            daily_summary: Some(true),
            ..prefs::Settings::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    notices_twice(&app, &w).await;
    let mails = with_subject(&smtp.received(), "office@alpha.test", "Daily summary");
    assert_eq!(mails.len(), 1, "once, though the job ran twice: {mails:?}");
    let text = &mails[0].text;
    assert!(
        mails[0].subject.contains("December 1, 2026"),
        "{}",
        mails[0].subject
    );
    assert!(text.contains("Payments received: 1 ($12.34)"), "{text}");
    assert!(text.contains(&format!("Bills issued: {bills} (")), "{text}");
    assert!(!text.contains("ana@cust.test"), "no customer data: {text}");
});

/// Bills issued at the test clock's Dec 1 instant (the seed's own bills
/// are older).
async fn scoped_count(tx: &aqueduct_tenant::TenantTx) -> usize {
    let n = aqueduct_tenant::scoped::<aqueduct_billing::entity::bill::Entity>(tx)
        .all(tx.conn())
        .await
        .unwrap()
        .into_iter()
        .filter(|b| b.issued_at == at(2026, 12, 1))
        .count();
    assert!(n > 0, "the November run issued bills");
    n
}

db_test!(overdue_backups_mail_the_operator_once_per_incident, |db| {
    use chrono::Duration;
    use sea_orm::ConnectionTrait;
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let app = TestApp::new(db).await;
    let mut config = crate::support::db::config_for(&app.db.app_url);
    config.notify.operator_address = Some("ops@platform.test".into());
    let clock = app.clock.as_ref();
    let watch = |config: &aqueduct_server::config::Config| {
        let config = config.clone();
        let pool = app.pool.clone();
        let clock = app.clock.clone();
        async move {
            aqueduct_server::schedule::watch_backups(&config, &pool, clock.as_ref())
                .await
                .unwrap()
        }
    };
    // Backups not configured: nothing to watch.
    assert!(!watch(&config).await);
    config.backup.bucket = "aq-backups".into();
    config.backup.key = Some(aqueduct_core::Secret::new("k1:x".to_owned()));
    // Configured, but the schedule has not fired yet: nothing.
    assert!(!watch(&config).await);
    let tx = app.pool.system("test: a backup run").await.unwrap();
    aqueduct_jobs::enqueue(
        tx.conn(),
        clock,
        NewJob::new(aqueduct_server::schedule::BACKUP, json!({})),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    app.clock.advance(Duration::hours(30));
    assert!(
        !watch(&config).await,
        "within a day and a half of the schedule"
    );
    app.clock.advance(Duration::hours(7));
    assert!(watch(&config).await, "37 hours without a good backup");
    assert!(!watch(&config).await, "once per incident");
    // A backup succeeds; 37 hours later without another: a new incident.
    let done = app.clock.now();
    let owner = app.db.owner().await;
    let sql = match owner.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "UPDATE jobs SET status = 'done', updated_at = $1 WHERE kind = $2"
        }
        _ => "UPDATE jobs SET status = 'done', updated_at = ? WHERE kind = ?",
    };
    owner
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            owner.get_database_backend(),
            sql,
            [done.into(), aqueduct_server::schedule::BACKUP.into()],
        ))
        .await
        .unwrap();
    app.clock.advance(Duration::hours(20));
    assert!(!watch(&config).await);
    app.clock.advance(Duration::hours(17));
    assert!(watch(&config).await);
    let w = worker(&app, &smtp);
    w.run_until_idle().await.unwrap();
    let ops = to(&smtp.received(), "ops@platform.test");
    assert_eq!(ops.len(), 2, "{ops:?}");
    assert!(
        ops.iter().any(|m| m
            .text
            .contains("No successful backup since backups were scheduled")),
        "{ops:?}"
    );
    assert!(
        ops.iter()
            .any(|m| m.text.contains("No successful backup for 37 hours")),
        "{ops:?}"
    );
});
