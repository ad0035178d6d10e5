//! The durable job queue and schedules.

use crate::db_test;
use crate::support::{TestApp, seed};
use aqueduct_jobs::{
    Enqueued, JobError, NewJob, Registry, Schedule, Worker, enqueue, stats, tick_schedules,
};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type Runs = Arc<Mutex<HashMap<String, u32>>>;

fn counting_registry(runs: Runs) -> Registry {
    let r1 = runs.clone();
    let r2 = runs.clone();
    Registry::new()
        .on("test.count", move |ctx| {
            let runs = r1.clone();
            async move {
                let key = ctx.payload["n"].to_string();
                *runs.lock().unwrap().entry(key).or_default() += 1;
                Ok(())
            }
        })
        .on("test.flaky", move |ctx| {
            let runs = r2.clone();
            async move {
                *runs.lock().unwrap().entry("flaky".into()).or_default() += 1;
                if ctx.attempt < 3 {
                    Err(JobError::Retry("not yet".into()))
                } else {
                    Ok(())
                }
            }
        })
        .on("test.broken", |_| async {
            Err(JobError::Permanent("never works".into()))
        })
}

db_test!(jobs_commit_with_their_transaction_and_dedupe, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    // Rolled back: no job.
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let job = NewJob::new("test.count", json!({"n": 1})).for_tenant(a.tenant.id());
    assert!(matches!(
        enqueue(tx.conn(), app.clock.as_ref(), job.clone())
            .await
            .unwrap(),
        Enqueued::New(_)
    ));
    tx.rollback().await.unwrap();
    assert_eq!(
        stats(&app.pool, app.clock.as_ref()).await.unwrap().queued,
        0
    );
    // Committed, twice with one key: one job.
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let keyed = job.dedupe("payment:pi_123");
    assert!(matches!(
        enqueue(tx.conn(), app.clock.as_ref(), keyed.clone())
            .await
            .unwrap(),
        Enqueued::New(_)
    ));
    assert_eq!(
        enqueue(tx.conn(), app.clock.as_ref(), keyed).await.unwrap(),
        Enqueued::Duplicate
    );
    tx.commit().await.unwrap();
    assert_eq!(
        stats(&app.pool, app.clock.as_ref()).await.unwrap().queued,
        1
    );

    let runs: Runs = Arc::default();
    let worker = Worker::new(
        app.pool.clone(),
        app.clock.clone(),
        counting_registry(runs.clone()),
        "w1",
    );
    let s = worker.run_until_idle().await.unwrap();
    assert_eq!((s.claimed, s.done), (1, 1));
    assert_eq!(runs.lock().unwrap().get("1"), Some(&1));
    assert_eq!(
        stats(&app.pool, app.clock.as_ref()).await.unwrap().queued,
        0
    );
});

db_test!(retries_back_off_and_permanent_errors_stop, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    for kind in ["test.flaky", "test.broken", "test.unknown"] {
        enqueue(
            tx.conn(),
            app.clock.as_ref(),
            NewJob::new(kind, json!({})).for_tenant(a.tenant.id()),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let runs: Runs = Arc::default();
    let worker = Worker::new(
        app.pool.clone(),
        app.clock.clone(),
        counting_registry(runs.clone()),
        "w1",
    );
    let first = worker.run_until_idle().await.unwrap();
    assert_eq!((first.claimed, first.retried, first.dead), (3, 1, 2));
    // Backoff: nothing is due until the clock moves.
    assert_eq!(worker.run_until_idle().await.unwrap().claimed, 0);
    app.clock.advance(chrono::Duration::seconds(3));
    assert_eq!(worker.run_until_idle().await.unwrap().retried, 1);
    app.clock.advance(chrono::Duration::seconds(5));
    assert_eq!(worker.run_until_idle().await.unwrap().done, 1);
    assert_eq!(runs.lock().unwrap().get("flaky"), Some(&3));
    let s = stats(&app.pool, app.clock.as_ref()).await.unwrap();
    assert_eq!((s.queued, s.running, s.dead), (0, 0, 2));
});

db_test!(two_workers_run_each_job_once, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    for n in 0..60 {
        enqueue(
            tx.conn(),
            app.clock.as_ref(),
            NewJob::new("test.count", json!({"n": n})).for_tenant(a.tenant.id()),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let runs: Runs = Arc::default();
    let w1 = Worker::new(
        app.pool.clone(),
        app.clock.clone(),
        counting_registry(runs.clone()),
        "w1",
    );
    let w2 = Worker::new(
        app.pool.clone(),
        app.clock.clone(),
        counting_registry(runs.clone()),
        "w2",
    );
    let (s1, s2) = tokio::join!(w1.run_until_idle(), w2.run_until_idle());
    assert_eq!(s1.unwrap().done + s2.unwrap().done, 60);
    let runs = runs.lock().unwrap();
    assert_eq!(runs.len(), 60);
    assert!(runs.values().all(|&n| n == 1), "a job ran twice: {runs:?}");
});

db_test!(a_schedule_fires_once_per_tick_across_replicas, |db| {
    let app = TestApp::new(db).await;
    let schedules = [Schedule {
        name: "test.daily",
        every: chrono::Duration::days(1),
        job: || NewJob::new("test.count", json!({"n": "daily"})),
        offset: None,
    }];
    let (r1, r2) = tokio::join!(
        tick_schedules(&app.pool, app.clock.as_ref(), &schedules),
        tick_schedules(&app.pool, app.clock.as_ref(), &schedules),
    );
    assert_eq!(r1.unwrap().len() + r2.unwrap().len(), 1);
    assert!(
        tick_schedules(&app.pool, app.clock.as_ref(), &schedules)
            .await
            .unwrap()
            .is_empty()
    );
    app.clock.advance(chrono::Duration::days(1));
    assert_eq!(
        tick_schedules(&app.pool, app.clock.as_ref(), &schedules)
            .await
            .unwrap(),
        ["test.daily"]
    );
    let runs: Runs = Arc::default();
    let worker = Worker::new(
        app.pool.clone(),
        app.clock.clone(),
        counting_registry(runs.clone()),
        "w1",
    );
    assert_eq!(worker.run_until_idle().await.unwrap().done, 2);
});

db_test!(shutdown_returns_claimed_jobs_to_the_queue, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    for n in 0..10 {
        enqueue(
            tx.conn(),
            app.clock.as_ref(),
            NewJob::new("test.slow", json!({"n": n})).for_tenant(a.tenant.id()),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let ran = Arc::new(Mutex::new(0u32));
    let stop = Arc::new(tokio::sync::Notify::new());
    let (r, s) = (ran.clone(), stop.clone());
    let registry = Registry::new().on("test.slow", move |_| {
        let (ran, stop) = (r.clone(), s.clone());
        async move {
            *ran.lock().unwrap() += 1;
            // Shutdown arrives while the first job is in hand.
            stop.notify_one();
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            Ok(())
        }
    });
    let worker = Worker::new(app.pool.clone(), app.clock.clone(), registry.clone(), "w1");
    let signal = stop.clone();
    worker
        .run(std::time::Duration::from_millis(10), async move {
            signal.notified().await
        })
        .await;
    assert_eq!(*ran.lock().unwrap(), 1, "only the job in hand finishes");
    let s = stats(&app.pool, app.clock.as_ref()).await.unwrap();
    assert_eq!(
        (s.queued, s.running),
        (9, 0),
        "the rest went back to the queue"
    );
    // Another worker picks them up at once (no lease to wait out).
    let other = Worker::new(app.pool.clone(), app.clock.clone(), registry, "w2");
    assert_eq!(other.run_until_idle().await.unwrap().done, 9);
    assert_eq!(*ran.lock().unwrap(), 10);
});

db_test!(
    queue_metrics_by_kind_show_lag_failures_and_last_success,
    |db| {
        use aqueduct_api::{AppState, Settings};
        use aqueduct_core::Clock as _;
        use tower::ServiceExt;
        let app = TestApp::new(db).await;
        let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let tx = app.pool.tenant(&a.tenant).await.unwrap();
        for job in [
            NewJob::new("test.count", json!({"n": 1})),
            NewJob::new("test.count", json!({"n": 2})),
            NewJob::new("test.broken", json!({})),
            NewJob::new("backup.run", json!({})),
        ] {
            enqueue(tx.conn(), app.clock.as_ref(), job.for_tenant(a.tenant.id()))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        app.clock.advance(chrono::Duration::seconds(90));
        let kinds = aqueduct_jobs::stats_by_kind(&app.pool, app.clock.as_ref())
            .await
            .unwrap();
        let count = kinds.iter().find(|k| k.kind == "test.count").unwrap();
        assert_eq!((count.queued, count.dead), (2, 0));
        assert_eq!(count.oldest_due_age_secs, 90, "waiting since enqueued");
        assert_eq!(count.last_done_at, None);

        let runs = Runs::default();
        let registry = counting_registry(runs).on("backup.run", |_| async { Ok(()) });
        let worker = Worker::new(app.pool.clone(), app.clock.clone(), registry, "w1");
        worker.run_until_idle().await.unwrap();
        let finished = app.clock.now();
        let kinds = aqueduct_jobs::stats_by_kind(&app.pool, app.clock.as_ref())
            .await
            .unwrap();
        let by = |k: &str| kinds.iter().find(|s| s.kind == k).unwrap().clone();
        assert_eq!(by("test.count").queued, 0);
        assert_eq!(by("test.count").oldest_due_age_secs, 0);
        assert_eq!(by("test.count").last_done_at, Some(finished));
        assert_eq!(by("test.broken").dead, 1);
        assert_eq!(by("test.broken").last_done_at, None);

        // The Prometheus text an operator alerts on.
        app.clock.advance(chrono::Duration::seconds(3600));
        let state = AppState::new(
            app.pool.clone(),
            app.clock.clone(),
            Settings {
                public_url: "http://aqueduct.test".into(),
                tls: false,
                trusted_proxy: false,
            },
        );
        let res = aqueduct_api::metrics_app(state)
            .oneshot(
                axum::http::Request::get("/metrics")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let body = http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap()
            .to_bytes();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            text.contains("aqueduct_job_kind_dead{kind=\"test.broken\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("aqueduct_job_kind_queued{kind=\"test.count\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("aqueduct_backup_last_success_age_seconds 3600\n"),
            "{text}"
        );
        assert!(text.contains("aqueduct_webhook_lag_seconds 0\n"), "{text}");
    }
);
