//! The scheduler `serve` runs: each daily job once a day after the
//! configured hour, claimed by one process only, failures retried after a
//! pause up to a daily limit, every attempt visible as a row.

use crate::db_test;
use crate::support::db::config_for;
use aqueduct_core::{ManualClock, Secret};
use aqueduct_server::schedule::{self, Job, TickOutcome};
use chrono::{Duration, TimeZone, Utc};

db_test!(daily_jobs_run_once_and_failures_are_retried, |db| {
    let pool = db.app_pool(3).await;
    let mut config = config_for(&db.app_url);
    config.schedule.hour_utc = 3;
    // A backup with an unusable key fails at once, without any storage.
    config.backup.bucket = "b".into();
    config.backup.key = Some(Secret::new("not-a-key"));
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 2, 2, 50, 0).unwrap());

    // Before the hour: nothing.
    assert!(
        schedule::tick(&config, &pool, &clock)
            .await
            .unwrap()
            .is_empty()
    );

    // After it: retention runs; the backup fails and is recorded.
    clock.advance(Duration::minutes(20));
    let (a, b) = tokio::join!(
        schedule::tick(&config, &pool, &clock),
        schedule::tick(&config, &pool, &clock)
    );
    let mut all = a.unwrap();
    all.extend(b.unwrap());
    let retention: Vec<_> = all.iter().filter(|(j, _)| *j == Job::Retention).collect();
    assert_eq!(retention.len(), 1, "two processes, one run: {all:?}");
    assert!(matches!(&retention[0].1, TickOutcome::Ran(m) if m.contains("anonymised")));
    let backups: Vec<_> = all.iter().filter(|(j, _)| *j == Job::Backup).collect();
    assert_eq!(backups.len(), 1, "{all:?}");
    assert!(matches!(&backups[0].1, TickOutcome::Failed(m) if m.contains("ID:BASE64")));

    // Ten minutes later: retention is done for the day, the backup rests.
    clock.advance(Duration::minutes(10));
    assert!(
        schedule::tick(&config, &pool, &clock)
            .await
            .unwrap()
            .is_empty()
    );
    // After the retry pause: attempt 2, then 3, then no more today.
    for _ in 0..3 {
        clock.advance(Duration::minutes(31));
        schedule::tick(&config, &pool, &clock).await.unwrap();
    }
    let rows = schedule::recent(&pool, Job::Backup, 10).await.unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r.status == "failed" && r.slot == "2026-11-02")
    );
    assert_eq!(rows[0].attempt, 3);

    // The next day both run again.
    clock.set(Utc.with_ymd_and_hms(2026, 11, 3, 4, 0, 0).unwrap());
    let next = schedule::tick(&config, &pool, &clock).await.unwrap();
    assert_eq!(next.len(), 2, "{next:?}");
    let runs = schedule::recent(&pool, Job::Retention, 10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(
        runs.iter()
            .all(|r| r.status == "ok" && r.finished_at.is_some())
    );
});
