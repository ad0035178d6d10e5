//! Writing jobs and reading the queue's health.

use aqueduct_core::{Clock, TenantId};
use aqueduct_tenant::Db;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};
use uuid::Uuid;

/// Lifecycle of a job row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting for `run_at`.
    Queued,
    /// Claimed by a worker until `locked_until`.
    Running,
    /// Finished.
    Done,
    /// Gave up (permanent error or out of attempts).
    Dead,
}

impl JobStatus {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Dead => "dead",
        }
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Handler name, e.g. `stripe.event`.
    pub kind: &'static str,
    /// The association the job works for, if any.
    pub tenant: Option<TenantId>,
    /// Arguments (ids, never personal data).
    pub payload: serde_json::Value,
    /// With the kind, makes enqueueing idempotent.
    pub dedupe_key: Option<String>,
    /// Not before (default: now).
    pub run_at: Option<DateTime<Utc>>,
    /// Attempts before the job is dead.
    pub max_attempts: i32,
}

impl NewJob {
    /// A job of `kind` with `payload`, five attempts, due now.
    pub fn new(kind: &'static str, payload: serde_json::Value) -> Self {
        Self {
            kind,
            tenant: None,
            payload,
            dedupe_key: None,
            run_at: None,
            max_attempts: 5,
        }
    }
    /// For one association.
    pub fn for_tenant(mut self, tenant: TenantId) -> Self {
        self.tenant = Some(tenant);
        self
    }
    /// Idempotent on `(kind, key)`.
    pub fn dedupe(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }
    /// Due at `at`.
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }
}

/// What `enqueue` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// A new job row.
    New(Uuid),
    /// A job with the same kind and dedupe key already exists.
    Duplicate,
}

/// Enqueues a job on `conn` — pass the transaction of the change that
/// causes the job, so both commit or neither does.
pub async fn enqueue(
    conn: &impl ConnectionTrait,
    clock: &dyn Clock,
    job: NewJob,
) -> Result<Enqueued, DbErr> {
    let id = Uuid::now_v7();
    let now = clock.now();
    let backend = conn.get_database_backend();
    let res = conn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            rewrite(
                backend,
                "INSERT INTO jobs (id, tenant_id, kind, payload, dedupe_key, status, attempts, \
                 max_attempts, run_at, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?) \
                 ON CONFLICT (kind, dedupe_key) DO NOTHING",
            ),
            [
                id.into(),
                Value::from(job.tenant.map(TenantId::uuid)),
                job.kind.into(),
                job.payload.to_string().into(),
                Value::from(job.dedupe_key),
                job.max_attempts.into(),
                job.run_at.unwrap_or(now).into(),
                now.into(),
                now.into(),
            ],
        ))
        .await?;
    Ok(if res.rows_affected() == 1 {
        Enqueued::New(id)
    } else {
        Enqueued::Duplicate
    })
}

/// Turns `?` placeholders into `$1, $2…` for PostgreSQL.
pub(crate) fn rewrite(backend: sea_orm::DbBackend, sql: &str) -> String {
    if backend != sea_orm::DbBackend::Postgres {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// The queue at a glance, for operators and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Due or future jobs waiting.
    pub queued: i64,
    /// Jobs claimed now.
    pub running: i64,
    /// Jobs that gave up.
    pub dead: i64,
    /// Age in seconds of the oldest due job (how far behind the workers are).
    pub oldest_due_age_secs: i64,
}

/// Waiting work of one job kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindStats {
    /// The job kind, e.g. `stripe.event`.
    pub kind: String,
    /// Jobs of this kind waiting (due or not).
    pub queued: i64,
    /// Jobs of this kind that gave up.
    pub dead: i64,
    /// Age in seconds of the oldest due job of this kind (0 when none).
    pub oldest_due_age_secs: i64,
    /// When a job of this kind last finished successfully.
    pub last_done_at: Option<DateTime<Utc>>,
}

/// Queue depth, lag, failures and last success per job kind: the webhook
/// lag is the `stripe.event` lag, the backup age the `backup.run` success.
pub async fn stats_by_kind(db: &Db, clock: &dyn Clock) -> Result<Vec<KindStats>, DbErr> {
    let tx = db.system("jobs.stats").await?;
    let backend = tx.conn().get_database_backend();
    let now = clock.now();
    let rows = tx
        .conn()
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            rewrite(
                backend,
                "SELECT kind, \
                   SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END) AS queued, \
                   SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END) AS dead, \
                   MIN(CASE WHEN status = 'queued' AND run_at <= ? THEN run_at END) AS oldest, \
                   MAX(CASE WHEN status = 'done' THEN updated_at END) AS last_done \
                 FROM jobs GROUP BY kind ORDER BY kind",
            ),
            [now.into()],
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let oldest: Option<DateTime<Utc>> = r.try_get("", "oldest")?;
        out.push(KindStats {
            kind: r.try_get("", "kind")?,
            queued: r.try_get::<Option<i64>>("", "queued")?.unwrap_or(0),
            dead: r.try_get::<Option<i64>>("", "dead")?.unwrap_or(0),
            oldest_due_age_secs: oldest.map_or(0, |t| (now - t).num_seconds().max(0)),
            last_done_at: r.try_get("", "last_done")?,
        });
    }
    tx.commit().await?;
    Ok(out)
}

/// Counts jobs by state.
pub async fn stats(db: &Db, clock: &dyn Clock) -> Result<QueueStats, DbErr> {
    let tx = db.system("jobs.stats").await?;
    let backend = tx.conn().get_database_backend();
    let rows = tx
        .conn()
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status",
        ))
        .await?;
    let mut s = QueueStats::default();
    for r in rows {
        let status: String = r.try_get("", "status")?;
        let n: i64 = r.try_get("", "n")?;
        match status.as_str() {
            "queued" => s.queued = n,
            "running" => s.running = n,
            "dead" => s.dead = n,
            _ => {}
        }
    }
    let oldest = tx
        .conn()
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            rewrite(
                backend,
                "SELECT MIN(run_at) AS t FROM jobs WHERE status = 'queued' AND run_at <= ?",
            ),
            [clock.now().into()],
        ))
        .await?;
    if let Some(row) = oldest
        && let Ok(Some(t)) = row.try_get::<Option<DateTime<Utc>>>("", "t")
    {
        s.oldest_due_age_secs = (clock.now() - t).num_seconds().max(0);
    }
    tx.commit().await?;
    Ok(s)
}
