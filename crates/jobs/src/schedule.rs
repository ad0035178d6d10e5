//! Recurring jobs that run once per tick, however many replicas tick.

use crate::queue::{NewJob, enqueue, rewrite};
use aqueduct_core::Clock;
use aqueduct_tenant::Db;
use chrono::{DateTime, Duration, Utc};
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
    /// `None`: the first tick is due at first sight, then every `every`
    /// after the last run. `Some(offset)`: ticks fall on wall-clock
    /// boundaries — multiples of `every` since the Unix epoch, plus `offset`
    /// (daily at 03:00 UTC is `every = 1 day, offset = 3 hours`); the first
    /// tick is the next boundary, and a late tick (replicas down) runs once,
    /// not once per missed boundary.
    pub offset: Option<Duration>,
}

impl Schedule {
    /// The latest boundary at or before `now` (aligned schedules only).
    fn boundary_at_or_before(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let offset = self.offset?;
        let every = self.every.num_seconds().max(1);
        let t = now.timestamp() - offset.num_seconds();
        let k = t.div_euclid(every);
        DateTime::from_timestamp(k * every + offset.num_seconds(), 0)
    }

    /// When the tick after one that ran at `now` is due.
    fn next_after(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self.boundary_at_or_before(now) {
            Some(b) => b + self.every,
            None => now + self.every,
        }
    }

    /// When a schedule seen for the first time at `now` is first due.
    fn first_due(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self.boundary_at_or_before(now) {
            Some(b) if b == now => b,
            Some(b) => b + self.every,
            None => now,
        }
    }

    /// The number of the tick running at `now` (the dedupe key).
    fn tick_number(&self, now: DateTime<Utc>) -> i64 {
        let every = self.every.num_seconds().max(1);
        let shift = self.offset.map_or(0, |o| o.num_seconds());
        (now.timestamp() - shift).div_euclid(every)
    }
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
        // First sight of a schedule: due now (aligned: at the next boundary).
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            rewrite(
                backend,
                "INSERT INTO schedules (name, next_run_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            ),
            [s.name.into(), s.first_due(now).into()],
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
                    s.next_after(now).into(),
                    now.into(),
                    s.name.into(),
                    now.into(),
                ],
            ))
            .await?;
        if advanced.rows_affected() == 1 {
            let tick = s.tick_number(now);
            let job = (s.job)().dedupe(format!("{}@{tick}", s.name));
            enqueue(conn, clock, job).await?;
            fired.push(s.name);
        }
        tx.commit().await?;
    }
    Ok(fired)
}
