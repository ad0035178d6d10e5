//! `aqueduct worker` and `serve --with-worker`: the job handlers and the
//! schedules of the whole product, in one place.

use crate::config::Config;
use aqueduct_core::Clock;
use aqueduct_jobs::{Registry, Schedule, Worker, tick_schedules};
use aqueduct_tenant::Db;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Every job kind the product runs, with its handler. Each area adds its
/// handlers here.
pub fn registry(db: &Db, clock: &Arc<dyn Clock>) -> Registry {
    let registry = Registry::new();
    // payments
    let (pdb, pclock) = (db.clone(), clock.clone());
    registry.on(aqueduct_payments::EVENT_JOB, move |job| {
        let (db, clock) = (pdb.clone(), pclock.clone());
        async move { aqueduct_payments::events::handle(&db, clock.as_ref(), job).await }
    })
}

/// Every recurring job. Each area adds its schedules here.
pub fn schedules() -> Vec<Schedule> {
    Vec::new()
}

/// Runs the worker loop and the schedule ticker until `shutdown` resolves.
pub async fn run(
    config: &Config,
    db: Db,
    clock: Arc<dyn Clock>,
    name: String,
    shutdown: impl Future<Output = ()>,
) {
    let registry = crate::schedule::register(registry(&db, &clock), config, &db, &clock);
    let worker = Worker::new(db.clone(), clock.clone(), registry, name);
    let mut schedules = schedules();
    schedules.extend(crate::schedule::schedules(config));
    let every = Duration::from_secs(u64::from(config.schedule.tick_seconds.max(1)));
    let ticker = async {
        loop {
            if let Err(e) = tick_schedules(&db, clock.as_ref(), &schedules).await {
                tracing::error!(error = %e, "schedule tick failed");
            }
            tokio::time::sleep(every).await;
        }
    };
    tokio::pin!(shutdown);
    tokio::select! {
        () = worker.run(Duration::from_millis(500), &mut shutdown) => {}
        () = ticker => {}
    }
    tracing::info!("worker stopped");
}
