//! The retention job with an injected clock: what is past its period is
//! anonymised, what is not (or is on hold) is untouched, a dry run changes
//! nothing, and every purge is audited with counts only.

use crate::db_test;
use crate::support::app::t0;
use crate::support::seed;
use aqueduct_billing::accounts::{self, AccountNumber, MailingAddress, NewAccount};
use aqueduct_billing::entity::account;
use aqueduct_core::{AccountId, Clock, ManualClock};
use aqueduct_retention::RetentionError;
use aqueduct_retention::holds::{self, HoldScope};
use aqueduct_retention::job::{self, ANONYMISED};
use aqueduct_retention::policy::{self, Limits};
use aqueduct_tenant::{Db, TenantCtx, audit, scoped};
use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, IntoActiveModel, QueryFilter};

/// Creates an account with every personal field filled, closed at `closed`.
async fn account(
    db: &Db,
    clock: &dyn Clock,
    ctx: &TenantCtx,
    number: &str,
    marker: &str,
    closed: Option<DateTime<Utc>>,
) -> AccountId {
    let tx = db.tenant(ctx).await.unwrap();
    let a = accounts::create(
        &tx,
        clock,
        NewAccount {
            number: AccountNumber::parse(number).unwrap(),
            holder_name: format!("Holder {marker}"),
            email: Some(format!("{}@example.com", marker.to_lowercase())),
            phone: Some("555-0100".into()),
            mailing: Some(MailingAddress {
                line1: format!("9 {marker} Rd"),
                line2: Some("Apt 2".into()),
                city: "Springfield".into(),
                state: "IL".into(),
                postal_code: "62701".into(),
            }),
            opened_on: NaiveDate::from_ymd_opt(2010, 1, 1).unwrap(),
            paperless: false,
        },
    )
    .await
    .unwrap();
    let id = a.id;
    let mut am = a.into_active_model();
    am.notes = Set(Some(format!("note about {marker}")));
    am.co_holder_name = Set(Some(format!("Co {marker}")));
    if let Some(at) = closed {
        am.status = Set("closed".into());
        am.closed_at = Set(Some(at));
    }
    am.update(tx.conn()).await.unwrap();
    tx.commit().await.unwrap();
    AccountId::from_uuid(id)
}

async fn row(db: &Db, ctx: &TenantCtx, id: AccountId) -> account::Model {
    let tx = db.tenant(ctx).await.unwrap();
    let r = scoped::<account::Entity>(&tx)
        .filter(account::Column::Id.eq(id.uuid()))
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap();
    tx.rollback().await.unwrap();
    r
}

async fn all_rows(db: &Db, ctx: &TenantCtx) -> Vec<account::Model> {
    let tx = db.tenant(ctx).await.unwrap();
    let r = scoped::<account::Entity>(&tx).all(tx.conn()).await.unwrap();
    tx.rollback().await.unwrap();
    r
}

async fn audit_entries(db: &Db, ctx: &TenantCtx, action: &str) -> Vec<String> {
    let tx = db.tenant(ctx).await.unwrap();
    let r = audit::recent(&tx, 500).await.unwrap();
    tx.rollback().await.unwrap();
    r.into_iter()
        .filter(|e| e.action == action)
        .map(|e| {
            format!(
                "{} {}",
                e.target.unwrap_or_default(),
                e.details.unwrap_or_default()
            )
        })
        .collect()
}

fn years_ago(now: DateTime<Utc>, y: u32) -> DateTime<Utc> {
    now.checked_sub_months(Months::new(12 * y)).unwrap()
}

fn untouched(r: &account::Model, marker: &str) {
    assert!(r.holder_name.contains(marker), "{r:?}");
    assert!(r.email.is_some() && r.notes.is_some() && r.mailing_line1.is_some());
}

db_test!(retention_anonymises_what_is_past_its_period, |db| {
    let pool = db.app_pool(3).await;
    let clock = ManualClock::new(t0());
    let now = clock.now();
    let limits = Limits::default();
    let alpha = seed::tenant(&pool, &clock, "alpha").await;
    let beta = seed::tenant(&pool, &clock, "beta").await;
    let a = &alpha.tenant;
    let m = &alpha.marker;
    let due = account(
        &pool,
        &clock,
        a,
        "200-1",
        &format!("{m}-DUE"),
        Some(years_ago(now, 7) - Duration::days(1)),
    )
    .await;
    let young = account(
        &pool,
        &clock,
        a,
        "200-2",
        &format!("{m}-YOUNG"),
        Some(years_ago(now, 7) + Duration::days(1)),
    )
    .await;
    let held = account(
        &pool,
        &clock,
        a,
        "200-3",
        &format!("{m}-HELD"),
        Some(years_ago(now, 9)),
    )
    .await;
    let open = account(&pool, &clock, a, "200-4", &format!("{m}-OPEN"), None).await;
    let beta_old = account(
        &pool,
        &clock,
        &beta.tenant,
        "300-1",
        &format!("{}-OLD", beta.marker),
        Some(years_ago(now, 10)),
    )
    .await;

    // Holds: one account of alpha, the whole of beta.
    let tx = pool.tenant(a).await.unwrap();
    let hold = holds::set(
        &tx,
        &clock,
        "user:counsel",
        HoldScope::Account(held),
        "Smith v. Alpha WA",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let tx = pool.tenant(&beta.tenant).await.unwrap();
    holds::set(
        &tx,
        &clock,
        "user:counsel",
        HoldScope::Association,
        "state audit 2026-14",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // Dry run: the report says what would happen, nothing changes.
    let before_a = all_rows(&pool, a).await;
    let before_b = all_rows(&pool, &beta.tenant).await;
    let reports = job::run(&pool, &clock, &limits, true).await.unwrap();
    let ra = reports.iter().find(|r| r.slug == "alpha").unwrap();
    assert_eq!(
        (ra.anonymised, ra.held, ra.policy_years, ra.dry_run),
        (1, 1, 7, true)
    );
    let rb = reports.iter().find(|r| r.slug == "beta").unwrap();
    assert!(rb.association_held);
    assert_eq!((rb.anonymised, rb.held), (0, 1));
    assert_eq!(all_rows(&pool, a).await, before_a);
    assert_eq!(all_rows(&pool, &beta.tenant).await, before_b);
    assert!(audit_entries(&pool, a, "retention.purge").await.is_empty());
    // The platform-access entry of a dry run says it was a dry run.
    let platform = platform_actions(&db).await;
    assert_eq!(platform, ["platform.retention.dry_run"], "{platform:?}");

    // The real run.
    let reports = job::run(&pool, &clock, &limits, false).await.unwrap();
    let ra = reports.iter().find(|r| r.slug == "alpha").unwrap();
    assert_eq!((ra.anonymised, ra.held), (1, 1));
    let steps: Vec<(&str, u64)> = ra.steps.iter().map(|(n, c)| (n.as_str(), *c)).collect();
    assert_eq!(
        steps,
        [
            ("accounts", 1),
            ("notifications", 0),
            ("notification_preferences", 0),
            ("autopay_mandates", 0),
            ("customer_links", 0)
        ]
    );
    let r = row(&pool, a, due).await;
    assert_eq!(r.holder_name, ANONYMISED);
    assert_eq!(
        (
            r.co_holder_name.as_deref(),
            r.email.as_deref(),
            r.phone.as_deref(),
            r.notes.as_deref()
        ),
        (None, None, None, None)
    );
    assert!(
        r.mailing_line1.is_none() && r.mailing_city.is_none() && r.mailing_postal_code.is_none()
    );
    assert!(
        r.account_number.starts_with("h:") && r.account_number.len() <= 32,
        "{}",
        r.account_number
    );
    assert!(!format!("{r:?}").contains(m.as_str()), "{r:?}");
    assert_eq!(r.status, "closed");
    untouched(&row(&pool, a, young).await, "YOUNG");
    untouched(&row(&pool, a, held).await, "HELD");
    untouched(&row(&pool, a, open).await, "OPEN");
    untouched(&row(&pool, &beta.tenant, beta_old).await, "OLD");

    // One audit entry with counts and nothing personal.
    let purges = audit_entries(&pool, a, "retention.purge").await;
    assert_eq!(purges.len(), 1, "{purges:?}");
    assert!(
        purges[0].contains("\"accounts_anonymised\":1"),
        "{}",
        purges[0]
    );
    assert!(!purges[0].contains(m.as_str()) && !purges[0].contains("200-1"));
    assert!(
        audit_entries(&pool, &beta.tenant, "retention.purge")
            .await
            .is_empty()
    );

    // Again: nothing more to do.
    let reports = job::run(&pool, &clock, &limits, false).await.unwrap();
    assert_eq!(
        reports
            .iter()
            .find(|r| r.slug == "alpha")
            .unwrap()
            .anonymised,
        0
    );

    // Releasing the hold lets the next run purge; both are audited.
    let tx = pool.tenant(a).await.unwrap();
    holds::release(&tx, &clock, "user:counsel", hold, "case settled")
        .await
        .unwrap();
    assert!(matches!(
        holds::release(&tx, &clock, "user:counsel", hold, "again").await,
        Err(RetentionError::AlreadyReleased)
    ));
    tx.commit().await.unwrap();
    let sets = audit_entries(&pool, a, "retention.hold.set").await;
    let releases = audit_entries(&pool, a, "retention.hold.release").await;
    assert_eq!((sets.len(), releases.len()), (1, 1));
    assert!(sets[0].contains(&hold.to_string()) && !sets[0].contains("Smith"));
    job::run(&pool, &clock, &limits, false).await.unwrap();
    assert_eq!(row(&pool, a, held).await.holder_name, ANONYMISED);
    // The young account's turn comes two days later.
    clock.advance(Duration::days(2));
    job::run(&pool, &clock, &limits, false).await.unwrap();
    assert_eq!(row(&pool, a, young).await.holder_name, ANONYMISED);
    untouched(&row(&pool, a, open).await, "OPEN");
});

db_test!(retention_policies_never_go_below_the_minimum, |db| {
    let pool = db.app_pool(3).await;
    let clock = ManualClock::new(t0());
    let now = clock.now();
    let limits = Limits {
        default_years: 7,
        minimum_years: 6,
        ..Limits::default()
    };
    let alpha = seed::tenant(&pool, &clock, "alpha").await;
    let a = &alpha.tenant;
    let tx = pool.tenant(a).await.unwrap();
    let err = policy::set_years(&tx, &clock, "user:admin", Some(5), &limits)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RetentionError::BelowMinimum {
                years: 5,
                minimum: 6
            }
        ),
        "{err}"
    );
    policy::set_years(&tx, &clock, "user:admin", Some(10), &limits)
        .await
        .unwrap();
    assert_eq!(policy::years(&tx, &limits).await.unwrap(), 10);
    tx.commit().await.unwrap();
    assert_eq!(
        audit_entries(&pool, a, "retention.policy.set").await.len(),
        1
    );

    // Closed 9 years ago: past the default, inside this association's 10.
    let nine = account(&pool, &clock, a, "400-1", "NINE", Some(years_ago(now, 9))).await;
    let eleven = account(
        &pool,
        &clock,
        a,
        "400-2",
        "ELEVEN",
        Some(years_ago(now, 11)),
    )
    .await;
    let r = job::run(&pool, &clock, &limits, false).await.unwrap();
    assert_eq!(r[0].policy_years, 10);
    untouched(&row(&pool, a, nine).await, "NINE");
    assert_eq!(row(&pool, a, eleven).await.holder_name, ANONYMISED);
});

/// The platform-access audit actions of the retention job, oldest first.
async fn platform_actions(db: &crate::support::TestDb) -> Vec<String> {
    use sea_orm::{EntityTrait, QueryOrder};
    let owner = db.owner().await;
    aqueduct_tenant::entity::audit_log::Entity::find()
        .filter(
            aqueduct_tenant::entity::audit_log::Column::Action.starts_with("platform.retention"),
        )
        .order_by_asc(aqueduct_tenant::entity::audit_log::Column::Id)
        .all(&owner)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

db_test!(a_closed_association_follows_the_retention_clock, |db| {
    let pool = db.app_pool(3).await;
    let clock = ManualClock::new(t0());
    let limits = Limits::default();
    let alpha = seed::tenant(&pool, &clock, "alpha").await;
    let beta = seed::tenant(&pool, &clock, "beta").await;
    let open = account(&pool, &clock, &alpha.tenant, "300-1", "OPEN-MARK", None).await;
    // An operator closes alpha; beta goes on.
    let tx = pool
        .platform(
            aqueduct_tenant::PlatformAccess {
                actor: "user:ops".into(),
                reason: "tenant.close",
                request_id: None,
            },
            &clock,
        )
        .await
        .unwrap();
    aqueduct_tenant::directory::set_status(
        &tx,
        &clock,
        alpha.tenant.id(),
        aqueduct_tenant::TenantStatus::Closed,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let closed_at = clock.now();

    // A day short of seven years: nothing yet.
    let seven_years_on = closed_at.checked_add_months(Months::new(84)).unwrap();
    clock.set(seven_years_on - Duration::days(1));
    let reports = job::run(&pool, &clock, &limits, false).await.unwrap();
    let ra = reports.iter().find(|r| r.slug == "alpha").unwrap();
    assert_eq!(ra.anonymised, 0, "{reports:?}");
    assert_ne!(
        row(&pool, &alpha.tenant, open).await.holder_name,
        ANONYMISED
    );

    // Seven years and a day after the association closed: every account of
    // it is anonymised, though none was closed itself; beta is untouched.
    clock.advance(Duration::days(2));
    let reports = job::run(&pool, &clock, &limits, false).await.unwrap();
    let ra = reports.iter().find(|r| r.slug == "alpha").unwrap();
    assert_eq!(
        ra.anonymised, 2,
        "the seeded account and the open one: {reports:?}"
    );
    assert_eq!(
        row(&pool, &alpha.tenant, open).await.holder_name,
        ANONYMISED
    );
    let rb = reports.iter().find(|r| r.slug == "beta").unwrap();
    assert_eq!(rb.anonymised, 0);
    assert!(
        all_rows(&pool, &beta.tenant)
            .await
            .iter()
            .all(|r| r.holder_name != ANONYMISED)
    );
});

// --- Payment records and usage data ---------------------------------------

use aqueduct_billing::entity::{ledger_entry, meter_read, usage_aggregate};
use aqueduct_billing::ledger::{self, EntryKind, NewEntry};
use aqueduct_billing::{aging, reports};
use aqueduct_core::Money;
use aqueduct_payments::entity::{payment, refund};
use aqueduct_retention::payment_records::SUMMARY_PREFIX;
use aqueduct_retention::policy::Record;
use sea_orm::EntityTrait;
use std::collections::BTreeMap;

/// Posts one entry of `kind` dated `on`.
#[allow(clippy::too_many_arguments)]
async fn post(
    db: &Db,
    clock: &dyn Clock,
    ctx: &TenantCtx,
    account: AccountId,
    kind: EntryKind,
    cents: i64,
    on: NaiveDate,
    external: &str,
) -> ledger_entry::Model {
    let tx = db.tenant(ctx).await.unwrap();
    let e = ledger::post(
        &tx,
        clock,
        NewEntry {
            account,
            kind,
            amount: Money::usd(cents),
            effective_on: on,
            external_id: Some(external.into()),
            bill: None,
            memo: format!("{external} memo"),
        },
    )
    .await
    .unwrap()
    .entry;
    tx.commit().await.unwrap();
    e
}

/// A payment row (and, with `refund_cents`, one refund of it) created at `at`.
async fn payment_row(
    db: &Db,
    ctx: &TenantCtx,
    account: AccountId,
    at: DateTime<Utc>,
    key: &str,
    refund_cents: Option<i64>,
) -> uuid::Uuid {
    let tx = db.tenant(ctx).await.unwrap();
    let id = uuid::Uuid::now_v7();
    payment::Entity::insert(
        payment::Model {
            tenant_id: ctx.id().uuid(),
            id,
            account_id: account.uuid(),
            idempotency_key: key.into(),
            amount_cents: 3_000,
            application_fee_cents: 30,
            convenience_fee_cents: 0,
            currency: "usd".into(),
            status: "succeeded".into(),
            method: Some("card".into()),
            checkout_session_id: Some(format!("cs_{key}")),
            checkout_url: None,
            payment_intent_id: Some(format!("pi_{key}")),
            charge_id: Some(format!("ch_{key}")),
            captured_cents: 3_000,
            refunded_cents: refund_cents.unwrap_or(0),
            failure_reason: None,
            posted_at: Some(at),
            created_at: at,
            updated_at: at,
        }
        .into_active_model(),
    )
    .exec_without_returning(tx.conn())
    .await
    .unwrap();
    if let Some(cents) = refund_cents {
        refund::Entity::insert(
            refund::Model {
                tenant_id: ctx.id().uuid(),
                id: uuid::Uuid::now_v7(),
                payment_id: id,
                idempotency_key: format!("r-{key}"),
                amount_cents: cents,
                status: "succeeded".into(),
                reason: Some("requested_by_customer".into()),
                stripe_refund_id: Some(format!("re_{key}")),
                requested_by: "user:clerk".into(),
                posted_at: Some(at),
                created_at: at,
                updated_at: at,
            }
            .into_active_model(),
        )
        .exec_without_returning(tx.conn())
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    id
}

/// Everything the ledger says, for comparing before and after: each
/// account's balance, the trial balance, and the general-ledger export's
/// debit and credit totals per month and general-ledger account.
#[derive(Debug, PartialEq, Eq)]
struct Books {
    balances: BTreeMap<uuid::Uuid, i64>,
    trial: BTreeMap<&'static str, i64>,
    gl: BTreeMap<(String, String), (i64, i64)>,
    payments_journal_total: i64,
}

fn cents(s: &str) -> i64 {
    if s.is_empty() {
        return 0;
    }
    let neg = s.starts_with('-');
    let v: i64 = s.trim_start_matches('-').replace('.', "").parse().unwrap();
    if neg { -v } else { v }
}

async fn books(db: &Db, ctx: &TenantCtx) -> Books {
    let tx = db.tenant(ctx).await.unwrap();
    let all = ledger::all(&tx).await.unwrap();
    let mut balances = BTreeMap::new();
    for a in all_accounts(&tx).await {
        balances.insert(
            a,
            ledger::balance(&tx, AccountId::from_uuid(a))
                .await
                .unwrap()
                .cents,
        );
    }
    let trial: BTreeMap<&'static str, i64> = aging::trial_balance(&all);
    let mut gl = BTreeMap::new();
    for line in reports::general_ledger_csv(&tx)
        .await
        .unwrap()
        .lines()
        .skip(1)
    {
        let f: Vec<&str> = line.splitn(6, ',').collect();
        let g: &mut (i64, i64) = gl
            .entry((f[0][..7].to_owned(), f[2].to_owned()))
            .or_default();
        g.0 += cents(f[3]);
        g.1 += cents(f[4]);
    }
    let payments_journal_total = reports::payments_csv(&tx)
        .await
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| cents(l.split(',').nth(4).unwrap()))
        .sum();
    tx.rollback().await.unwrap();
    Books {
        balances,
        trial,
        gl,
        payments_journal_total,
    }
}

async fn all_accounts(tx: &aqueduct_tenant::TenantTx) -> Vec<uuid::Uuid> {
    scoped::<account::Entity>(tx)
        .all(tx.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect()
}

async fn entries(db: &Db, ctx: &TenantCtx) -> Vec<ledger_entry::Model> {
    let tx = db.tenant(ctx).await.unwrap();
    let r = ledger::all(&tx).await.unwrap();
    tx.rollback().await.unwrap();
    r
}

async fn payment_ids(db: &Db, ctx: &TenantCtx) -> (Vec<uuid::Uuid>, usize) {
    let tx = db.tenant(ctx).await.unwrap();
    let mut p: Vec<uuid::Uuid> = scoped::<payment::Entity>(&tx)
        .all(tx.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    p.sort();
    let r = scoped::<refund::Entity>(&tx)
        .all(tx.conn())
        .await
        .unwrap()
        .len();
    tx.rollback().await.unwrap();
    (p, r)
}

fn by_external<'a>(es: &'a [ledger_entry::Model], x: &str) -> Option<&'a ledger_entry::Model> {
    es.iter().find(|e| e.external_id.as_deref() == Some(x))
}

fn summaries(es: &[ledger_entry::Model]) -> Vec<&ledger_entry::Model> {
    es.iter()
        .filter(|e| {
            e.external_id
                .as_deref()
                .is_some_and(|x| x.starts_with(SUMMARY_PREFIX))
        })
        .collect()
}

db_test!(
    retention_replaces_old_payment_records_by_monthly_totals,
    |db| {
        let pool = db.app_pool(3).await;
        let clock = ManualClock::new(t0());
        let now = clock.now();
        let limits = Limits::default();
        let alpha = seed::tenant(&pool, &clock, "alpha").await;
        let a = &alpha.tenant;
        let m = &alpha.marker;
        // 2019-11-01 is 7 years and a day before t0; 2019-11-03 a day short.
        let old_at = years_ago(now, 7) - Duration::days(1);
        let young_at = years_ago(now, 7) + Duration::days(1);
        let (old, young) = (old_at.date_naive(), young_at.date_naive());
        let open = alpha.account;
        // A closed account, past both periods: anonymised and summarised.
        let closed = account(
            &pool,
            &clock,
            a,
            "500-1",
            &format!("{m}-CLOSED"),
            Some(old_at),
        )
        .await;
        // Another account, under a legal hold.
        let held = account(&pool, &clock, a, "500-2", &format!("{m}-HELD"), None).await;
        for (acct, tag) in [(open, "open"), (closed, "closed"), (held, "held")] {
            let d = old - Duration::days(40);
            post(
                &pool,
                &clock,
                a,
                acct,
                EntryKind::Charge,
                10_000,
                d,
                &format!("bill-{tag}"),
            )
            .await;
            post(
                &pool,
                &clock,
                a,
                acct,
                EntryKind::Payment,
                3_000,
                old,
                &format!("pay1-{tag}"),
            )
            .await;
            post(
                &pool,
                &clock,
                a,
                acct,
                EntryKind::Payment,
                1_200,
                old,
                &format!("pay2-{tag}"),
            )
            .await;
            post(
                &pool,
                &clock,
                a,
                acct,
                EntryKind::Refund,
                500,
                old,
                &format!("ref-{tag}"),
            )
            .await;
            post(
                &pool,
                &clock,
                a,
                acct,
                EntryKind::Payment,
                2_000,
                young,
                &format!("young-{tag}"),
            )
            .await;
        }
        // A dispute hold released (a reversal), both past the period.
        post(
            &pool,
            &clock,
            a,
            open,
            EntryKind::DisputeHold,
            700,
            old,
            "dp-open",
        )
        .await;
        let tx = pool.tenant(a).await.unwrap();
        ledger::release_dispute_hold(&tx, &clock, "dp-open", old)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let old_payment = payment_row(&pool, a, open, old_at, "old", Some(500)).await;
        let young_payment = payment_row(&pool, a, open, young_at, "young", None).await;
        let held_payment = payment_row(&pool, a, held, old_at, "held", None).await;
        let tx = pool.tenant(a).await.unwrap();
        holds::set(
            &tx,
            &clock,
            "user:counsel",
            HoldScope::Account(held),
            "Case 12",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();

        let before = books(&pool, a).await;
        assert_eq!(before.trial.values().sum::<i64>(), 0, "{:?}", before.trial);
        let ledger_before = entries(&pool, a).await;
        let payments_before = payment_ids(&pool, a).await;
        assert_eq!(payments_before.1, 1);

        // Dry run: exact counts, nothing changed.
        let reports = job::run(&pool, &clock, &limits, true).await.unwrap();
        let r = &reports[0];
        assert_eq!(r.payment_years, 7);
        // open: 2 payments, 1 refund, the hold and its reversal; closed: 3.
        assert_eq!(
            (r.payments.ledger_entries, r.payments.ledger_summaries),
            (8, 6),
            "{r:?}"
        );
        assert_eq!((r.payments.payments, r.payments.refunds), (1, 1), "{r:?}");
        assert_eq!(r.anonymised, 1);
        assert_eq!(entries(&pool, a).await, ledger_before);
        assert_eq!(payment_ids(&pool, a).await, payments_before);
        assert_eq!(books(&pool, a).await, before);
        assert!(audit_entries(&pool, a, "retention.purge").await.is_empty());

        // The real run.
        let reports = job::run(&pool, &clock, &limits, false).await.unwrap();
        assert_eq!(reports[0].payments, r.payments);
        let after = entries(&pool, a).await;
        for tag in ["open", "closed"] {
            for x in ["pay1", "pay2", "ref"] {
                assert!(
                    by_external(&after, &format!("{x}-{tag}")).is_none(),
                    "{x}-{tag}"
                );
            }
            // A day short of the period, and the charges: untouched.
            assert!(by_external(&after, &format!("young-{tag}")).is_some());
            assert!(by_external(&after, &format!("bill-{tag}")).is_some());
        }
        assert!(by_external(&after, "dp-open").is_none());
        assert!(
            !after
                .iter()
                .any(|e| e.kind == "reversal" && e.reverses_id.is_some())
        );
        for x in ["pay1", "pay2", "ref", "young", "bill"] {
            assert!(
                by_external(&after, &format!("{x}-held")).is_some(),
                "held {x}"
            );
        }
        // One summary per account, month, kind and sides, with the same total.
        let sums = summaries(&after);
        assert_eq!(sums.len(), 6, "{sums:?}");
        let find = |acct: AccountId, kind: &str| {
            sums.iter()
                .find(|e| e.account_id == acct.uuid() && e.kind == kind)
                .copied()
                .unwrap()
        };
        let p = find(open, "payment");
        assert_eq!((p.amount_cents, p.effective_on), (4_200, old));
        assert_eq!(
            (p.debit.as_str(), p.credit.as_str()),
            ("cash", "receivable")
        );
        assert!(p.memo.contains("2019-11") && !p.memo.contains(m.as_str()));
        assert_eq!(find(open, "refund").amount_cents, 500);
        assert_eq!(find(open, "dispute_hold").amount_cents, 700);
        let rev = find(open, "reversal");
        assert_eq!((rev.amount_cents, rev.debit.as_str()), (700, "cash"));
        assert_eq!(find(closed, "payment").amount_cents, 4_200);
        // The books are exactly as before.
        let now_books = books(&pool, a).await;
        assert_eq!(now_books, before);
        assert_eq!(now_books.trial.values().sum::<i64>(), 0);
        // The payment row past the period and its refund are gone.
        let (ps, rs) = payment_ids(&pool, a).await;
        assert!(!ps.contains(&old_payment) && rs == 0);
        assert!(ps.contains(&young_payment) && ps.contains(&held_payment));
        assert!(ps.contains(&alpha.payment.uuid()));
        // The closed account is anonymised too.
        assert_eq!(row(&pool, a, closed).await.holder_name, ANONYMISED);

        // Outside the job the ledger is still append-only.
        let tx = pool.tenant(a).await.unwrap();
        let young_id = by_external(&after, "young-open").unwrap().id;
        let refused = ledger_entry::Entity::delete_many()
            .filter(ledger_entry::Column::TenantId.eq(a.id().uuid()))
            .filter(ledger_entry::Column::Id.eq(young_id))
            .exec(tx.conn())
            .await;
        assert!(refused.is_err(), "{refused:?}");
        tx.rollback().await.unwrap();
        let tx = pool.tenant(a).await.unwrap();
        let refused = ledger_entry::Entity::delete_many()
            .filter(ledger_entry::Column::TenantId.eq(a.id().uuid()))
            .filter(ledger_entry::Column::Id.eq(p.id))
            .exec(tx.conn())
            .await;
        assert!(refused.is_err(), "a summary is not deleted outside the job");
        tx.rollback().await.unwrap();

        // The audit entry: counts, nothing personal.
        let purges = audit_entries(&pool, a, "retention.purge").await;
        assert_eq!(purges.len(), 1, "{purges:?}");
        assert!(
            purges[0].contains(r#""rows":8,"step":"ledger_entries""#)
                && purges[0].contains(r#""rows":1,"step":"payments""#),
            "{}",
            purges[0]
        );
        assert!(!purges[0].contains(m.as_str()) && !purges[0].contains("pay1"));

        // Again: nothing to do, no new summary, no audit entry.
        let reports = job::run(&pool, &clock, &limits, false).await.unwrap();
        assert!(!reports[0].changed(), "{:?}", reports[0]);
        assert_eq!(entries(&pool, a).await, after);
        assert_eq!(audit_entries(&pool, a, "retention.purge").await.len(), 1);

        // Staff reverse the closed account's payment summary (a correction):
        // that summary now stays as it is.
        let reversed = find(closed, "payment").id;
        let tx = pool.tenant(a).await.unwrap();
        ledger::reverse(
            &tx,
            &clock,
            aqueduct_core::LedgerEntryId::from_uuid(reversed),
            now.date_naive(),
            "correction",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let mid = books(&pool, a).await;
        assert_ne!(mid, before);

        // Two days on, the young payments pass too and are folded into the
        // same month's summary: still one per account, month, kind and sides
        // (but for the reversed one, which is left alone).
        clock.advance(Duration::days(2));
        let reports = job::run(&pool, &clock, &limits, false).await.unwrap();
        assert_eq!(
            (
                reports[0].payments.ledger_entries,
                reports[0].payments.ledger_summaries,
                reports[0].payments.payments
            ),
            (3, 2, 1),
            "{:?}",
            reports[0]
        );
        let later = entries(&pool, a).await;
        let sums = summaries(&later);
        assert_eq!(sums.len(), 7, "{sums:?}");
        let p = sums
            .iter()
            .find(|e| e.account_id == open.uuid() && e.kind == "payment")
            .unwrap();
        assert_eq!((p.amount_cents, p.effective_on), (6_200, young));
        let mut closed_payments: Vec<i64> = sums
            .iter()
            .filter(|e| e.account_id == closed.uuid() && e.kind == "payment")
            .map(|e| e.amount_cents)
            .collect();
        closed_payments.sort();
        assert_eq!(closed_payments, [2_000, 4_200]);
        assert!(later.iter().any(|e| e.id == reversed));
        assert_eq!(books(&pool, a).await, mid);
        assert!(by_external(&later, "young-held").is_some());
    }
);

db_test!(retention_payment_periods_are_per_association, |db| {
    let pool = db.app_pool(3).await;
    let clock = ManualClock::new(t0());
    let now = clock.now();
    let limits = Limits::default();
    let alpha = seed::tenant(&pool, &clock, "alpha").await;
    let a = &alpha.tenant;
    let tx = pool.tenant(a).await.unwrap();
    let err = policy::set_years_for(&tx, &clock, "user:admin", Record::Payment, Some(6), &limits)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        RetentionError::BelowMinimum {
            years: 6,
            minimum: 7
        }
    ));
    policy::set_years_for(&tx, &clock, "user:admin", Record::Payment, Some(9), &limits)
        .await
        .unwrap();
    assert_eq!(
        policy::years_for(&tx, &limits, Record::Payment)
            .await
            .unwrap(),
        9
    );
    assert_eq!(
        policy::years_for(&tx, &limits, Record::Usage)
            .await
            .unwrap(),
        7
    );
    assert_eq!(policy::years(&tx, &limits).await.unwrap(), 7);
    tx.commit().await.unwrap();
    let set = audit_entries(&pool, a, "retention.policy.set").await;
    assert!(
        set.len() == 1 && set[0].contains(r#""record":"payment""#),
        "{set:?}"
    );
    // Eight years old: inside this association's nine.
    let d = (years_ago(now, 8)).date_naive();
    post(
        &pool,
        &clock,
        a,
        alpha.account,
        EntryKind::Payment,
        900,
        d,
        "eight",
    )
    .await;
    let ten = years_ago(now, 10).date_naive();
    post(
        &pool,
        &clock,
        a,
        alpha.account,
        EntryKind::Payment,
        800,
        ten,
        "ten",
    )
    .await;
    let r = job::run(&pool, &clock, &limits, false).await.unwrap();
    assert_eq!(r[0].payment_years, 9);
    let es = entries(&pool, a).await;
    assert!(by_external(&es, "eight").is_some());
    assert!(by_external(&es, "ten").is_none());
    assert_eq!(summaries(&es).len(), 1);
});

async fn reads_of(db: &Db, ctx: &TenantCtx, meter: uuid::Uuid) -> Vec<NaiveDate> {
    let tx = db.tenant(ctx).await.unwrap();
    let mut r: Vec<NaiveDate> = scoped::<meter_read::Entity>(&tx)
        .filter(meter_read::Column::MeterId.eq(meter))
        .all(tx.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.read_on)
        .collect();
    tx.rollback().await.unwrap();
    r.sort();
    r
}

async fn consumption(db: &Db, ctx: &TenantCtx) -> String {
    let tx = db.tenant(ctx).await.unwrap();
    let r = reports::consumption_csv(&tx).await.unwrap();
    tx.rollback().await.unwrap();
    r
}

async fn aggregates(db: &Db, ctx: &TenantCtx) -> Vec<usage_aggregate::Model> {
    let tx = db.tenant(ctx).await.unwrap();
    let r = scoped::<usage_aggregate::Entity>(&tx)
        .all(tx.conn())
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    r
}

async fn close(db: &Db, ctx: &TenantCtx, id: AccountId, at: DateTime<Utc>) {
    let tx = db.tenant(ctx).await.unwrap();
    let mut am = aqueduct_retention::accounts::find(&tx, id)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    am.status = Set("closed".into());
    am.closed_at = Set(Some(at));
    am.update(tx.conn()).await.unwrap();
    tx.commit().await.unwrap();
}

db_test!(retention_keeps_old_usage_only_in_aggregate, |db| {
    let pool = db.app_pool(3).await;
    let clock = ManualClock::new(t0());
    let now = clock.now();
    let limits = Limits::default();
    // Each seeded association has one account with a meter, two reads
    // (2026-09-28, 2026-10-28) and one October bill.
    let alpha = seed::tenant(&pool, &clock, "alpha").await;
    let beta = seed::tenant(&pool, &clock, "beta").await;
    let gamma = seed::tenant(&pool, &clock, "gamma").await;
    close(
        &pool,
        &alpha.tenant,
        alpha.account,
        years_ago(now, 7) - Duration::days(1),
    )
    .await;
    close(&pool, &beta.tenant, beta.account, years_ago(now, 9)).await;
    close(
        &pool,
        &gamma.tenant,
        gamma.account,
        years_ago(now, 7) + Duration::days(1),
    )
    .await;
    let tx = pool.tenant(&beta.tenant).await.unwrap();
    holds::set(
        &tx,
        &clock,
        "user:counsel",
        HoldScope::Account(beta.account),
        "Case 9",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let a = &alpha.tenant;
    let report_before = consumption(&pool, a).await;
    let reads_before = reads_of(&pool, a, alpha.meter.uuid()).await;
    assert_eq!(reads_before.len(), 2);
    let tx = pool.tenant(a).await.unwrap();
    let bill = aqueduct_billing::bills::for_account(&tx, alpha.account)
        .await
        .unwrap()
        .remove(0);
    tx.rollback().await.unwrap();

    // Dry run: exact counts, nothing changed.
    let reports = job::run(&pool, &clock, &limits, true).await.unwrap();
    let r = reports.iter().find(|r| r.slug == "alpha").unwrap();
    assert_eq!(
        (
            r.usage.accounts,
            r.usage.bills,
            r.usage.aggregate_rows,
            r.usage.meter_reads
        ),
        (1, 1, 1, 1),
        "{r:?}"
    );
    assert_eq!(reads_of(&pool, a, alpha.meter.uuid()).await, reads_before);
    assert!(aggregates(&pool, a).await.is_empty());

    // The seeded account has a (sent) notification; give it a saved
    // payment method too: both go with the account information.
    let tx = pool.tenant(a).await.unwrap();
    aqueduct_payments::entity::autopay_mandate::Entity::insert(
        aqueduct_payments::entity::autopay_mandate::Model {
            tenant_id: a.id().uuid(),
            id: uuid::Uuid::now_v7(),
            account_id: alpha.account.uuid(),
            status: "active".into(),
            setup_session_id: None,
            setup_url: None,
            stripe_customer_id: Some("cus_old".into()),
            stripe_payment_method_id: Some("pm_old".into()),
            method_type: Some("card".into()),
            consented_at: Some(now),
            created_at: now,
            updated_at: now,
        }
        .into_active_model(),
    )
    .exec_without_returning(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let reports = job::run(&pool, &clock, &limits, false).await.unwrap();
    let r = reports.iter().find(|r| r.slug == "alpha").unwrap();
    assert_eq!(r.usage.accounts, 1);
    assert_eq!(r.anonymised, 1);
    let step = |name: &str| r.steps.iter().find(|(n, _)| n == name).unwrap().1;
    assert_eq!((step("notifications"), step("autopay_mandates")), (1, 1));
    let tx = pool.tenant(a).await.unwrap();
    let left = scoped::<aqueduct_notify::entity::notification::Entity>(&tx)
        .all(tx.conn())
        .await
        .unwrap();
    assert!(
        !format!("{left:?}").contains(alpha.marker.as_str()),
        "{left:?}"
    );
    tx.rollback().await.unwrap();
    // The aggregate: the bill's month and rate class, no account.
    let agg = aggregates(&pool, a).await;
    assert_eq!(agg.len(), 1);
    assert_eq!(
        (
            agg[0].month.as_str(),
            agg[0].meter_size.as_str(),
            agg[0].accounts,
            agg[0].bills,
            agg[0].usage_units,
            agg[0].billed_cents
        ),
        ("2026-10", "5/8\"", 1, 1, bill.usage_units, bill.total_cents)
    );
    // Only the meter's latest read is left (the next bill starts from it).
    assert_eq!(
        reads_of(&pool, a, alpha.meter.uuid()).await,
        [NaiveDate::from_ymd_opt(2026, 10, 28).unwrap()]
    );
    // The consumption report gives the same figures.
    assert_eq!(consumption(&pool, a).await, report_before);
    // Held, and a day short: untouched.
    assert_eq!(
        reads_of(&pool, &beta.tenant, beta.meter.uuid()).await.len(),
        2
    );
    assert!(aggregates(&pool, &beta.tenant).await.is_empty());
    assert_eq!(
        reads_of(&pool, &gamma.tenant, gamma.meter.uuid())
            .await
            .len(),
        2
    );
    assert!(aggregates(&pool, &gamma.tenant).await.is_empty());
    let purges = audit_entries(&pool, a, "retention.purge").await;
    assert_eq!(purges.len(), 1);
    assert!(
        purges[0].contains(r#""rows":1,"step":"usage_accounts""#)
            && purges[0].contains(r#""rows":1,"step":"meter_reads""#),
        "{}",
        purges[0]
    );
    assert!(!purges[0].contains(alpha.marker.as_str()));
    // Once only.
    let reports = job::run(&pool, &clock, &limits, false).await.unwrap();
    let r = reports.iter().find(|r| r.slug == "alpha").unwrap();
    assert_eq!(r.usage.accounts, 0);
    assert_eq!(aggregates(&pool, a).await[0].accounts, 1);
    assert_eq!(consumption(&pool, a).await, report_before);

    // Two days on, gamma's turn.
    let gamma_before = consumption(&pool, &gamma.tenant).await;
    clock.advance(Duration::days(2));
    job::run(&pool, &clock, &limits, false).await.unwrap();
    assert_eq!(aggregates(&pool, &gamma.tenant).await.len(), 1);
    assert_eq!(
        reads_of(&pool, &gamma.tenant, gamma.meter.uuid())
            .await
            .len(),
        1
    );
    assert_eq!(consumption(&pool, &gamma.tenant).await, gamma_before);
    assert_eq!(
        reads_of(&pool, &beta.tenant, beta.meter.uuid()).await.len(),
        2
    );
});

db_test!(restricted_accounts_are_hidden_from_the_staff_pages, |db| {
    use crate::support::browser::{self, Browser, PASSWORD};
    let (app, a) = browser::alpha_with(db, "clerk@alpha.test", aqueduct_tenant::Role::Clerk).await;
    let mut b = Browser::default();
    let signed = b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    assert_eq!(signed.status, 200, "{}", signed.text);
    let page = format!("/app/accounts/{}", a.account);
    let list = b.get(&app, "/app/accounts").await;
    assert!(list.text.contains(&a.marker), "{}", list.text);
    assert_eq!(b.get(&app, &page).await.status, 200);
    // Closed two years ago, then the holder asks for erasure: restricted.
    close(
        &app.pool,
        &a.tenant,
        a.account,
        years_ago(app.clock.now(), 2),
    )
    .await;
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let answer = aqueduct_retention::erasure::request(
        &tx,
        app.clock.as_ref(),
        "customer",
        a.account,
        &Limits::default(),
    )
    .await
    .unwrap();
    assert!(answer.erase_after.is_some());
    tx.commit().await.unwrap();
    let list = b.get(&app, "/app/accounts").await;
    assert_eq!(list.status, 200);
    assert!(!list.text.contains(&a.marker), "{}", list.text);
    assert_eq!(b.get(&app, &page).await.status, 404);
});

db_test!(
    retention_command_line_sets_the_payment_period_and_dry_runs,
    |db| {
        use std::process::Command;
        let pool = db.app_pool(3).await;
        let clock = ManualClock::new(t0());
        let alpha = seed::tenant(&pool, &clock, "alpha").await;
        let run = |args: &[&str]| {
            let o = Command::new(env!("CARGO_BIN_EXE_aqueduct"))
                .args(args)
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("DATABASE_URL", &db.app_url)
                .output()
                .unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            (o.status.success(), text)
        };
        let policy = |years: &str, record: &str| {
            run(&[
                "retention",
                "policy",
                "--tenant",
                "alpha",
                "--years",
                years,
                "--record",
                record,
            ])
        };
        let (ok, text) = policy("9", "payment");
        assert!(
            ok && text.contains("payment records are kept 9 years"),
            "{text}"
        );
        let (ok, text) = policy("5", "usage");
        assert!(!ok && text.contains('7'), "{text}");
        let (ok, text) = policy("8", "receipts");
        assert!(!ok && text.contains("account, payment or usage"), "{text}");
        let (ok, text) = run(&["retention", "run", "--dry-run"]);
        assert!(
            ok && text.contains("alpha: payment records 9 years")
                && text.contains("alpha: usage 7 years")
                && text.contains("nothing was changed"),
            "{text}"
        );
        let tx = pool.tenant(&alpha.tenant).await.unwrap();
        assert_eq!(
            policy::years_for(&tx, &Limits::default(), Record::Payment)
                .await
                .unwrap(),
            9
        );
        tx.rollback().await.unwrap();
    }
);

db_test!(
    retention_removes_the_per_payment_rows_around_old_payments,
    |db| {
        use aqueduct_payments::entity::{autopay_charge, payout_item};
        let pool = db.app_pool(3).await;
        let clock = ManualClock::new(t0());
        let now = clock.now();
        let limits = Limits::default();
        let alpha = seed::tenant(&pool, &clock, "alpha").await;
        let a = &alpha.tenant;
        let old_at = years_ago(now, 7) - Duration::days(1);
        let young_at = years_ago(now, 7) + Duration::days(1);
        let held = account(&pool, &clock, a, "600-1", "HELD", None).await;
        // An old payment refunded within the period waits for its refund.
        let waiting = payment_row(&pool, a, alpha.account, old_at, "waiting", Some(300)).await;
        let tx = pool.tenant(a).await.unwrap();
        let r = scoped::<refund::Entity>(&tx)
            .filter(refund::Column::PaymentId.eq(waiting))
            .one(tx.conn())
            .await
            .unwrap()
            .unwrap();
        let mut r = r.into_active_model();
        r.created_at = Set(young_at);
        r.update(tx.conn()).await.unwrap();
        tx.commit().await.unwrap();
        let gone = payment_row(&pool, a, alpha.account, old_at, "gone", None).await;
        let held_payment = payment_row(&pool, a, held, old_at, "held", None).await;
        // An old autopay charge of the seeded bill, and an old ACH payment
        // that was in flight and settled.
        let tx = pool.tenant(a).await.unwrap();
        autopay_charge::Entity::insert(
            autopay_charge::Model {
                tenant_id: a.id().uuid(),
                id: uuid::Uuid::now_v7(),
                bill_id: alpha.bill.uuid(),
                account_id: alpha.account.uuid(),
                charge_on: old_at.date_naive(),
                status: "failed".into(),
                amount_cents: Some(4_200),
                payment_id: Some(gone),
                failure_code: Some("insufficient_funds".into()),
                failure_reason: Some("Your bank declined".into()),
                notified_upcoming_at: None,
                created_at: old_at,
                updated_at: old_at,
            }
            .into_active_model(),
        )
        .exec_without_returning(tx.conn())
        .await
        .unwrap();
        let then = ManualClock::new(old_at);
        ledger::payment_processing(&tx, &then, alpha.account, "ach-old")
            .await
            .unwrap();
        ledger::payment_settled(&tx, &then, "ach-old")
            .await
            .unwrap();
        ledger::payment_processing(&tx, &clock, alpha.account, "ach-now")
            .await
            .unwrap();
        // Old payout lines: one of an ordinary payment, one of the held one.
        for (txn, matched) in [("txn_gone", gone), ("txn_held", held_payment)] {
            payout_item::Entity::insert(
                payout_item::Model {
                    tenant_id: a.id().uuid(),
                    id: uuid::Uuid::now_v7(),
                    payout_id: alpha.payout,
                    balance_transaction_id: txn.into(),
                    kind: "charge".into(),
                    source_id: Some(format!("ch_{txn}")),
                    amount_cents: 3_000,
                    fee_cents: 100,
                    net_cents: 2_900,
                    matched: "matched".into(),
                    matched_id: Some(matched),
                    expected_cents: Some(3_000),
                    status: "ok".into(),
                    created_at: old_at,
                }
                .into_active_model(),
            )
            .exec_without_returning(tx.conn())
            .await
            .unwrap();
        }
        // The association's connected account and two webhook events of it,
        // one old and one recent.
        use aqueduct_payments::entity::{stripe_account, stripe_event};
        let connected = format!("acct_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        stripe_account::Entity::insert(
            stripe_account::Model {
                tenant_id: a.id().uuid(),
                id: uuid::Uuid::now_v7(),
                stripe_account_id: connected.clone(),
                livemode: false,
                details_submitted: true,
                charges_enabled: true,
                payouts_enabled: true,
                currently_due: "[]".into(),
                past_due: "[]".into(),
                disabled_reason: None,
                fee_basis_points: 0,
                fee_fixed_cents: 0,
                state_version: 0,
                created_at: old_at,
                updated_at: old_at,
            }
            .into_active_model(),
        )
        .exec_without_returning(tx.conn())
        .await
        .unwrap();
        for (tag, at) in [("old", old_at), ("new", now)] {
            stripe_event::Entity::insert(
                stripe_event::Model {
                    id: uuid::Uuid::now_v7(),
                    event_id: format!("evt_{tag}_{connected}"),
                    event_type: "checkout.session.completed".into(),
                    stripe_account_id: Some(connected.clone()),
                    livemode: false,
                    created: at.timestamp(),
                    payload: format!("{{\"payer\": \"{tag} payer\"}}"),
                    received_at: at,
                }
                .into_active_model(),
            )
            .exec_without_returning(tx.conn())
            .await
            .unwrap();
        }
        let hold = holds::set(
            &tx,
            &clock,
            "user:counsel",
            HoldScope::Account(held),
            "Case 3",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let events = || async {
            let owner = db.owner().await;
            let mut e: Vec<String> = stripe_event::Entity::find()
                .filter(stripe_event::Column::StripeAccountId.eq(connected.clone()))
                .all(&owner)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.event_id)
                .collect();
            e.sort();
            e
        };

        let reports = job::run(&pool, &clock, &limits, false).await.unwrap();
        let p = reports[0].payments;
        // An account hold is in force: the webhook events stay.
        assert_eq!((p.stripe_events, events().await.len()), (0, 2));
        assert_eq!(
            (
                p.payments,
                p.refunds,
                p.autopay_charges,
                p.payout_items,
                p.in_flight
            ),
            (1, 0, 1, 1, 1),
            "{p:?}"
        );
        let (ps, refunds) = payment_ids(&pool, a).await;
        assert!(!ps.contains(&gone));
        assert!(ps.contains(&waiting) && refunds == 1);
        assert!(ps.contains(&held_payment) && ps.contains(&alpha.payment.uuid()));
        let tx = pool.tenant(a).await.unwrap();
        assert!(
            scoped::<autopay_charge::Entity>(&tx)
                .all(tx.conn())
                .await
                .unwrap()
                .is_empty()
        );
        let items: Vec<String> = scoped::<payout_item::Entity>(&tx)
            .all(tx.conn())
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.balance_transaction_id)
            .collect();
        assert_eq!(items, ["txn_held"]);
        let flights: Vec<String> =
            scoped::<aqueduct_billing::entity::payment_in_flight::Entity>(&tx)
                .all(tx.conn())
                .await
                .unwrap()
                .into_iter()
                .map(|f| f.external_id)
                .collect();
        assert_eq!(flights, ["ach-now"]);
        tx.rollback().await.unwrap();

        // Once the refund passes the period, the payment and its refund go.
        clock.advance(Duration::days(2));
        let reports = job::run(&pool, &clock, &limits, false).await.unwrap();
        assert_eq!(
            (reports[0].payments.payments, reports[0].payments.refunds),
            (1, 1)
        );
        let (ps, refunds) = payment_ids(&pool, a).await;
        assert!(!ps.contains(&waiting) && refunds == 0);
        assert!(ps.contains(&held_payment));
        assert_eq!(reports[0].payments.stripe_events, 0);

        // Released: the old webhook event goes, the recent one stays.
        let tx = pool.tenant(a).await.unwrap();
        holds::release(&tx, &clock, "user:counsel", hold, "closed")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let reports = job::run(&pool, &clock, &limits, false).await.unwrap();
        assert_eq!(reports[0].payments.stripe_events, 1);
        assert_eq!(events().await, [format!("evt_new_{connected}")]);
        assert!(!payment_ids(&pool, a).await.0.contains(&held_payment));
    }
);
