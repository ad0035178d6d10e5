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

/// Where bill PDFs attached to mail link to when no configuration says
/// (tests and tools that build a registry without one).
pub const DEFAULT_PUBLIC_URL: &str = "http://localhost:8080";

/// Every job kind the product runs, with its handler, sending
/// notifications through `sender`. Each area adds its handlers here.
pub fn registry_with(db: &Db, clock: &Arc<dyn Clock>, sender: Arc<dyn Sender>) -> Registry {
    registry_for(db, clock, sender, DEFAULT_PUBLIC_URL)
}

/// [`registry_with`], with bill PDFs (attached to "bill ready" mails)
/// linking to the pay page under `public_url`.
pub fn registry_for(
    db: &Db,
    clock: &Arc<dyn Clock>,
    sender: Arc<dyn Sender>,
    public_url: &str,
) -> Registry {
    let mut registry = Registry::new();
    // payments
    let (pdb, pclock) = (db.clone(), clock.clone());
    registry = registry.on(aqueduct_payments::EVENT_JOB, move |job| {
        let (db, clock) = (pdb.clone(), pclock.clone());
        async move { aqueduct_payments::events::handle(&db, clock.as_ref(), job).await }
    });
    // billing
    let (bdb, bclock) = (db.clone(), clock.clone());
    registry = registry.on(aqueduct_billing::finalize_job::FINALIZE_JOB, move |job| {
        let (db, clock) = (bdb.clone(), bclock.clone());
        async move { aqueduct_billing::finalize_job::handle(&db, clock.as_ref(), job).await }
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
    let attach: Arc<dyn aqueduct_notify::Attachments> = Arc::new(
        aqueduct_api::BillPdfAttachments::new(db.clone(), public_url),
    );
    registry
        .on(aqueduct_notify::DELIVER_JOB, move |job| {
            let (db, clock, sender) = (ndb.clone(), nclock.clone(), sender.clone());
            let attach = attach.clone();
            async move {
                aqueduct_notify::deliver::handle_with(
                    &db,
                    clock.as_ref(),
                    sender.as_ref(),
                    attach.as_ref(),
                    job,
                )
                .await
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

/// The payments jobs that talk to Stripe: the daily autopay run, the
/// reconciliation sweep and payout reconciliation. Without Stripe
/// configured they finish at once and do nothing.
pub fn with_payments(
    registry: Registry,
    db: &Db,
    clock: &Arc<dyn Clock>,
    stripe: Option<aqueduct_payments::Stripe>,
) -> Registry {
    use aqueduct_jobs::JobError;
    let stripe = Arc::new(stripe);
    let (adb, aclock, astripe) = (db.clone(), clock.clone(), stripe.clone());
    let (sdb, sclock, sstripe) = (db.clone(), clock.clone(), stripe.clone());
    let (pdb, pclock, pstripe) = (db.clone(), clock.clone(), stripe.clone());
    let (mdb, mclock, mstripe) = (db.clone(), clock.clone(), stripe);
    registry
        .on(aqueduct_payments::AUTOPAY_JOB, move |_job| {
            let (db, clock, stripe) = (adb.clone(), aclock.clone(), astripe.clone());
            async move {
                let Some(stripe) = stripe.as_ref() else {
                    tracing::info!("autopay: Stripe is not configured, nothing to do");
                    return Ok(());
                };
                let report = aqueduct_payments::autopay::run(&db, clock.as_ref(), stripe)
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))?;
                tracing::info!(?report, "autopay run done");
                Ok(())
            }
        })
        .on(aqueduct_payments::SWEEP_JOB, move |_job| {
            let (db, clock, stripe) = (sdb.clone(), sclock.clone(), sstripe.clone());
            async move {
                let Some(stripe) = stripe.as_ref() else {
                    return Ok(());
                };
                let report = aqueduct_payments::sweep::run(&db, clock.as_ref(), stripe)
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))?;
                tracing::info!(?report, "reconciliation sweep done");
                Ok(())
            }
        })
        .on(aqueduct_payments::PAYOUT_JOB, move |job| {
            let (db, clock, stripe) = (pdb.clone(), pclock.clone(), pstripe.clone());
            async move {
                let Some(stripe) = stripe.as_ref() else {
                    return Err(JobError::Retry("Stripe is not configured".into()));
                };
                aqueduct_payments::payouts::handle(&db, clock.as_ref(), stripe, job).await
            }
        })
        .on(aqueduct_payments::AUTOPAY_METHOD_JOB, move |job| {
            let (db, clock, stripe) = (mdb.clone(), mclock.clone(), mstripe.clone());
            async move {
                let Some(stripe) = stripe.as_ref() else {
                    return Err(JobError::Retry("Stripe is not configured".into()));
                };
                aqueduct_payments::autopay::handle_method_job(&db, clock.as_ref(), stripe, job)
                    .await
            }
        })
}

/// Stripe from the configuration, when a secret key is set.
pub fn stripe_from(config: &Config) -> Option<aqueduct_payments::Stripe> {
    let settings = config.stripe.settings(&config.server.public_url)?;
    match aqueduct_payments::Stripe::new(settings) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(error = %e, "Stripe is configured but the client failed to build");
            None
        }
    }
}

/// Every recurring job. Each area adds its schedules here.
pub fn schedules() -> Vec<Schedule> {
    vec![
        // Autopay: daily at 13:00 UTC (morning in the US).
        Schedule {
            name: "payments.autopay",
            every: chrono::Duration::days(1),
            job: || {
                aqueduct_jobs::NewJob::new(aqueduct_payments::AUTOPAY_JOB, serde_json::json!({}))
            },
            offset: Some(chrono::Duration::hours(13)),
        },
        // The customer notices (due reminders, past due, shut-off): daily
        // at 14:00 UTC, after autopay has had its turn.
        Schedule {
            name: "billing.notices",
            every: chrono::Duration::days(1),
            job: || {
                aqueduct_jobs::NewJob::new(
                    aqueduct_billing::notices::NOTICES_JOB,
                    serde_json::json!({}),
                )
            },
            offset: Some(chrono::Duration::hours(14)),
        },
        // The reconciliation sweep: hourly.
        Schedule {
            name: "payments.sweep",
            every: chrono::Duration::hours(1),
            job: || aqueduct_jobs::NewJob::new(aqueduct_payments::SWEEP_JOB, serde_json::json!({})),
            offset: Some(chrono::Duration::minutes(17)),
        },
    ]
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
    let registry = crate::schedule::register(
        registry_for(&db, &clock, sender, &config.server.public_url),
        config,
        &db,
        &clock,
    );
    let registry = with_payments(registry, &db, &clock, stripe_from(config));
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
            if let Err(e) = crate::schedule::watch_backups(config, &db, clock.as_ref()).await {
                tracing::error!(error = %e, "backup watch failed");
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
