//! Data subject requests: the export holds one customer's data and nothing
//! of any other customer or association; an erasure request inside the
//! retention period restricts the data and says why.

use crate::db_test;
use crate::support::app::t0;
use crate::support::seed;
use aqueduct_billing::accounts::{self, AccountNumber, NewAccount};
use aqueduct_core::{AccountId, Clock, ManualClock};
use aqueduct_retention::job::{self, ANONYMISED};
use aqueduct_retention::policy::Limits;
use aqueduct_retention::{erasure, export};
use aqueduct_tenant::audit;
use chrono::{Duration, Months, NaiveDate};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use std::io::Read;

db_test!(dsar_export_holds_only_this_customer, |db| {
    let pool = db.app_pool(3).await;
    let clock = ManualClock::new(t0());
    let alpha = seed::tenant(&pool, &clock, "alpha").await;
    let beta = seed::tenant(&pool, &clock, "beta").await;
    // Another customer of the same association.
    let tx = pool.tenant(&alpha.tenant).await.unwrap();
    let other_marker = format!(
        "NEIGHBOUR-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    accounts::create(
        &tx,
        &clock,
        NewAccount {
            number: AccountNumber::parse("777-7").unwrap(),
            holder_name: format!("Holder {other_marker}"),
            email: Some("neighbour@example.com".into()),
            phone: None,
            mailing: None,
            opened_on: NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
            paperless: false,
        },
    )
    .await
    .unwrap();
    let e = export::account(&tx, &clock, "user:staff", alpha.account)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let bytes = export::zip(&e).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut names: Vec<String> = (0..archive.len())
        .map(|i| archive.by_index(i).unwrap().name().unwrap().into_owned())
        .collect();
    names.sort();
    assert!(
        names.contains(&"account.json".to_owned()) && names.contains(&"account.csv".to_owned()),
        "{names:?}"
    );
    let mut everything = String::new();
    for i in 0..archive.len() {
        archive
            .by_index(i)
            .unwrap()
            .read_to_string(&mut everything)
            .unwrap();
    }
    // The customer's own data: name, service address, meter.
    assert!(everything.contains(&format!("Holder {}", alpha.marker)));
    assert!(everything.contains(&format!("1 {} St", alpha.marker)));
    assert!(everything.contains(&format!("SN-{}", alpha.marker)));
    // Nothing of the neighbour or of the other association.
    assert!(!everything.contains(&other_marker));
    assert!(!everything.contains("777-7"));
    assert!(!everything.contains(&beta.marker));
    assert!(!everything.contains(&beta.tenant.id().to_string()));
    let csv = &e.csv.iter().find(|(n, _)| n == "meters.csv").unwrap().1;
    assert_eq!(csv.lines().count(), 2, "{csv}");
    // The export is audited.
    let tx = pool.tenant(&alpha.tenant).await.unwrap();
    let log = audit::recent(&tx, 50).await.unwrap();
    assert!(log.iter().any(|l| l.action == "retention.export.account"
        && l.target.as_deref() == Some(&*format!("account:{}", alpha.account))));
    tx.rollback().await.unwrap();
    // Another association's transaction cannot export this account.
    let tx = pool.tenant(&beta.tenant).await.unwrap();
    assert!(
        export::account(&tx, &clock, "user:staff", alpha.account)
            .await
            .is_err()
    );
});

db_test!(erasure_inside_the_period_restricts_and_explains, |db| {
    let pool = db.app_pool(3).await;
    let clock = ManualClock::new(t0());
    let limits = Limits::default();
    let alpha = seed::tenant(&pool, &clock, "alpha").await;
    let a = &alpha.tenant;
    // Open account: restricted, because it is open.
    let tx = pool.tenant(a).await.unwrap();
    let open = erasure::request(&tx, &clock, "customer", alpha.account, &limits)
        .await
        .unwrap();
    assert_eq!(open.status, "restricted");
    assert!(open.erase_after.is_none());
    assert!(open.answer.contains("open"), "{}", open.answer);
    // Closed two years ago: restricted until closure + 7 years.
    let closed_at = clock.now().checked_sub_months(Months::new(24)).unwrap();
    let acct = aqueduct_retention::accounts::find(&tx, alpha.account)
        .await
        .unwrap()
        .unwrap();
    let mut am = acct.into_active_model();
    am.status = Set("closed".into());
    am.closed_at = Set(Some(closed_at));
    am.update(tx.conn()).await.unwrap();
    let ans = erasure::request(&tx, &clock, "customer", alpha.account, &limits)
        .await
        .unwrap();
    let until = closed_at.checked_add_months(Months::new(84)).unwrap();
    assert_eq!(ans.erase_after, Some(until));
    assert!(
        ans.answer.contains("7 years")
            && ans.answer.contains(&until.format("%Y-%m-%d").to_string()),
        "{}",
        ans.answer
    );
    assert_eq!(
        erasure::restricted_accounts(&tx).await.unwrap(),
        vec![alpha.account, alpha.account]
    );
    tx.commit().await.unwrap();

    // Nothing is erased before the date; after it, the job erases it and
    // the requests are marked fulfilled.
    job::run(&pool, &clock, &limits, false).await.unwrap();
    let tx = pool.tenant(a).await.unwrap();
    assert_ne!(
        aqueduct_retention::accounts::find(&tx, alpha.account)
            .await
            .unwrap()
            .unwrap()
            .holder_name,
        ANONYMISED
    );
    tx.rollback().await.unwrap();
    clock.set(until + Duration::days(1));
    job::run(&pool, &clock, &limits, false).await.unwrap();
    let tx = pool.tenant(a).await.unwrap();
    assert_eq!(
        aqueduct_retention::accounts::find(&tx, alpha.account)
            .await
            .unwrap()
            .unwrap()
            .holder_name,
        ANONYMISED
    );
    assert!(erasure::restricted_accounts(&tx).await.unwrap().is_empty());
    let _: AccountId = alpha.account;
});

db_test!(association_archive_holds_every_table_and_no_secrets, |db| {
    let pool = db.app_pool(3).await;
    let clock = ManualClock::new(t0());
    let alpha = seed::tenant(&pool, &clock, "alpha").await;
    let beta = seed::tenant(&pool, &clock, "beta").await;
    let tx = pool.tenant(&alpha.tenant).await.unwrap();
    // A policy row exists, so its salt would be there to leak.
    aqueduct_retention::policy::set_years(&tx, &clock, "user:admin", Some(8), &Limits::default())
        .await
        .unwrap();
    let bytes = aqueduct_retention::archive::association(&tx, &clock, "user:admin")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut names = Vec::new();
    let mut everything = String::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        names.push(f.name().unwrap().into_owned());
        f.read_to_string(&mut everything).unwrap();
    }
    for t in aqueduct_retention::archive::tables() {
        assert!(names.contains(&format!("{}.json", t.name)), "{names:?}");
        assert!(names.contains(&format!("{}.csv", t.name)), "{names:?}");
    }
    assert!(names.contains(&"README.txt".to_owned()));
    assert!(everything.contains(&format!("Holder {}", alpha.marker)));
    assert!(everything.contains(&format!("SN-{}", alpha.marker)));
    assert!(!everything.contains(&beta.marker));
    assert!(!everything.contains(&beta.tenant.id().to_string()));
    assert!(!everything.contains("key_hash") && !everything.contains("hash_salt"));
    assert!(!everything.contains(alpha.admin_key.expose()));
});
