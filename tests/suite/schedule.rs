//! The platform's recurring jobs (retention; backup then prune) go through
//! the job queue's schedules: each daily tick is enqueued by one replica
//! only and run by one worker only, from the configured hour; a failed run
//! is retried after a pause up to a limit, every run visible as a job row.

use crate::db_test;
use crate::support::db::config_for;
use aqueduct_core::{Clock, ManualClock, Secret};
use aqueduct_jobs::{Registry, Worker, tick_schedules};
use aqueduct_server::schedule::{self, Job};
use chrono::{Duration, TimeZone, Utc};
use std::sync::Arc;

db_test!(daily_jobs_run_once_and_failures_are_retried, |db| {
    let pool = db.app_pool(3).await;
    let mut config = config_for(&db.app_url);
    config.schedule.hour_utc = 3;
    // A backup with an unusable key fails at once, without any storage.
    config.backup.bucket = "b".into();
    config.backup.key = Some(Secret::new("not-a-key"));
    let manual = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 2, 2, 50, 0).unwrap(),
    ));
    let clock: Arc<dyn Clock> = manual.clone();
    let schedules = schedule::schedules(&config);
    assert_eq!(schedules.len(), 2, "retention and backup");
    let worker = |name: &str| {
        Worker::new(
            pool.clone(),
            clock.clone(),
            schedule::register(Registry::new(), &config, &pool, &clock),
            name,
        )
    };
    let (w1, w2) = (worker("w1"), worker("w2"));

    // Before the hour: nothing is due.
    assert!(
        tick_schedules(&pool, clock.as_ref(), &schedules)
            .await
            .unwrap()
            .is_empty()
    );

    // After it: two replicas tick at once, each schedule fires once.
    manual.advance(Duration::minutes(20));
    let (a, b) = tokio::join!(
        tick_schedules(&pool, clock.as_ref(), &schedules),
        tick_schedules(&pool, clock.as_ref(), &schedules)
    );
    let mut fired = a.unwrap();
    fired.extend(b.unwrap());
    fired.sort_unstable();
    assert_eq!(fired, ["platform.backup", "platform.retention"]);
    // Two workers: each job runs once; retention succeeds, the backup fails.
    let (s1, s2) = tokio::join!(w1.run_until_idle(), w2.run_until_idle());
    let (s1, s2) = (s1.unwrap(), s2.unwrap());
    assert_eq!(s1.claimed + s2.claimed, 2, "{s1:?} {s2:?}");
    assert_eq!((s1.done + s2.done, s1.retried + s2.retried), (1, 1));
    let runs = schedule::recent(&pool, Job::Retention, 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert!(runs[0].ok() && runs[0].attempts == 1, "{runs:?}");
    let backups = schedule::recent(&pool, Job::Backup, 10).await.unwrap();
    assert_eq!(backups.len(), 1);
    assert!(backups[0].failed(), "{backups:?}");
    assert!(
        backups[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("ID:BASE64")),
        "{backups:?}"
    );

    // Ten minutes later: nothing to tick, the backup rests.
    manual.advance(Duration::minutes(10));
    assert!(
        tick_schedules(&pool, clock.as_ref(), &schedules)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(w1.run_until_idle().await.unwrap().claimed, 0);
    // After the retry pause: attempt 2, then 3, then no more.
    for _ in 0..3 {
        manual.advance(Duration::minutes(31));
        w1.run_until_idle().await.unwrap();
    }
    let backups = schedule::recent(&pool, Job::Backup, 10).await.unwrap();
    assert_eq!(backups.len(), 1, "one run, retried: {backups:?}");
    assert_eq!(
        (backups[0].status.as_str(), backups[0].attempts),
        ("dead", 3)
    );

    // The next day both run again, once.
    manual.set(Utc.with_ymd_and_hms(2026, 11, 3, 3, 1, 0).unwrap());
    let (a, b) = tokio::join!(
        tick_schedules(&pool, clock.as_ref(), &schedules),
        tick_schedules(&pool, clock.as_ref(), &schedules)
    );
    assert_eq!(a.unwrap().len() + b.unwrap().len(), 2);
    w1.run_until_idle().await.unwrap();
    let runs = schedule::recent(&pool, Job::Retention, 10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(schedule::RunRow::ok), "{runs:?}");
    assert_ne!(runs[0].tick, runs[1].tick);
    assert_eq!(
        schedule::recent(&pool, Job::Backup, 10)
            .await
            .unwrap()
            .len(),
        2
    );
});

db_test!(schedules_follow_the_configuration, |db| {
    let mut config = config_for(&db.app_url);
    // No backup configured: only retention.
    let s = schedule::schedules(&config);
    assert_eq!(
        s.iter().map(|s| s.name).collect::<Vec<_>>(),
        ["platform.retention"]
    );
    assert_eq!(s[0].every, Duration::days(1));
    assert_eq!(s[0].offset, Some(Duration::hours(3)));
    config.schedule.period_minutes = 60;
    assert_eq!(schedule::schedules(&config)[0].every, Duration::hours(1));
    config.schedule.enabled = false;
    assert!(schedule::schedules(&config).is_empty());
});

db_test!(operators_see_a_failing_backup, |db| {
    use crate::support::TestApp;
    use crate::support::browser::{self, Browser, PASSWORD};
    let app = TestApp::new(db).await;
    let mut config = config_for(&app.db.app_url);
    config.backup.bucket = "b".into();
    config.backup.key = Some(Secret::new("not-a-key"));
    let clock: Arc<dyn Clock> = app.clock.clone();
    let schedules = schedule::schedules(&config);
    tick_schedules(&app.pool, clock.as_ref(), &schedules)
        .await
        .unwrap();
    app.clock.advance(Duration::days(1));
    assert_eq!(
        tick_schedules(&app.pool, clock.as_ref(), &schedules)
            .await
            .unwrap()
            .len(),
        2
    );
    Worker::new(
        app.pool.clone(),
        clock.clone(),
        schedule::register(Registry::new(), &config, &app.pool, &clock),
        "w",
    )
    .run_until_idle()
    .await
    .unwrap();
    browser::operator(&app.pool, clock.as_ref(), "ops@platform.test").await;
    let mut op = Browser::default();
    op.sign_in(&app, "ops@platform.test", PASSWORD).await;
    op.enrol_totp(&app).await;
    let status = op.get(&app, "/api/v1/operator/schedules").await.json();
    assert_eq!(status["backup"]["failing"], true, "{status}");
    assert!(
        status["backup"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("ID:BASE64")),
        "{status}"
    );
    assert!(status["backup"]["last_ok_at"].is_null());
    let names: Vec<_> = status["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["platform.backup", "platform.retention"]);
    let retention = status["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "retention.run")
        .unwrap();
    assert_eq!(retention["status"], "done");
});
