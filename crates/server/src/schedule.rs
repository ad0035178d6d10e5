//! The in-process scheduler `aqueduct serve` runs: the retention job and
//! (when `[backup]` is configured) a backup followed by pruning, once a day
//! after `schedule.hour_utc`. Every replica runs the scheduler; each attempt
//! is claimed by inserting a row in `scheduled_runs` (unique per job, day
//! and attempt), so exactly one replica runs it. A failed attempt is retried
//! after `schedule.retry_minutes`, up to `schedule.max_attempts` a day. The
//! rows are the operator-visible status (`aqueduct backup status`).

use crate::config::Config;
use aqueduct_core::Clock;
use aqueduct_tenant::Db;
use chrono::{DateTime, Duration, Timelike, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, IntoActiveModel, QueryOrder};
use std::sync::Arc;

/// `scheduled_runs` rows.
pub mod run_row {
    use sea_orm::entity::prelude::*;

    /// One attempt of a scheduled job.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "scheduled_runs")]
    pub struct Model {
        /// Attempt id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// `retention` or `backup`.
        pub job: String,
        /// The day (UTC) it runs for, `YYYY-MM-DD`.
        pub slot: String,
        /// 1, 2, 3…
        pub attempt: i32,
        /// Started (UTC).
        pub started_at: DateTimeUtc,
        /// Finished (UTC).
        pub finished_at: Option<DateTimeUtc>,
        /// `running`, `ok` or `failed`.
        pub status: String,
        /// What happened, for the operator.
        pub message: Option<String>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A scheduled job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// `aqueduct retention run`.
    Retention,
    /// `aqueduct backup` then `aqueduct backup prune`.
    Backup,
}

impl Job {
    fn name(self) -> &'static str {
        match self {
            Job::Retention => "retention",
            Job::Backup => "backup",
        }
    }
}

/// What one tick did for one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickOutcome {
    /// Ran and succeeded (message).
    Ran(String),
    /// Ran and failed (message).
    Failed(String),
}

/// An attempt still `running` after this long is presumed dead.
const STALE: i64 = 3;

async fn claim(
    db: &Db,
    job: Job,
    now: DateTime<Utc>,
    config: &Config,
) -> Result<Option<run_row::Model>, DbErr> {
    let slot = now.format("%Y-%m-%d").to_string();
    let runs = run_row::Entity::find()
        .filter(run_row::Column::Job.eq(job.name()))
        .filter(run_row::Column::Slot.eq(&slot))
        .order_by_asc(run_row::Column::Attempt)
        .all(db.maintenance())
        .await?;
    if runs.iter().any(|r| r.status == "ok") {
        return Ok(None);
    }
    if let Some(last) = runs.last() {
        let busy = last.status == "running" && now - last.started_at < Duration::hours(STALE);
        let resting = last
            .finished_at
            .is_some_and(|f| now - f < Duration::minutes(i64::from(config.schedule.retry_minutes)));
        if busy || resting || runs.len() >= config.schedule.max_attempts as usize {
            return Ok(None);
        }
    }
    let row = run_row::Model {
        id: Uuid::now_v7(),
        job: job.name().into(),
        slot,
        attempt: i32::try_from(runs.len()).unwrap_or(i32::MAX - 1) + 1,
        started_at: now,
        finished_at: None,
        status: "running".into(),
        message: None,
    };
    // Another replica may claim the same attempt first: then it is theirs.
    match run_row::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(db.maintenance())
        .await
    {
        Ok(_) => Ok(Some(row)),
        Err(e) if e.to_string().to_lowercase().contains("unique") => Ok(None),
        Err(e) => Err(e),
    }
}

async fn run_job(job: Job, config: &Config, db: &Db, clock: &dyn Clock) -> anyhow::Result<String> {
    match job {
        Job::Retention => {
            let limits = crate::retention::limits(config);
            let reports = aqueduct_retention::job::run(db, clock, &limits, false).await?;
            let n: u64 = reports.iter().map(|r| r.anonymised).sum();
            Ok(format!(
                "{n} account(s) anonymised in {} association(s)",
                reports.len()
            ))
        }
        Job::Backup => crate::backup::scheduled(config, clock).await,
    }
}

/// One pass: runs each due job whose attempt this process claims.
pub async fn tick(
    config: &Config,
    db: &Db,
    clock: &dyn Clock,
) -> anyhow::Result<Vec<(Job, TickOutcome)>> {
    let now = clock.now();
    let mut out = Vec::new();
    if now.hour() < config.schedule.hour_utc {
        return Ok(out);
    }
    let mut jobs = vec![Job::Retention];
    if !config.backup.bucket.is_empty() && config.backup.key.is_some() {
        jobs.push(Job::Backup);
    }
    for job in jobs {
        let Some(row) = claim(db, job, now, config).await? else {
            continue;
        };
        let result = run_job(job, config, db, clock).await;
        let (status, message, outcome) = match result {
            Ok(m) => ("ok", m.clone(), TickOutcome::Ran(m)),
            Err(e) => {
                let m = format!("{e:#}");
                tracing::error!(job = job.name(), attempt = row.attempt, error = %m, "scheduled job failed");
                ("failed", m.clone(), TickOutcome::Failed(m))
            }
        };
        let mut active = row.into_active_model();
        active.status = Set(status.into());
        active.message = Set(Some(message));
        active.finished_at = Set(Some(clock.now()));
        active.update(db.maintenance()).await?;
        out.push((job, outcome));
    }
    Ok(out)
}

/// The most recent attempts, newest first.
pub async fn recent(db: &Db, job: Job, limit: u64) -> Result<Vec<run_row::Model>, DbErr> {
    use sea_orm::QuerySelect;
    run_row::Entity::find()
        .filter(run_row::Column::Job.eq(job.name()))
        .order_by_desc(run_row::Column::Id)
        .limit(limit)
        .all(db.maintenance())
        .await
}

/// Starts the scheduler in the background (when `schedule.enabled`).
pub fn spawn(config: Config, db: Db, clock: Arc<dyn Clock>) {
    if !config.schedule.enabled {
        tracing::info!("scheduler disabled (schedule.enabled = false)");
        return;
    }
    tokio::spawn(async move {
        let every =
            std::time::Duration::from_secs(u64::from(config.schedule.check_minutes.max(1)) * 60);
        loop {
            if let Err(e) = tick(&config, &db, clock.as_ref()).await {
                tracing::error!(error = %format!("{e:#}"), "scheduler tick failed");
            }
            tokio::time::sleep(every).await;
        }
    });
}
