//! Claiming and running jobs.

use crate::queue::{JobStatus, rewrite};
use aqueduct_core::{Clock, TenantId};
use aqueduct_tenant::Db;
use chrono::Duration;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use uuid::Uuid;

/// How a job failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JobError {
    /// Temporary: try again later (network down, lock timeout).
    #[error("retry: {0}")]
    Retry(String),
    /// Will never succeed (bad payload, object gone): stop.
    #[error("permanent: {0}")]
    Permanent(String),
    /// Temporary, with the pause chosen by the handler (e.g. a configured
    /// retry interval) instead of the exponential backoff.
    #[error("retry in {after}: {message}")]
    RetryAfter {
        /// Pause before the next attempt.
        after: Duration,
        /// What went wrong.
        message: String,
    },
}

impl From<DbErr> for JobError {
    fn from(e: DbErr) -> Self {
        JobError::Retry(e.to_string())
    }
}

/// What a handler gets.
#[derive(Debug, Clone)]
pub struct JobCtx {
    /// Job id.
    pub id: Uuid,
    /// The association, for tenant jobs: open its `TenantTx` yourself.
    pub tenant: Option<TenantId>,
    /// Arguments.
    pub payload: serde_json::Value,
    /// 1 on the first run.
    pub attempt: i32,
}

/// The future a handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;

/// A job handler: must be idempotent (a job may run again after a crash).
pub type Handler = Arc<dyn Fn(JobCtx) -> HandlerFuture + Send + Sync>;

/// Handlers by job kind.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Handler>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kinds: Vec<_> = self.handlers.keys().collect();
        kinds.sort();
        f.debug_struct("Registry").field("kinds", &kinds).finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }
    /// Registers the handler for `kind`.
    pub fn on<F, Fut>(mut self, kind: &'static str, f: F) -> Self
    where
        F: Fn(JobCtx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        self.handlers
            .insert(kind, Arc::new(move |ctx| Box::pin(f(ctx)) as HandlerFuture));
        self
    }
}

/// Counts from one pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Jobs claimed.
    pub claimed: usize,
    /// Finished.
    pub done: usize,
    /// Scheduled to run again.
    pub retried: usize,
    /// Gave up.
    pub dead: usize,
}

/// A worker: claims due jobs and runs their handlers.
#[derive(Debug, Clone)]
pub struct Worker {
    db: Db,
    clock: Arc<dyn Clock>,
    registry: Registry,
    name: String,
    lease: Duration,
    batch: i64,
}

struct Claimed {
    id: Uuid,
    tenant: Option<Uuid>,
    kind: String,
    payload: String,
    attempts: i32,
    max_attempts: i32,
}

impl Worker {
    /// A worker named `name` (appears in `locked_by`).
    pub fn new(db: Db, clock: Arc<dyn Clock>, registry: Registry, name: impl Into<String>) -> Self {
        Self {
            db,
            clock,
            registry,
            name: name.into(),
            lease: Duration::minutes(5),
            batch: 20,
        }
    }

    async fn claim(&self) -> Result<Vec<Claimed>, DbErr> {
        let now = self.clock.now();
        let tx = self.db.system("jobs.claim").await?;
        let backend = tx.conn().get_database_backend();
        let lock = if backend == DbBackend::Postgres {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = ?, \
             locked_until = ?, updated_at = ? \
             WHERE id IN (SELECT id FROM jobs WHERE (status = 'queued' AND run_at <= ?) \
                OR (status = 'running' AND locked_until < ?) ORDER BY run_at LIMIT ?{lock}) \
             RETURNING id, tenant_id, kind, payload, attempts, max_attempts"
        );
        let rows = tx
            .conn()
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                rewrite(backend, &sql),
                [
                    self.name.clone().into(),
                    (now + self.lease).into(),
                    now.into(),
                    now.into(),
                    now.into(),
                    self.batch.into(),
                ],
            ))
            .await?;
        tx.commit().await?;
        rows.into_iter()
            .map(|r| {
                Ok(Claimed {
                    id: r.try_get("", "id")?,
                    tenant: r.try_get("", "tenant_id")?,
                    kind: r.try_get("", "kind")?,
                    payload: r.try_get("", "payload")?,
                    attempts: r.try_get("", "attempts")?,
                    max_attempts: r.try_get("", "max_attempts")?,
                })
            })
            .collect()
    }

    async fn finish(
        &self,
        id: Uuid,
        status: JobStatus,
        run_in: Option<Duration>,
        error: Option<String>,
    ) -> Result<(), DbErr> {
        let now = self.clock.now();
        let tx = self.db.system("jobs.finish").await?;
        let backend = tx.conn().get_database_backend();
        let run_at = now + run_in.unwrap_or_else(Duration::zero);
        tx.conn()
            .execute_raw(Statement::from_sql_and_values(
                backend,
                rewrite(
                    backend,
                    "UPDATE jobs SET status = ?, run_at = ?, locked_by = NULL, locked_until = NULL, \
                     last_error = ?, updated_at = ? WHERE id = ? AND locked_by = ?",
                ),
                [
                    status.as_str().into(),
                    run_at.into(),
                    Value::from(error),
                    now.into(),
                    id.into(),
                    self.name.clone().into(),
                ],
            ))
            .await?;
        tx.commit().await
    }

    /// Claims one batch of due jobs and runs them.
    pub async fn run_once(&self) -> Result<RunStats, DbErr> {
        self.run_batch(&|| false).await
    }

    /// Gives claimed jobs back to the queue (shutdown before running them).
    async fn release(&self, ids: &[Uuid]) -> Result<(), DbErr> {
        let now = self.clock.now();
        let tx = self.db.system("jobs.release").await?;
        let backend = tx.conn().get_database_backend();
        for id in ids {
            tx.conn()
                .execute_raw(Statement::from_sql_and_values(
                    backend,
                    rewrite(
                        backend,
                        "UPDATE jobs SET status = 'queued', attempts = attempts - 1, locked_by = NULL,                          locked_until = NULL, updated_at = ? WHERE id = ? AND locked_by = ?",
                    ),
                    [now.into(), (*id).into(), self.name.clone().into()],
                ))
                .await?;
        }
        tx.commit().await
    }

    /// Claims one batch and runs it; when `stop()` turns true between jobs,
    /// the rest of the batch goes back to the queue untouched.
    async fn run_batch(&self, stop: &(dyn Fn() -> bool + Sync)) -> Result<RunStats, DbErr> {
        let claimed = self.claim().await?;
        let mut stats = RunStats {
            claimed: claimed.len(),
            ..RunStats::default()
        };
        let mut pending: Vec<Uuid> = claimed.iter().map(|j| j.id).collect();
        pending.reverse();
        for job in claimed {
            if stop() {
                tracing::info!(
                    returned = pending.len(),
                    "shutting down: returning claimed jobs"
                );
                self.release(&pending).await?;
                return Ok(stats);
            }
            pending.pop();
            let outcome = match self.registry.handlers.get(job.kind.as_str()) {
                None => Err(JobError::Permanent(format!("no handler for {}", job.kind))),
                Some(h) => match serde_json::from_str(&job.payload) {
                    Ok(payload) => {
                        h(JobCtx {
                            id: job.id,
                            tenant: job.tenant.map(TenantId::from_uuid),
                            payload,
                            attempt: job.attempts,
                        })
                        .await
                    }
                    Err(e) => Err(JobError::Permanent(format!("bad payload: {e}"))),
                },
            };
            match outcome {
                Ok(()) => {
                    self.finish(job.id, JobStatus::Done, None, None).await?;
                    stats.done += 1;
                }
                Err(JobError::Retry(e)) if job.attempts < job.max_attempts => {
                    let backoff = Duration::seconds(1i64 << job.attempts.clamp(0, 12))
                        .min(Duration::hours(1));
                    tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job will be retried");
                    self.finish(job.id, JobStatus::Queued, Some(backoff), Some(e))
                        .await?;
                    stats.retried += 1;
                }
                Err(JobError::RetryAfter { after, message }) if job.attempts < job.max_attempts => {
                    tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %message, "job will be retried");
                    self.finish(job.id, JobStatus::Queued, Some(after), Some(message))
                        .await?;
                    stats.retried += 1;
                }
                Err(e) => {
                    tracing::error!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job is dead");
                    self.finish(job.id, JobStatus::Dead, None, Some(e.to_string()))
                        .await?;
                    stats.dead += 1;
                }
            }
        }
        Ok(stats)
    }

    /// Runs passes until nothing is due (tests, and draining on shutdown).
    pub async fn run_until_idle(&self) -> Result<RunStats, DbErr> {
        let mut total = RunStats::default();
        loop {
            let s = self.run_once().await?;
            if s.claimed == 0 {
                return Ok(total);
            }
            total.claimed += s.claimed;
            total.done += s.done;
            total.retried += s.retried;
            total.dead += s.dead;
        }
    }

    /// Runs until `shutdown` resolves, polling every `poll` when idle. On
    /// shutdown the job in hand finishes and jobs claimed but not started
    /// are returned to the queue for another worker.
    pub async fn run(&self, poll: std::time::Duration, shutdown: impl Future<Output = ()>) {
        let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stopping.clone();
        let watch = async move {
            shutdown.await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        };
        tokio::pin!(watch);
        let stop = || stopping.load(std::sync::atomic::Ordering::SeqCst);
        loop {
            let pass = self.run_batch(&stop);
            tokio::pin!(pass);
            // Keep watching for shutdown while the batch runs.
            let result = loop {
                tokio::select! {
                    biased;
                    r = &mut pass => break r,
                    () = &mut watch, if !stop() => {}
                }
            };
            let idle = match result {
                Ok(s) => s.claimed == 0,
                Err(e) => {
                    tracing::error!(error = %e, "job worker pass failed");
                    true
                }
            };
            if stop() {
                return;
            }
            if idle {
                tokio::select! {
                    () = &mut watch => return,
                    () = tokio::time::sleep(poll) => {}
                }
            }
        }
    }
}
