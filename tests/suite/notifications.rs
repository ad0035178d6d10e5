//! Notifications against a real SMTP server (aiosmtpd, started per test):
//! the outbox commits with the event or not at all, every message arrives
//! once, temporary failures are retried, permanent ones marked, templates
//! speak the customer's language, and nothing secret or foreign leaks.

use crate::db_test;
use crate::support::TestApp;
use crate::support::seed::{self, Seeded};
use crate::support::smtp::{Received, SmtpServer};
use aqueduct_billing::accounts::{self, AccountNumber, NewAccount};
use aqueduct_billing::bill_runs::{self, FinalizeOptions, NewRun};
use aqueduct_billing::entity::bill;
use aqueduct_billing::locations::{self, NewLocation};
use aqueduct_billing::meters::{self, NewMeter};
use aqueduct_billing::reads::{self, NewRead, ReadSource};
use aqueduct_core::{AccountId, BillRunId, Clock, LocationId};
use aqueduct_jobs::Worker;
use aqueduct_notify::entity::notification;
use aqueduct_notify::{Kind, NewNotification, Recorded};
use aqueduct_tenant::scoped;
use http::Method;
use sea_orm::QueryOrder;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// A customer to create: (email, paperless).
pub(crate) type Spec<'a> = (Option<&'a str>, bool);

/// Adds accounts that bill in November 2026; returns their ids in order.
pub(crate) async fn add_accounts(app: &TestApp, s: &Seeded, specs: &[Spec<'_>]) -> Vec<AccountId> {
    let clock = app.clock.as_ref();
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let opened = "2020-01-01".parse().unwrap();
    let mut ids = Vec::new();
    for (i, (email, paperless)) in specs.iter().enumerate() {
        let loc = locations::create(
            &tx,
            clock,
            NewLocation {
                address_line1: format!("{i} Notify St"),
                address_line2: None,
                city: "Springfield".into(),
                state: "IL".into(),
                postal_code: "62701".into(),
                route: Some("R1".into()),
                sequence: Some(i32::try_from(100 - i).unwrap()),
            },
        )
        .await
        .unwrap();
        let acct = accounts::create(
            &tx,
            clock,
            NewAccount {
                number: AccountNumber::parse(&format!("300-{i}")).unwrap(),
                holder_name: format!("Customer {i}"),
                email: email.map(str::to_owned),
                phone: None,
                mailing: None,
                opened_on: opened,
                paperless: *paperless,
            },
        )
        .await
        .unwrap();
        let (aid, lid) = (AccountId::from_uuid(acct.id), LocationId::from_uuid(loc.id));
        locations::move_in(&tx, aid, lid, opened).await.unwrap();
        let meter = meters::create(
            &tx,
            NewMeter {
                location: lid,
                serial: format!("N-{i}"),
                size: "5/8\"".into(),
                unit: "gallons".into(),
                register_digits: 6,
                multiplier: 1,
                installed_on: opened,
            },
        )
        .await
        .unwrap();
        for (on, value) in [
            ("2026-10-28", 10_000),
            (
                "2026-11-27",
                10_000 + 3_000 * (i64::try_from(i).unwrap() + 1),
            ),
        ] {
            reads::record(
                &tx,
                clock,
                &meter,
                NewRead {
                    read_on: on.parse().unwrap(),
                    value,
                    estimated: false,
                    source: ReadSource::Manual,
                },
            )
            .await
            .unwrap();
        }
        ids.push(aid);
    }
    tx.commit().await.unwrap();
    ids
}

pub(crate) async fn finalize_november(app: &TestApp, s: &Seeded) -> BillRunId {
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let run = bill_runs::create(
        &tx,
        app.clock.as_ref(),
        NewRun {
            schedule: s.schedule,
            period_start: "2026-11-01".parse().unwrap(),
            period_end: "2026-11-30".parse().unwrap(),
            due_on: "2026-12-20".parse().unwrap(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let id = BillRunId::from_uuid(run.id);
    bill_runs::finalize(
        &app.pool,
        &s.tenant,
        app.clock.as_ref(),
        id,
        &FinalizeOptions {
            batch_size: 2,
            ..FinalizeOptions::default()
        },
    )
    .await
    .unwrap();
    id
}

pub(crate) fn worker(app: &TestApp, smtp: &SmtpServer) -> Worker {
    let clock: Arc<dyn Clock> = app.clock.clone();
    let registry =
        aqueduct_server::worker::registry_with(&app.pool, &clock, Arc::new(smtp.sender()));
    Worker::new(app.pool.clone(), clock, registry, "notify-test")
}

pub(crate) async fn rows(app: &TestApp, s: &Seeded) -> Vec<notification::Model> {
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let r = scoped::<notification::Entity>(&tx)
        .order_by_asc(notification::Column::CreatedAt)
        .all(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    r
}

pub(crate) fn to(mails: &[Received], addr: &str) -> Vec<Received> {
    mails
        .iter()
        .filter(|m| m.rcpt_tos.iter().any(|r| r == addr))
        .cloned()
        .collect()
}

db_test!(
    finalized_run_mails_one_bill_ready_per_paperless_customer,
    |db| {
        let Some(smtp) = SmtpServer::start() else {
            return;
        };
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let specs: [Spec<'_>; 5] = [
            (Some("p0@cust.test"), true),
            (Some("p1@cust.test"), true),
            (Some("paper@cust.test"), false),
            (None, true),
            (Some("p4@cust.test"), true),
        ];
        let ids = add_accounts(&app, &s, &specs).await;
        finalize_november(&app, &s).await;
        let w = worker(&app, &smtp);
        w.run_until_idle().await.unwrap();
        // A second finalize of the same cycle, and another pass: nothing new.
        finalize_november_again(&app, &s).await;
        w.run_until_idle().await.unwrap();
        let mails = smtp.received();
        let tx = app.pool.tenant(&s.tenant).await.unwrap();
        let bills = scoped::<bill::Entity>(&tx).all(tx.conn()).await.unwrap();
        tx.commit().await.unwrap();
        for (i, (email, paperless)) in specs.iter().enumerate() {
            let Some(email) = email else { continue };
            let got = to(&mails, email);
            if !paperless {
                assert!(got.is_empty(), "a paper customer got mail");
                continue;
            }
            assert_eq!(got.len(), 1, "{email}: {got:?}");
            let b = bills
                .iter()
                .find(|b| b.account_id == ids[i].uuid())
                .expect("a bill");
            let amount =
                aqueduct_notify::format::money(b.total_cents, aqueduct_notify::format::Locale::En);
            assert!(
                got[0].subject.contains(&amount),
                "{} lacks {amount}",
                got[0].subject
            );
            assert!(got[0].text.contains("December 20, 2026"), "{}", got[0].text);
            assert!(got[0].html.contains(&amount));
            assert!(
                got[0].from.contains("alpha water association"),
                "{}",
                got[0].from
            );
            assert!(got[0].message_id.contains("@mail.aqueduct.test"));
            // Essential: no List-Unsubscribe.
            assert!(got[0].list_unsubscribe.is_empty());
        }
        let bill_ready: Vec<_> = rows(&app, &s)
            .await
            .into_iter()
            .filter(|r| r.kind == "bill_ready")
            .collect();
        assert_eq!(bill_ready.len(), 3);
        assert!(
            bill_ready
                .iter()
                .all(|r| r.status == "sent" && r.sent_at.is_some())
        );
        // A non-essential kind carries List-Unsubscribe.
        let tx = app.pool.tenant(&s.tenant).await.unwrap();
        aqueduct_notify::record(
            &tx,
            app.clock.as_ref(),
            note(Kind::HighUsage, "usage:1", "p0@cust.test", Some(ids[0])),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        w.run_until_idle().await.unwrap();
        let alert = to(&smtp.received(), "p0@cust.test")
            .into_iter()
            .find(|m| m.subject.contains("high water use"))
            .expect("the alert");
        assert!(
            alert
                .list_unsubscribe
                .contains("http://aqueduct.test/alpha/unsubscribe/"),
            "{alert:?}"
        );
        assert!(
            alert
                .raw
                .contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{}",
            alert.raw
        );
    }
);

async fn finalize_november_again(app: &TestApp, s: &Seeded) {
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let run = scoped::<aqueduct_billing::entity::bill_run::Entity>(&tx)
        .order_by_desc(aqueduct_billing::entity::bill_run::Column::PeriodStart)
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    bill_runs::finalize(
        &app.pool,
        &s.tenant,
        app.clock.as_ref(),
        BillRunId::from_uuid(run.id),
        &FinalizeOptions::default(),
    )
    .await
    .unwrap();
}

fn note(kind: Kind, subject: &str, to: &str, account: Option<AccountId>) -> NewNotification {
    NewNotification {
        kind,
        subject_id: subject.into(),
        recipient: to.into(),
        account,
        data: json!({ "holder": "Ana", "account": "A-1", "amount_cents": 12_345, "date": "2026-12-20" }),
    }
}

db_test!(
    rolled_back_transaction_sends_nothing_and_duplicates_collapse,
    |db| {
        let Some(smtp) = SmtpServer::start() else {
            return;
        };
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let clock = app.clock.as_ref();
        let tx = app.pool.tenant(&s.tenant).await.unwrap();
        let r = aqueduct_notify::record(
            &tx,
            clock,
            note(Kind::PastDue, "x:1", "gone@cust.test", None),
        )
        .await
        .unwrap();
        assert!(matches!(r, Recorded::Queued(_)));
        tx.rollback().await.unwrap();
        let tx = app.pool.tenant(&s.tenant).await.unwrap();
        let first = aqueduct_notify::record(
            &tx,
            clock,
            note(Kind::PastDue, "x:2", "once@cust.test", None),
        )
        .await
        .unwrap();
        let again = aqueduct_notify::record(
            &tx,
            clock,
            note(Kind::PastDue, "x:2", "once@cust.test", None),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert!(matches!(first, Recorded::Queued(_)));
        assert_eq!(again, Recorded::Duplicate);
        let w = worker(&app, &smtp);
        w.run_until_idle().await.unwrap();
        // A resend of a sent message does not mail again.
        let Recorded::Queued(id) = first else {
            unreachable!()
        };
        let tx = app.pool.tenant(&s.tenant).await.unwrap();
        assert!(
            aqueduct_notify::outbox::resend(&tx, clock, id)
                .await
                .is_err()
        );
        tx.commit().await.unwrap();
        w.run_until_idle().await.unwrap();
        let mails = smtp.received();
        assert!(to(&mails, "gone@cust.test").is_empty());
        assert_eq!(to(&mails, "once@cust.test").len(), 1);
        assert!(
            rows(&app, &s)
                .await
                .iter()
                .all(|r| r.recipient != "gone@cust.test")
        );
    }
);

db_test!(
    smtp_down_mid_batch_is_retried_without_duplicates_or_losses,
    |db| {
        let Some(smtp) = SmtpServer::start_with(Some(2)) else {
            return;
        };
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let clock = app.clock.as_ref();
        let addrs: Vec<String> = (0..6).map(|i| format!("batch{i}@cust.test")).collect();
        let tx = app.pool.tenant(&s.tenant).await.unwrap();
        for (i, a) in addrs.iter().enumerate() {
            aqueduct_notify::record(&tx, clock, note(Kind::PastDue, &format!("b:{i}"), a, None))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let w = worker(&app, &smtp);
        // The server accepts two messages, then goes away.
        let stats = w.run_until_idle().await.unwrap();
        smtp.wait_exit();
        assert!(stats.retried >= 1, "{stats:?}");
        let before = smtp.received().len();
        assert_eq!(before, 2, "the server took two before stopping");
        let waiting = rows(&app, &s)
            .await
            .into_iter()
            .filter(|r| r.status == "failed_temporary")
            .count();
        assert!(waiting >= 4, "{waiting} waiting");
        // Back up; later the retries go through.
        smtp.resume_with(None);
        app.clock.advance(chrono::Duration::hours(2));
        w.run_until_idle().await.unwrap();
        let mails = smtp.received();
        let mut per: HashMap<String, usize> = HashMap::new();
        for m in &mails {
            for r in &m.rcpt_tos {
                *per.entry(r.clone()).or_default() += 1;
            }
        }
        for a in &addrs {
            assert_eq!(per.get(a).copied(), Some(1), "{a}: {per:?}");
        }
        let ids: std::collections::HashSet<_> =
            mails.iter().map(|m| m.message_id.clone()).collect();
        assert_eq!(ids.len(), mails.len(), "a Message-ID was sent twice");
        assert!(
            rows(&app, &s)
                .await
                .iter()
                .filter(|r| !r.subject_id.starts_with("seed:"))
                .all(|r| r.status == "sent")
        );
    }
);

db_test!(a_5xx_for_one_address_fails_only_that_one, |db| {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let app = TestApp::new(db).await;
    let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let clock = app.clock.as_ref();
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    for (i, a) in ["ok1@cust.test", "reject@cust.test", "ok2@cust.test"]
        .iter()
        .enumerate()
    {
        aqueduct_notify::record(&tx, clock, note(Kind::PastDue, &format!("r:{i}"), a, None))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    worker(&app, &smtp).run_until_idle().await.unwrap();
    let by: HashMap<_, _> = rows(&app, &s)
        .await
        .into_iter()
        .map(|r| (r.recipient.clone(), r))
        .collect();
    assert_eq!(by["ok1@cust.test"].status, "sent");
    assert_eq!(by["ok2@cust.test"].status, "sent");
    let bad = &by["reject@cust.test"];
    assert_eq!(bad.status, "failed_permanent");
    assert!(
        bad.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("550"),
        "{bad:?}"
    );
    assert!(to(&smtp.received(), "reject@cust.test").is_empty());
    // Staff see it in the list.
    let res = app
        .get(
            "/api/v1/notifications?status=failed_permanent",
            s.viewer_key.expose(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let list = res.json();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["recipient"], "reject@cust.test");
});

db_test!(
    spanish_customer_gets_spanish_and_can_opt_out_of_reminders_only,
    |db| {
        let Some(smtp) = SmtpServer::start() else {
            return;
        };
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let ids = add_accounts(&app, &s, &[(Some("ana@cust.test"), true)]).await;
        let path = format!("/api/v1/accounts/{}/notification-preferences", ids[0]);
        // Essential kinds cannot be turned off.
        let refused = app
            .request(
                Method::PUT,
                &path,
                Some(s.admin_key.expose()),
                Some(json!({ "locale": "es", "disabled": ["shutoff_notice"] })),
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.text);
        let ok = app
            .request(
                Method::PUT,
                &path,
                Some(s.admin_key.expose()),
                Some(json!({ "locale": "es", "disabled": ["due_reminder"] })),
            )
            .await;
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(
            app.get(&path, s.viewer_key.expose()).await.json()["locale"],
            "es"
        );
        let clock = app.clock.as_ref();
        let tx = app.pool.tenant(&s.tenant).await.unwrap();
        let off = aqueduct_notify::record(
            &tx,
            clock,
            note(Kind::DueReminder, "d:1", "ana@cust.test", Some(ids[0])),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(off, Recorded::OptedOut);
        finalize_november(&app, &s).await;
        worker(&app, &smtp).run_until_idle().await.unwrap();
        let got = to(&smtp.received(), "ana@cust.test");
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].subject.starts_with("Su factura"),
            "{}",
            got[0].subject
        );
        assert!(got[0].subject.contains(" $"), "{}", got[0].subject);
        assert!(
            got[0].text.contains("20 de diciembre de 2026"),
            "{}",
            got[0].text
        );
        assert!(got[0].html.contains("lang=\"es\""));
    }
);

db_test!(mails_hold_no_secrets_and_no_other_tenants_data, |db| {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    add_accounts(
        &app,
        &a,
        &[(Some("a0@cust.test"), true), (Some("a1@cust.test"), true)],
    )
    .await;
    finalize_november(&app, &a).await;
    worker(&app, &smtp).run_until_idle().await.unwrap();
    let mails = smtp.received();
    assert!(mails.len() >= 2, "{}", mails.len());
    let secrets = [
        a.admin_key.expose().to_owned(),
        b.admin_key.expose().to_owned(),
        "sk_".to_owned(),
        "whsec_".to_owned(),
    ];
    for m in &mails {
        for s in &secrets {
            assert!(!m.raw.contains(s.as_str()), "a secret in {}", m.subject);
        }
        // No run of 13+ digits (a card number) anywhere.
        let mut run = 0;
        for c in m.text.chars().chain(m.html.chars()) {
            run = if c.is_ascii_digit() { run + 1 } else { 0 };
            assert!(run < 13, "a long digit run in {}", m.subject);
        }
        if m.rcpt_tos.iter().any(|r| r.starts_with("canary-bravo")) {
            assert!(m.raw.contains("bravo water association"));
            continue;
        }
        assert!(!m.raw.contains(&b.marker), "tenant B's data in A's mail");
        assert!(
            !m.raw.to_lowercase().contains("bravo"),
            "tenant B's name in A's mail"
        );
    }
    // The staff list of A never shows B's rows.
    let res = app
        .get("/api/v1/notifications", a.viewer_key.expose())
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(!res.text.contains(&b.marker));
    assert!(res.text.contains("a0@cust.test"));
});

db_test!(payment_webhook_twice_mails_one_receipt, |db| {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let mut e = crate::payments::env(
        db,
        aqueduct_stripe_sim::DeliveryOptions {
            deliver_twice: true,
            ..aqueduct_stripe_sim::DeliveryOptions::default()
        },
    )
    .await;
    e.worker = worker(&e.app, &smtp);
    e.onboard(&e.a).await;
    e.pay_with(&e.a, 7_000, "pay").await;
    e.drain().await;
    let any = e.sim.events_of_type("payment_intent.succeeded")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    e.control(&format!("/_sim/events/{any}/resend"), "").await;
    e.drain().await;
    let holder = format!("{}@example.com", e.a.marker.to_lowercase());
    let receipts: Vec<_> = to(&smtp.received(), &holder)
        .into_iter()
        .filter(|m| m.subject.contains("Payment received"))
        .collect();
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    assert!(
        receipts[0].subject.contains("$70.00"),
        "{}",
        receipts[0].subject
    );
});

/// Sets the association's staff address through the admin route.
async fn set_staff_address(app: &TestApp, s: &Seeded, addr: &str) {
    let res = app
        .request(
            Method::PUT,
            "/api/v1/notification-settings",
            Some(s.admin_key.expose()),
            Some(json!({ "staff_address": addr, "default_locale": "en" })),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
}

db_test!(notification_settings_route_sets_the_staff_address, |db| {
    let app = TestApp::new(db).await;
    let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let path = "/api/v1/notification-settings";
    let empty = app.get(path, s.viewer_key.expose()).await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert!(empty.json()["staff_address"].is_null(), "{}", empty.text);
    // A viewer cannot change them.
    let body = json!({ "staff_address": "office@alpha.test" });
    let denied = app
        .request(
            Method::PUT,
            path,
            Some(s.viewer_key.expose()),
            Some(body.clone()),
        )
        .await;
    assert_eq!(denied.status, 403, "{}", denied.text);
    // Not an address; not a language; an unknown field.
    for bad in [
        json!({ "staff_address": "not an address" }),
        json!({ "default_locale": "fr" }),
    ] {
        let res = app
            .request(Method::PUT, path, Some(s.admin_key.expose()), Some(bad))
            .await;
        assert_eq!(res.status, 422, "{}", res.text);
    }
    let unknown = app
        .request(
            Method::PUT,
            path,
            Some(s.admin_key.expose()),
            Some(json!({ "staff": "x@y.test" })),
        )
        .await;
    assert!(unknown.status.is_client_error(), "{}", unknown.text);
    let ok = app
        .request(
            Method::PUT,
            path,
            Some(s.admin_key.expose()),
            Some(json!({ "staff_address": "office@alpha.test", "reply_to": "help@alpha.test", "default_locale": "es" })),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let got = app.get(path, s.viewer_key.expose()).await.json();
    assert_eq!(got["staff_address"], "office@alpha.test");
    assert_eq!(got["reply_to"], "help@alpha.test");
    assert_eq!(got["default_locale"], "es");
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    assert_eq!(
        aqueduct_notify::outbox::staff_recipient(&tx).await.unwrap(),
        Some("office@alpha.test".into())
    );
    tx.commit().await.unwrap();
});

db_test!(finalized_run_mails_staff_one_summary_with_counts, |db| {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let app = TestApp::new(db).await;
    let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    set_staff_address(&app, &s, "office@alpha.test").await;
    add_accounts(
        &app,
        &s,
        &[(Some("p0@cust.test"), true), (None, false), (None, true)],
    )
    .await;
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let run = bill_runs::create(
        &tx,
        app.clock.as_ref(),
        NewRun {
            schedule: s.schedule,
            period_start: "2026-11-01".parse().unwrap(),
            period_end: "2026-11-30".parse().unwrap(),
            due_on: "2026-12-20".parse().unwrap(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let id = BillRunId::from_uuid(run.id);
    let options = FinalizeOptions {
        batch_size: 2,
        ..FinalizeOptions::default()
    };
    let report = bill_runs::finalize(&app.pool, &s.tenant, app.clock.as_ref(), id, &options)
        .await
        .unwrap();
    // The seeded account has no November read: one exception.
    assert_eq!(report.billed, 3);
    assert_eq!(report.exceptions.len(), 1, "{:?}", report.exceptions);
    // Finalizing again (a retry) does not tell staff twice.
    bill_runs::finalize(&app.pool, &s.tenant, app.clock.as_ref(), id, &options)
        .await
        .unwrap();
    let w = worker(&app, &smtp);
    w.run_until_idle().await.unwrap();
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let total: i64 = scoped::<bill::Entity>(&tx)
        .all(tx.conn())
        .await
        .unwrap()
        .iter()
        .filter(|b| b.bill_run_id == run.id)
        .map(|b| b.total_cents)
        .sum();
    tx.commit().await.unwrap();
    let staff = to(&smtp.received(), "office@alpha.test");
    assert_eq!(staff.len(), 1, "{staff:?}");
    let m = &staff[0];
    assert!(
        m.subject.contains("Bill run finished: 3 bills"),
        "{}",
        m.subject
    );
    let amount = aqueduct_notify::format::money(total, aqueduct_notify::format::Locale::En);
    assert!(
        m.text.contains(&format!("Total billed: {amount}")),
        "{}",
        m.text
    );
    assert!(
        m.text.contains("Exceptions: 1 (1 missing_read)"),
        "{}",
        m.text
    );
    let kinds: Vec<_> = rows(&app, &s)
        .await
        .into_iter()
        .filter(|r| r.kind == "bill_run_finished")
        .collect();
    assert_eq!(kinds.len(), 1);
    assert_eq!(kinds[0].status, "sent");
});

db_test!(stripe_requirements_mail_staff_once_per_set, |db| {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let mut e = crate::payments::env(db, aqueduct_stripe_sim::DeliveryOptions::default()).await;
    e.worker = worker(&e.app, &smtp);
    set_staff_address(&e.app, &e.a, "office@alpha.test").await;
    // Onboarding itself (requirements due before the form is submitted)
    // does not alarm staff.
    let acct = e.onboard(&e.a).await;
    assert!(to(&smtp.received(), "office@alpha.test").is_empty());
    let path = format!("/_sim/accounts/{acct}/requirements");
    let due = r#"{"currently_due":["individual.verification.document","external_account"]}"#;
    let (code, text) = e.control(&path, due).await;
    assert_eq!(code, 200, "{text}");
    e.drain().await;
    // The same set again (in another order): no second mail.
    let same =
        r#"{"currently_due":["external_account"],"past_due":["individual.verification.document"]}"#;
    e.control(&path, same).await;
    e.drain().await;
    let staff = to(&smtp.received(), "office@alpha.test");
    assert_eq!(staff.len(), 1, "{staff:?}");
    assert!(
        staff[0].subject.contains("Stripe account needs attention"),
        "{}",
        staff[0].subject
    );
    assert!(
        staff[0]
            .text
            .contains("external_account, individual.verification.document"),
        "{}",
        staff[0].text
    );
    // A disabled account is a new situation: one more mail.
    let disabled = r#"{"past_due":["external_account"],"disabled_reason":"requirements.past_due"}"#;
    e.control(&path, disabled).await;
    e.drain().await;
    e.control(&path, disabled).await;
    e.drain().await;
    let staff = to(&smtp.received(), "office@alpha.test");
    assert_eq!(staff.len(), 2, "{staff:?}");
    assert!(
        staff
            .iter()
            .any(|m| m.text.contains("disabled: requirements.past_due")),
        "{staff:?}"
    );
    // Requirements met: nothing more.
    e.control(&path, "{}").await;
    e.drain().await;
    assert_eq!(to(&smtp.received(), "office@alpha.test").len(), 2);
});

db_test!(failed_scheduled_backup_mails_the_operator_once, |db| {
    use aqueduct_core::{ManualClock, Secret};
    use chrono::{Duration, TimeZone, Utc};
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let pool = db.app_pool(2).await;
    let mut config = crate::support::db::config_for(&db.app_url);
    config.schedule.hour_utc = 3;
    config.schedule.max_attempts = 1;
    // An unusable key: the backup fails at once, without any storage.
    config.backup.bucket = "b".into();
    config.backup.key = Some(Secret::new("not-a-key"));
    config.notify.operator_address = Some("ops@platform.test".into());
    let manual = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 2, 2, 50, 0).unwrap(),
    ));
    let clock: Arc<dyn Clock> = manual.clone();
    let schedules = aqueduct_server::schedule::schedules(&config);
    let registry = aqueduct_server::schedule::register(
        aqueduct_server::worker::registry_with(&pool, &clock, Arc::new(smtp.sender())),
        &config,
        &pool,
        &clock,
    );
    let w = Worker::new(pool.clone(), clock.clone(), registry, "ops-test");
    // Before the hour (nothing due), then after it.
    aqueduct_jobs::tick_schedules(&pool, clock.as_ref(), &schedules)
        .await
        .unwrap();
    manual.advance(Duration::minutes(20));
    aqueduct_jobs::tick_schedules(&pool, clock.as_ref(), &schedules)
        .await
        .unwrap();
    w.run_until_idle().await.unwrap();
    w.run_until_idle().await.unwrap();
    let ops = to(&smtp.received(), "ops@platform.test");
    let runs = aqueduct_server::schedule::recent(&pool, aqueduct_server::schedule::Job::Backup, 5)
        .await
        .unwrap();
    assert_eq!(ops.len(), 1, "{ops:?} {runs:?}");
    assert!(
        ops[0].subject.contains("backup failed"),
        "{}",
        ops[0].subject
    );
    assert!(
        ops[0].text.contains("no successful backup on record"),
        "{}",
        ops[0].text
    );
    assert!(
        ops[0].message_id.contains("operator."),
        "{}",
        ops[0].message_id
    );
    // The same failure reported again is not queued again.
    let runs = aqueduct_server::schedule::recent(&pool, aqueduct_server::schedule::Job::Backup, 5)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    let tx = pool.system("test").await.unwrap();
    let job_id = {
        use sea_orm::{ConnectionTrait, Statement};
        let backend = tx.conn().get_database_backend();
        let row = tx
            .conn()
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT dedupe_key FROM jobs WHERE kind = 'notify.operator'",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<String>("", "dedupe_key").unwrap()
    };
    let subject = job_id
        .strip_prefix("backup_failed:")
        .and_then(|s| s.strip_suffix(":ops@platform.test"))
        .expect("dedupe key kind:subject:recipient")
        .to_owned();
    let again = aqueduct_notify::operator::record(
        tx.conn(),
        clock.as_ref(),
        Kind::BackupFailed,
        &subject,
        "ops@platform.test",
        json!({}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(!again, "a second report of the same failure was queued");
    w.run_until_idle().await.unwrap();
    assert_eq!(to(&smtp.received(), "ops@platform.test").len(), 1);
    // The next day's failed run is a new failure: one more mail.
    manual.advance(Duration::days(1));
    aqueduct_jobs::tick_schedules(&pool, clock.as_ref(), &schedules)
        .await
        .unwrap();
    w.run_until_idle().await.unwrap();
    w.run_until_idle().await.unwrap();
    assert_eq!(to(&smtp.received(), "ops@platform.test").len(), 2);
    // No association's mail went to the operator, nor theirs to anyone else.
    assert!(
        smtp.received()
            .iter()
            .all(|m| m.rcpt_tos == ["ops@platform.test"])
    );
});
