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
    assert_eq!(ra.steps, vec![("accounts".to_owned(), 1)]);
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
