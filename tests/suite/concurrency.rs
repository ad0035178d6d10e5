//! Races on PostgreSQL: the same payment posted at the same instant, and
//! two finalizers on one run.

use crate::support::seed;
use crate::support::{TestApp, TestDb};
use aqueduct_billing::bill_runs::{self, FinalizeOptions};
use aqueduct_billing::entity::bill;
use aqueduct_billing::ledger;
use aqueduct_core::Money;
use aqueduct_tenant::scoped;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_payment_at_the_same_instant_posts_once_postgres() {
    let Some(db) = TestDb::postgres().await else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (pool, clock, tenant, account) = (
            app.pool.clone(),
            app.clock.clone(),
            a.tenant.clone(),
            a.account,
        );
        tasks.push(tokio::spawn(async move {
            let tx = pool.tenant(&tenant).await.unwrap();
            let on = "2026-11-05".parse().unwrap();
            let p =
                ledger::post_payment(&tx, clock.as_ref(), account, Money::usd(700), on, "pi_race")
                    .await
                    .unwrap();
            tx.commit().await.unwrap();
            p.created
        }));
    }
    let mut created = 0;
    for t in tasks {
        if t.await.unwrap() {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let n = ledger::all(&tx)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.external_id.as_deref() == Some("pi_race"))
        .count();
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_finalizers_on_one_run_bill_everyone_once_postgres() {
    let Some(db) = TestDb::postgres().await else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    // Void the seeded bill so the run has work to do again, twice over.
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    bill_runs::void(&tx, app.clock.as_ref(), a.bill, "race test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (pool, clock, tenant, run) =
            (app.pool.clone(), app.clock.clone(), a.tenant.clone(), a.run);
        tasks.push(tokio::spawn(async move {
            bill_runs::finalize(
                &pool,
                &tenant,
                clock.as_ref(),
                run,
                &FinalizeOptions::default(),
            )
            .await
            .is_ok()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() {
            ok += 1;
        }
    }
    assert!(ok >= 1);
    // Whatever lost the race, running once more completes the cycle.
    bill_runs::finalize(
        &app.pool,
        &a.tenant,
        app.clock.as_ref(),
        a.run,
        &FinalizeOptions::default(),
    )
    .await
    .unwrap();
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let bills = scoped::<bill::Entity>(&tx).all(tx.conn()).await.unwrap();
    let mut numbers: Vec<i64> = bills.iter().map(|b| b.number).collect();
    numbers.sort();
    assert_eq!(
        numbers,
        vec![1, 2],
        "one void and one corrected bill, no gaps"
    );
    assert_eq!(bills.iter().filter(|b| b.revision == 1).count(), 1);
}

/// Requests cancelled at any moment — a client that goes away, the time
/// limit — never leave a pooled connection inside a transaction: after
/// hundreds of transaction starts abandoned at random points, no
/// connection of the application's pool sits "idle in transaction", and
/// a write through the pool is seen at once by another connection.
#[tokio::test]
async fn cancelled_transaction_starts_leave_no_connection_inside_a_transaction_postgres() {
    use aqueduct_tenant::Access;
    use sea_orm::{ConnectionTrait, Statement};
    use std::time::Duration;
    let Some(db) = TestDb::postgres().await else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let app = TestApp::new(db).await;
    let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    // Each start is polled a few times (from "BEGIN not yet sent" to
    // "BEGIN sent, its answer not yet read" and beyond), then dropped.
    for i in 0..400usize {
        let polls = 1 + i % 4;
        let mut start = if i % 2 == 0 {
            Box::pin(app.pool.tenant_with(&s.tenant, Access::Read))
        } else {
            Box::pin(app.pool.tenant_with(&s.tenant, Access::Write))
        };
        for _ in 0..polls {
            let done = std::future::poll_fn(|cx| {
                std::task::Poll::Ready(start.as_mut().poll(cx).is_ready())
            })
            .await;
            if done {
                break;
            }
            tokio::task::yield_now().await;
        }
        drop(start);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let owner = app.db.owner().await;
    let row = owner
        .query_one_raw(Statement::from_string(
            owner.get_database_backend(),
            "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
             AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()",
        ))
        .await
        .unwrap()
        .unwrap();
    let stuck: i64 = row.try_get("", "n").unwrap();
    assert_eq!(stuck, 0, "pooled connections left inside a transaction");
}
