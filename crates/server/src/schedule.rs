//! The platform's own recurring jobs — the retention job, and (when
//! `[backup]` is configured) a backup followed by pruning — as
//! `aqueduct-jobs` schedules, so they go through the one scheduler every
//! `worker` (and `serve --with-worker`) runs: each tick is enqueued by
//! exactly one replica and run by exactly one worker. By default they run
//! daily at `schedule.hour_utc`; `schedule.period_minutes` changes the
//! period. A failed run is retried after `schedule.retry_minutes`, up to
//! `schedule.max_attempts` attempts. The job rows are the operator-visible
//! status (`aqueduct backup status`, `GET /api/operator/schedules`).

use crate::config::Config;
use aqueduct_core::Clock;
use aqueduct_jobs::{JobCtx, JobError, NewJob, Registry, Schedule};
use aqueduct_tenant::Db;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use std::sync::Arc;

/// Job kind of the retention run.
pub const RETENTION: &str = "retention.run";
/// Job kind of the backup (then prune).
pub const BACKUP: &str = aqueduct_api::metrics::BACKUP_JOB;

/// A scheduled platform job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// `aqueduct retention run`.
    Retention,
    /// `aqueduct backup` then `aqueduct backup prune`.
    Backup,
}

impl Job {
    /// The job kind in the queue.
    pub fn kind(self) -> &'static str {
        match self {
            Job::Retention => RETENTION,
            Job::Backup => BACKUP,
        }
    }
}

fn backup_configured(config: &Config) -> bool {
    !config.backup.bucket.is_empty() && config.backup.key.is_some()
}

/// The platform schedules for this configuration (none when
/// `schedule.enabled = false`).
pub fn schedules(config: &Config) -> Vec<Schedule> {
    if !config.schedule.enabled {
        return Vec::new();
    }
    let every = Duration::minutes(i64::from(config.schedule.period_minutes.max(1)));
    let offset = Some(Duration::hours(i64::from(config.schedule.hour_utc.min(23))));
    let mut out = vec![Schedule {
        name: "platform.retention",
        every,
        job: || NewJob::new(RETENTION, serde_json::json!({})),
        offset,
    }];
    if backup_configured(config) {
        out.push(Schedule {
            name: "platform.backup",
            every,
            job: || NewJob::new(BACKUP, serde_json::json!({})),
            offset,
        });
    }
    out
}

/// Runs one job now (what the handler does), returning the operator message.
pub async fn run_job(
    job: Job,
    config: &Config,
    db: &Db,
    clock: &dyn Clock,
) -> anyhow::Result<String> {
    match job {
        Job::Retention => {
            let limits = crate::retention::limits(config);
            let reports = aqueduct_retention::job::run(db, clock, &limits, false).await?;
            let n: u64 = reports.iter().map(|r| r.anonymised).sum();
            let entries: u64 = reports.iter().map(|r| r.payments.ledger_entries).sum();
            let usage: u64 = reports.iter().map(|r| r.usage.accounts).sum();
            Ok(format!(
                "{n} account(s) anonymised in {} association(s); {entries} payment ledger entries summarised; usage of {usage} account(s) aggregated",
                reports.len()
            ))
        }
        Job::Backup => crate::backup::scheduled(config, db, clock).await,
    }
}

async fn handle(
    job: Job,
    config: &Config,
    db: &Db,
    clock: &dyn Clock,
    ctx: &JobCtx,
) -> Result<(), JobError> {
    match run_job(job, config, db, clock).await {
        Ok(message) => {
            tracing::info!(job = job.kind(), attempt = ctx.attempt, %message, "scheduled job done");
            Ok(())
        }
        Err(e) => {
            let message = format!("{e:#}");
            tracing::error!(job = job.kind(), attempt = ctx.attempt, error = %message, "scheduled job failed");
            if ctx.attempt >= i32::try_from(config.schedule.max_attempts).unwrap_or(i32::MAX) {
                if job == Job::Backup {
                    report_backup_failure(config, db, clock, ctx, &message).await?;
                }
                Err(JobError::Permanent(message))
            } else {
                Err(JobError::RetryAfter {
                    after: Duration::minutes(i64::from(config.schedule.retry_minutes)),
                    message,
                })
            }
        }
    }
}

/// The run gave up: mail `backup_failed` to `[notify] operator_address`
/// (once per failed run: the operator job is deduped by this job's id, so
/// a handler that runs again reports nothing new).
async fn report_backup_failure(
    config: &Config,
    db: &Db,
    clock: &dyn Clock,
    ctx: &JobCtx,
    message: &str,
) -> Result<(), JobError> {
    let Some(to) = config
        .notify
        .operator_address
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    else {
        return Ok(());
    };
    let last_ok = recent(db, Job::Backup, 100)
        .await?
        .into_iter()
        .find(RunRow::ok)
        .map(|r| r.updated_at.date_naive().to_string());
    let mut detail: String = message.chars().take(300).collect();
    if last_ok.is_none() {
        detail.push_str(" (no successful backup on record)");
    }
    let tx = db.system("notify operators: backup failed").await?;
    aqueduct_notify::operator::record(
        tx.conn(),
        clock,
        aqueduct_notify::Kind::BackupFailed,
        &format!("backup:{}", ctx.id),
        to,
        serde_json::json!({
            "detail": detail,
            "date": last_ok,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Adds the platform job handlers to `registry`.
pub fn register(registry: Registry, config: &Config, db: &Db, clock: &Arc<dyn Clock>) -> Registry {
    let mut registry = registry;
    for job in [Job::Retention, Job::Backup] {
        let (config, db, clock) = (config.clone(), db.clone(), clock.clone());
        registry = registry.on(job.kind(), move |ctx| {
            let (config, db, clock) = (config.clone(), db.clone(), clock.clone());
            async move { handle(job, &config, &db, clock.as_ref(), &ctx).await }
        });
    }
    registry
}

/// One run of a scheduled job, as the queue holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRow {
    /// Job kind.
    pub kind: String,
    /// The schedule tick it belongs to (`platform.backup@…`).
    pub tick: Option<String>,
    /// `queued` (also: waiting to retry), `running`, `done` or `dead`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Enqueued (UTC).
    pub created_at: DateTime<Utc>,
    /// Last change (UTC).
    pub updated_at: DateTime<Utc>,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

impl RunRow {
    /// Finished well.
    pub fn ok(&self) -> bool {
        self.status == "done"
    }
    /// Failed at least once (possibly still being retried).
    pub fn failed(&self) -> bool {
        self.last_error.is_some() && !self.ok()
    }
}

/// The most recent runs of `job`, newest first.
pub async fn recent(db: &Db, job: Job, limit: u64) -> Result<Vec<RunRow>, DbErr> {
    let tx = db.system("schedule.status").await?;
    let backend = tx.conn().get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        "SELECT kind, dedupe_key, status, attempts, created_at, updated_at, last_error \
         FROM jobs WHERE kind = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
    } else {
        "SELECT kind, dedupe_key, status, attempts, created_at, updated_at, last_error \
         FROM jobs WHERE kind = ? ORDER BY created_at DESC, id DESC LIMIT ?"
    };
    let rows = tx
        .conn()
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                job.kind().into(),
                i64::try_from(limit).unwrap_or(i64::MAX).into(),
            ],
        ))
        .await?;
    tx.commit().await?;
    rows.into_iter()
        .map(|r| {
            Ok(RunRow {
                kind: r.try_get("", "kind")?,
                tick: r.try_get("", "dedupe_key")?,
                status: r.try_get("", "status")?,
                attempts: r.try_get("", "attempts")?,
                created_at: r.try_get("", "created_at")?,
                updated_at: r.try_get("", "updated_at")?,
                last_error: r.try_get("", "last_error")?,
            })
        })
        .collect()
}

/// The backup watchdog, run by every worker's schedule ticker next to
/// [`watch_queue`]: when backups are scheduled and the newest successful
/// one is older than one and a half schedule periods (36 hours for the
/// daily default), operators get `backup_failed` saying it is overdue —
/// whatever the reason (no worker ran the schedule, every attempt is
/// still retrying, the job never got to run). Once per incident: the
/// subject names the last good backup, so a new success starts a new
/// incident. Nothing before the first scheduled backup job exists.
/// Returns whether a mail was queued.
pub async fn watch_backups(config: &Config, db: &Db, clock: &dyn Clock) -> Result<bool, DbErr> {
    let Some(to) = config
        .notify
        .operator_address
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    else {
        return Ok(false);
    };
    if !config.schedule.enabled || !backup_configured(config) {
        return Ok(false);
    }
    let period = i64::from(config.schedule.period_minutes.max(1));
    let overdue_after = Duration::minutes((period * 3 / 2).max(90));
    let runs = recent(db, Job::Backup, 200).await?;
    let Some(first) = runs.iter().map(|r| r.created_at).min() else {
        return Ok(false);
    };
    let last_ok = runs.iter().filter(|r| r.ok()).map(|r| r.updated_at).max();
    let since = last_ok.unwrap_or(first);
    let now = clock.now();
    if now - since <= overdue_after {
        return Ok(false);
    }
    let hours = (now - since).num_hours();
    let detail = match last_ok {
        Some(at) => format!(
            "No successful backup for {hours} hours (the last one finished {} UTC); \
             the schedule expects one every {} hours.",
            at.format("%Y-%m-%d %H:%M"),
            period / 60
        ),
        None => format!(
            "No successful backup since backups were scheduled {hours} hours ago; \
             the schedule expects one every {} hours.",
            period / 60
        ),
    };
    let subject = format!(
        "backup_overdue:{}",
        last_ok.map_or_else(|| "never".to_owned(), |t| t.to_rfc3339())
    );
    let tx = db.system("notify operators: backup watch").await?;
    let new = aqueduct_notify::operator::record(
        tx.conn(),
        clock,
        aqueduct_notify::Kind::BackupFailed,
        &subject,
        to,
        serde_json::json!({
            "detail": detail,
            "date": last_ok.map(|t| t.date_naive().to_string()),
        }),
    )
    .await?;
    tx.commit().await?;
    if new {
        tracing::warn!(hours_since = hours, "backup overdue: operators notified");
    }
    Ok(new)
}

/// The job queue's watchdog, run by every worker's schedule ticker (not
/// as a job: a stuck queue would not run it). When the oldest ready job
/// has waited longer than `notify.queue_stuck_minutes`, operators get
/// `queue_stuck` — once per incident: the subject is that job's id, so
/// the same stuck job found again (on the next tick, or by another
/// replica) mails nothing new. Returns whether a mail was queued.
pub async fn watch_queue(config: &Config, db: &Db, clock: &dyn Clock) -> Result<bool, DbErr> {
    let (Some(after), Some(to)) = (
        config.notify.queue_stuck_after(),
        config
            .notify
            .operator_address
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty()),
    ) else {
        return Ok(false);
    };
    let now = clock.now();
    let tx = db.system("notify operators: queue watch").await?;
    let backend = tx.conn().get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        "SELECT id, kind, run_at FROM jobs WHERE status = 'queued' AND run_at <= $1 \
         ORDER BY run_at ASC, id ASC LIMIT 1"
    } else {
        "SELECT id, kind, run_at FROM jobs WHERE status = 'queued' AND run_at <= ? \
         ORDER BY run_at ASC, id ASC LIMIT 1"
    };
    let row = tx
        .conn()
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [(now - after).into()],
        ))
        .await?;
    let Some(row) = row else {
        tx.commit().await?;
        return Ok(false);
    };
    let id: uuid::Uuid = row.try_get("", "id")?;
    let kind: String = row.try_get("", "kind")?;
    let since: DateTime<Utc> = row.try_get("", "run_at")?;
    let waited = (now - since).num_minutes();
    let new = aqueduct_notify::operator::record(
        tx.conn(),
        clock,
        aqueduct_notify::Kind::QueueStuck,
        &format!("queue:{id}"),
        to,
        serde_json::json!({
            "detail": format!(
                "The oldest ready job ({kind}, {id}) has waited {waited} minutes, since {} UTC.",
                since.format("%Y-%m-%d %H:%M")
            ),
        }),
    )
    .await?;
    tx.commit().await?;
    if new {
        tracing::warn!(job = %id, kind = %kind, waited_minutes = waited, "job queue stuck: operators notified");
    }
    Ok(new)
}
