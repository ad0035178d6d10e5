//! Recurring jobs that run once per tick, however many replicas tick.

use crate::queue::{NewJob, enqueue, rewrite};
use aqueduct_core::Clock;
use aqueduct_tenant::Db;
use chrono::Duration;
use sea_orm::{ConnectionTrait, DbErr, Statement};

/// A recurring job.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Unique name, e.g. `retention.daily`.
    pub name: &'static str,
    /// Time between runs.
    pub every: Duration,
    /// The job each tick enqueues.
    pub job: fn() -> NewJob,
}

/// Enqueues the job of every schedule that is due, advancing it first with a
/// conditional update so that of several replicas ticking at once exactly
/// one enqueues. Returns the names of the schedules that fired.
pub async fn tick_schedules(
    db: &Db,
    clock: &dyn Clock,
    schedules: &[Schedule],
) -> Result<Vec<&'static str>, DbErr> {
    let mut fired = Vec::new();
    for s in schedules {
        let now = clock.now();
        let tx = db.system("schedules.tick").await?;
        let conn = tx.conn();
        let backend = conn.get_database_backend();
        // First sight of a schedule: due now.
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            rewrite(
                backend,
                "INSERT INTO schedules (name, next_run_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            ),
            [s.name.into(), now.into()],
        ))
        .await?;
        let advanced = conn
            .execute_raw(Statement::from_sql_and_values(
                backend,
                rewrite(
                    backend,
                    "UPDATE schedules SET next_run_at = ?, last_run_at = ? \
                     WHERE name = ? AND next_run_at <= ?",
                ),
                [
                    (now + s.every).into(),
                    now.into(),
                    s.name.into(),
                    now.into(),
                ],
            ))
            .await?;
        if advanced.rows_affected() == 1 {
            let tick = now.timestamp() / s.every.num_seconds().max(1);
            let job = (s.job)().dedupe(format!("{}@{tick}", s.name));
            enqueue(conn, clock, job).await?;
            fired.push(s.name);
        }
        tx.commit().await?;
    }
    Ok(fired)
}
