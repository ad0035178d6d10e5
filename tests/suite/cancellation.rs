//! A request's future can be dropped at any await (the client hangs up,
//! the time limit fires). A commit caught in the middle must still finish
//! cleanly: before the fix, sea-orm queued a `ROLLBACK` behind the `COMMIT`
//! it had sent and PostgreSQL answered "there is no transaction in
//! progress" (the notice seen under `wrk`).

use crate::support::{Engine, TestDb, seed};
use aqueduct_billing::accounts::{self, AccountNumber, NewAccount};
use aqueduct_core::SystemClock;
use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::task::Poll;

/// Everything logged (sqlx logs server notices as events).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn commit_dropped_after_its_first_poll(db: TestDb) {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // This test's thread only (the runtime is single-threaded, so every
    // task of the test runs here).
    let _guard = tracing::subscriber::set_default(subscriber);
    let pool = db.app_pool(1).await;
    let clock = SystemClock;
    let s = seed::tenant(&pool, &clock, "alpha").await;

    let tx = pool.tenant(&s.tenant).await.unwrap();
    let created = accounts::create(
        &tx,
        &clock,
        NewAccount {
            number: AccountNumber::parse("CANCEL-1").unwrap(),
            holder_name: "Dropped Commit".into(),
            email: None,
            phone: None,
            mailing: None,
            opened_on: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            paperless: false,
        },
    )
    .await
    .unwrap();
    // Poll the commit once (the COMMIT goes out), then drop it, as hyper
    // drops a request's future.
    let mut commit = Box::pin(tx.commit());
    std::future::poll_fn(|cx| {
        let _ = commit.as_mut().poll(cx);
        Poll::Ready(())
    })
    .await;
    drop(commit);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    // The pool's one connection is clean and the account committed.
    for _ in 0..3 {
        let tx = pool.tenant(&s.tenant).await.unwrap();
        let found = accounts::get(&tx, aqueduct_core::AccountId::from_uuid(created.id))
            .await
            .expect("the dropped commit still committed");
        assert_eq!(found.holder_name, "Dropped Commit");
        tx.commit().await.unwrap();
    }
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        !text.contains("no transaction in progress") && !text.contains("already a transaction"),
        "the server saw a stray ROLLBACK/BEGIN:\n{text}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_commit_dropped_midway_finishes_cleanly_sqlite() {
    let db = TestDb::new(Engine::Sqlite).await.unwrap();
    commit_dropped_after_its_first_poll(db).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_commit_dropped_midway_finishes_cleanly_postgres() {
    let Some(db) = TestDb::postgres().await else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    commit_dropped_after_its_first_poll(db).await;
}
