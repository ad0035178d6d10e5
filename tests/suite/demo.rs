//! The demo's billing part: 13 months of reads, finalized bills, payments
//! and past-due accounts — and loading it twice changes nothing.

use crate::db_test;
use crate::support::TestApp;
use aqueduct_billing::{aging, ledger};
use aqueduct_tenant::directory;
use chrono::TimeZone;

db_test!(demo_billing_is_complete_and_idempotent, |db| {
    let app = TestApp::new(db).await;
    app.clock.set(
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 26, 12, 0, 0)
            .unwrap(),
    );
    let first = aqueduct_server::demo::load(&app.pool, app.clock.as_ref())
        .await
        .unwrap();
    assert_eq!(first.billing.reads, 320 * 13);
    assert_eq!(first.billing.bills, 320 * 3);
    assert!(first.billing.past_due_accounts >= 20, "{:?}", first.billing);
    let tenant = directory::by_slug(&app.pool, "demo")
        .await
        .unwrap()
        .unwrap();
    let count = || async {
        let tx = app.pool.tenant(&tenant).await.unwrap();
        let all = ledger::all(&tx).await.unwrap();
        tx.commit().await.unwrap();
        all
    };
    let before = count().await;
    assert_eq!(aging::trial_balance(&before).values().sum::<i64>(), 0);
    assert!(before.iter().any(|e| e.kind == "late_fee"));
    assert!(before.iter().any(|e| e.kind == "payment"));
    let second = aqueduct_server::demo::load(&app.pool, app.clock.as_ref())
        .await
        .unwrap();
    assert_eq!(second.billing.bills, first.billing.bills);
    assert_eq!(count().await.len(), before.len());
});
