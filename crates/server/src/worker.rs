//! `aqueduct worker` and `serve --with-worker`: the job handlers and the
//! schedules of the whole product, in one place.

use crate::config::Config;
use aqueduct_core::Clock;
use aqueduct_jobs::{Registry, Schedule, Worker, tick_schedules};
use aqueduct_notify::{LogSender, Sender};
use aqueduct_tenant::Db;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Every job kind the product runs, with its handler; notifications are
/// only logged (development and tests that do not read mail).
pub fn registry(db: &Db, clock: &Arc<dyn Clock>) -> Registry {
    registry_with(db, clock, Arc::new(LogSender))
}

/// Every job kind the product runs, with its handler, sending
/// notifications through `sender`. Each area adds its handlers here.
pub fn registry_with(db: &Db, clock: &Arc<dyn Clock>, sender: Arc<dyn Sender>) -> Registry {
    let mut registry = Registry::new();
    // payments
    let (pdb, pclock) = (db.clone(), clock.clone());
    registry = registry.on(aqueduct_payments::EVENT_JOB, move |job| {
        let (db, clock) = (pdb.clone(), pclock.clone());
        async move { aqueduct_payments::events::handle(&db, clock.as_ref(), job).await }
    });
    // billing: the daily customer notices
    let (bdb, bclock) = (db.clone(), clock.clone());
    registry = registry.on(aqueduct_billing::notices::NOTICES_JOB, move |_job| {
        let (db, clock) = (bdb.clone(), bclock.clone());
        async move {
            let reports = aqueduct_billing::notices::run_all(&db, clock.as_ref())
                .await
                .map_err(|e| aqueduct_jobs::JobError::Retry(e.to_string()))?;
            let queued: u64 = reports
                .iter()
                .map(|r| r.reminders + r.past_due + r.shutoff)
                .sum();
            tracing::info!(
                associations = reports.len(),
                queued,
                "daily notices recorded"
            );
            Ok(())
        }
    });
    // notifications
    let (ndb, nclock) = (db.clone(), clock.clone());
    let osender = sender.clone();
    registry
        .on(aqueduct_notify::DELIVER_JOB, move |job| {
            let (db, clock, sender) = (ndb.clone(), nclock.clone(), sender.clone());
            async move {
                aqueduct_notify::deliver::handle(&db, clock.as_ref(), sender.as_ref(), job).await
            }
        })
        .on(aqueduct_notify::operator::OPERATOR_JOB, move |job| {
            let sender = osender.clone();
            async move { aqueduct_notify::operator::handle(sender.as_ref(), job).await }
        })
}

/// The notification sender and identity mailer the configuration asks
/// for: SMTP when `[smtp]` is set, otherwise the logging stand-ins.
pub fn mail_from_config(
    config: &crate::config::Config,
) -> anyhow::Result<(Arc<dyn Sender>, Arc<dyn aqueduct_tenant::mailer::Mailer>)> {
    match &config.smtp {
        Some(smtp) => {
            let sender = aqueduct_notify::SmtpSender::new(smtp)
                .map_err(|e| anyhow::anyhow!("configuring SMTP: {e}"))?;
            Ok((Arc::new(sender.clone()), Arc::new(sender)))
        }
        None => Ok((
            Arc::new(LogSender),
            Arc::new(aqueduct_tenant::mailer::LogMailer),
        )),
    }
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
    sender: Arc<dyn Sender>,
    name: String,
    shutdown: impl Future<Output = ()>,
) {
    let registry =
        crate::schedule::register(registry_with(&db, &clock, sender), config, &db, &clock);
    let worker = Worker::new(db.clone(), clock.clone(), registry, name);
    let mut schedules = schedules();
    schedules.extend(crate::schedule::schedules(config));
    let every = Duration::from_secs(u64::from(config.schedule.tick_seconds.max(1)));
    let ticker = async {
        loop {
            if let Err(e) = tick_schedules(&db, clock.as_ref(), &schedules).await {
                tracing::error!(error = %e, "schedule tick failed");
            }
            if let Err(e) = crate::schedule::watch_queue(config, &db, clock.as_ref()).await {
                tracing::error!(error = %e, "job queue watch failed");
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
