//! The staff dashboard (`/app`, issue 7): receivables and aging computed by
//! the database (`aging::totals`, equal to the in-memory `aging::aging` of
//! each account, summed), the next payout and the exceptions waiting —
//! each association seeing only its own figures.

use crate::db_test;
use crate::support::{TestApp, seed};
use aqueduct_billing::accounts::{self, AccountNumber, NewAccount};
use aqueduct_billing::aging::{self, Aging};
use aqueduct_billing::bill_runs::{self, NewRun};
use aqueduct_billing::ledger::{self, EntryKind, NewEntry};
use aqueduct_core::{AccountId, Clock, Money};
use chrono::{Days, NaiveDate};
use std::collections::HashMap;

fn usd(cents: i64) -> String {
    Money::usd(cents).to_string()
}

async fn account(app: &TestApp, s: &seed::Seeded, number: &str) -> AccountId {
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let a = accounts::create(
        &tx,
        app.clock.as_ref(),
        NewAccount {
            number: AccountNumber::parse(number).unwrap(),
            holder_name: format!("Holder {number}"),
            email: None,
            phone: None,
            mailing: None,
            opened_on: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            paperless: false,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    AccountId::from_uuid(a.id)
}

/// Posts `kind` of `cents` on the day `days` before today (negative: after).
async fn post(
    app: &TestApp,
    s: &seed::Seeded,
    account: AccountId,
    kind: EntryKind,
    cents: i64,
    days: i64,
) {
    let today = app.clock.now().date_naive();
    let on = if days >= 0 {
        today.checked_sub_days(Days::new(days.unsigned_abs()))
    } else {
        today.checked_add_days(Days::new(days.unsigned_abs()))
    }
    .unwrap();
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    ledger::post(
        &tx,
        app.clock.as_ref(),
        NewEntry {
            account,
            kind,
            amount: Money::usd(cents),
            effective_on: on,
            external_id: None,
            bill: None,
            memo: format!("{kind:?} {days} days ago"),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// The in-memory aging of every account of the association, summed.
async fn in_memory(app: &TestApp, s: &seed::Seeded, as_of: NaiveDate) -> Aging {
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let entries = ledger::all(&tx).await.unwrap();
    tx.commit().await.unwrap();
    let mut by_account: HashMap<uuid::Uuid, Vec<_>> = HashMap::new();
    for e in entries {
        by_account.entry(e.account_id).or_default().push(e);
    }
    let mut sum = Aging::default();
    for es in by_account.values() {
        let a = aging::aging(es, as_of);
        sum.current += a.current;
        sum.days_30 += a.days_30;
        sum.days_60 += a.days_60;
        sum.days_90_plus += a.days_90_plus;
        sum.total += a.total;
    }
    sum
}

async fn in_sql(app: &TestApp, s: &seed::Seeded, as_of: NaiveDate) -> Aging {
    let tx = app.pool.tenant(&s.tenant).await.unwrap();
    let a = aging::totals(&tx, as_of).await.unwrap();
    tx.commit().await.unwrap();
    a
}

/// Entries in every bucket, on the bucket edges, several on one day,
/// partial and over-payments (a credit balance), refunds, write-offs and
/// an entry dated in the future.
async fn ledger_fixture(app: &TestApp, s: &seed::Seeded, prefix: &str, scale: i64) {
    use EntryKind::*;
    let b = account(app, s, &format!("{prefix}-2")).await;
    for (kind, cents, days) in [
        (Charge, 3_000, 5),
        (Charge, 1_250, 5),
        (Charge, 2_000, 29),
        (Charge, 4_000, 30),
        (Charge, 4_500, 59),
        (LateFee, 500, 60),
        (Charge, 6_000, 89),
        (Charge, 7_000, 90),
        (Charge, 8_000, 200),
        // Settles the 200-day charge and 5,000 of the 90-day one.
        (Payment, 13_000, 3),
        (Charge, 9_999, -10),
    ] {
        post(app, s, b, kind, cents * scale, days).await;
    }
    // A credit balance: paid more than billed.
    let c = account(app, s, &format!("{prefix}-3")).await;
    for (kind, cents, days) in [(Charge, 1_000, 100), (Payment, 1_500, 40), (Credit, 200, 2)] {
        post(app, s, c, kind, cents * scale, days).await;
    }
    // A refund raises the balance again; a write-off and a credit lower it.
    let d = account(app, s, &format!("{prefix}-4")).await;
    for (kind, cents, days) in [
        (Charge, 5_000, 75),
        (Payment, 5_000, 70),
        (Refund, 1_200, 45),
        (Charge, 2_200, 10),
        (WriteOff, 700, 1),
        (Adjustment, 300, 0),
    ] {
        post(app, s, d, kind, cents * scale, days).await;
    }
}

db_test!(aging_in_sql_equals_the_in_memory_aging, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    ledger_fixture(&app, &a, "200", 1).await;
    // Another association's ledger must not count.
    ledger_fixture(&app, &b, "200", 7).await;
    let today = app.clock.now().date_naive();
    let got = in_sql(&app, &a, today).await;
    let want = in_memory(&app, &a, today).await;
    assert_eq!(got, want);
    // The fixture reaches every bucket (and a credit balance offsets
    // `current`, so the buckets are checked one by one).
    assert!(
        got.current != 0 && got.days_30 != 0 && got.days_60 != 0 && got.days_90_plus != 0,
        "{got:?}"
    );
    assert_eq!(
        got.total,
        got.current + got.days_30 + got.days_60 + got.days_90_plus
    );
    // Other days move charges between buckets (and take in or leave out
    // the future-dated one): the same numbers every time.
    for days in [-400_i64, -45, -11, -10, 1, 29, 30, 31, 60, 90, 365] {
        let as_of = if days >= 0 {
            today.checked_sub_days(Days::new(days.unsigned_abs()))
        } else {
            today.checked_add_days(Days::new(days.unsigned_abs()))
        }
        .unwrap();
        assert_eq!(
            in_sql(&app, &a, as_of).await,
            in_memory(&app, &a, as_of).await,
            "as of {as_of}"
        );
        assert_eq!(
            in_sql(&app, &b, as_of).await,
            in_memory(&app, &b, as_of).await,
            "bravo as of {as_of}"
        );
    }
    // An association with no ledger at all: zeros.
    let empty = crate::support::seed::tenant(&app.pool, app.clock.as_ref(), "charlie").await;
    let long_ago = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    assert_eq!(in_sql(&app, &empty, long_ago).await, Aging::default());
});

db_test!(
    dashboard_shows_aging_next_payout_and_exceptions_of_its_own_association,
    |db| {
        let app = TestApp::new(db).await;
        let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
        ledger_fixture(&app, &a, "200", 1).await;
        ledger_fixture(&app, &b, "200", 7).await;
        let key = a.viewer_key.expose();
        let today = app.clock.now().date_naive();

        // Aging, from the database, equal to the in-memory figures.
        let want = in_memory(&app, &a, today).await;
        let page = app.get("/app", key).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let t = &page.text;
        for (id, cents) in [
            ("receivable-total", want.total),
            ("aging-current", want.current),
            ("aging-30", want.days_30),
            ("aging-60", want.days_60),
            ("aging-90", want.days_90_plus),
        ] {
            assert!(
                t.contains(&format!("id=\"{id}\">{}<", usd(cents))),
                "{id}: {t}"
            );
        }
        let theirs = in_memory(&app, &b, today).await;
        assert_ne!(theirs.total, want.total);
        assert!(!t.contains(&usd(theirs.total)), "bravo's receivables shown");
        assert!(!t.contains(&b.marker));

        // The seeded payout ($42.00, in transit, arriving 2027-01-15) is
        // the next one; a paid one and a later pending one are not.
        for (id, amount, status, arrival) in [
            ("po_alpha_paid", 99_100, "paid", 1_790_000_000_i64),
            ("po_alpha_later", 77_700, "pending", 1_900_000_000),
        ] {
            aqueduct_payments::payouts::record(
                &app.pool,
                &a.tenant,
                app.clock.as_ref(),
                &serde_json::json!({"id": id, "object": "payout", "amount": amount,
                    "currency": "usd", "status": status, "arrival_date": arrival}),
            )
            .await
            .unwrap();
        }
        // Bravo's next payout is sooner and bigger: never on alpha's page.
        aqueduct_payments::payouts::record(
            &app.pool,
            &b.tenant,
            app.clock.as_ref(),
            &serde_json::json!({"id": "po_bravo_soon", "object": "payout", "amount": 123_456,
                "currency": "usd", "status": "in_transit", "arrival_date": 1_795_000_000}),
        )
        .await
        .unwrap();
        let page = app.get("/app", key).await;
        let next = page
            .text
            .split("id=\"next-payout\"")
            .nth(1)
            .and_then(|t| t.split("</section>").next())
            .unwrap()
            .to_owned();
        assert!(
            next.contains(&format!("href=\"/app/payouts/{}\">$42.00<", a.payout)),
            "{next}"
        );
        assert!(next.contains("in transit, expected 2027-01-15"), "{next}");
        assert!(!next.contains("$1,234.56") && !next.contains("$991.00"));
        assert!(!next.contains("$777.00"));

        // Once it is paid, the pending one is next; with none left, "None
        // scheduled".
        let seeded_po = format!("po_seed_{}", a.marker.to_lowercase().replace('-', "_"));
        aqueduct_payments::payouts::record(
            &app.pool,
            &a.tenant,
            app.clock.as_ref(),
            &serde_json::json!({"id": seeded_po, "object": "payout", "amount": 4_200,
                "currency": "usd", "status": "paid", "arrival_date": 1_800_000_000}),
        )
        .await
        .unwrap();
        let page = app.get("/app", key).await;
        assert!(
            // (A payout is recorded in transit: Stripe's "pending" is the same for us.)
            page.text.contains(">$777.00<")
                && page.text.contains("in transit, expected 2030-03-17"),
            "{}",
            page.text
        );
        aqueduct_payments::payouts::record(
            &app.pool,
            &a.tenant,
            app.clock.as_ref(),
            &serde_json::json!({"id": "po_alpha_later", "object": "payout", "amount": 77_700,
                "currency": "usd", "status": "failed", "arrival_date": 1_900_000_000,
                "failure_message": "account closed"}),
        )
        .await
        .unwrap();
        let page = app.get("/app", key).await;
        let next = page
            .text
            .split("id=\"next-payout\"")
            .nth(1)
            .and_then(|t| t.split("</section>").next())
            .unwrap()
            .to_owned();
        assert!(next.contains("None scheduled."), "{next}");
        let theirs = app.get("/app", b.viewer_key.expose()).await;
        assert!(theirs.text.contains(">$1,234.56<"), "{}", theirs.text);

        // Exceptions: nothing waits at first (the October run is final and
        // the seeded meter was read five days ago).
        let page = app.get("/app", key).await;
        assert!(
            page.text.contains(
                "href=\"/app/reads/exceptions\" id=\"read-exceptions-count\"><strong>0</strong>"
            ),
            "{}",
            page.text
        );
        assert!(page.text.contains("run-exceptions-none"));
        // A meter never read is a read exception; bravo gets two.
        seed::extra_meter(&app.pool, &a, "SN-NEVER-A").await;
        seed::extra_meter(&app.pool, &b, "SN-NEVER-B1").await;
        seed::extra_meter(&app.pool, &b, "SN-NEVER-B2").await;
        // A November run not finalized: the seeded account has no November
        // read, so its preview lists one exception. Bravo's draft run has
        // the same, and must not show up on alpha's page.
        let mut runs = Vec::new();
        for s in [&a, &b] {
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
            runs.push(run.id);
        }
        // The counts are those of the lists they link to: the run page's
        // exception rows (every active account without a November read or
        // a meter: the seeded one and the fixture's three).
        let run = app.get(&format!("/app/bill-runs/{}", runs[0]), key).await;
        assert_eq!(run.status, 200);
        let run_rows = run
            .text
            .split("<h2>Exceptions</h2>")
            .nth(1)
            .unwrap()
            .matches("<tr><td>")
            .count();
        assert_eq!(run_rows, 4, "{}", run.text);
        let list = app.get("/app/reads/exceptions", key).await;
        assert_eq!(list.text.matches("never read").count(), 1, "{}", list.text);
        let page = app.get("/app", key).await;
        let t = &page.text;
        assert!(
            t.contains("id=\"read-exceptions-count\"><strong>1</strong> read exception<"),
            "{t}"
        );
        assert!(
            t.contains(&format!(
                "href=\"/app/bill-runs/{}\" class=\"run-exceptions-count\"><strong>{run_rows}</strong> in the bill run 2026-11-01 – 2026-11-30<",
                runs[0]
            )),
            "{t}"
        );
        assert!(
            !t.contains(&runs[1].to_string()),
            "bravo's run on alpha's page"
        );
        let theirs = app.get("/app", b.viewer_key.expose()).await;
        assert!(
            theirs
                .text
                .contains("id=\"read-exceptions-count\"><strong>2</strong> read exceptions<"),
            "{}",
            theirs.text
        );
    }
);
