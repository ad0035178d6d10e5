#![doc = include_str!("../README.md")]

mod queue;
mod schedule;
mod worker;

pub use queue::{
    Enqueued, JobStatus, KindStats, NewJob, QueueStats, enqueue, stats, stats_by_kind,
};
pub use schedule::{Schedule, tick_schedules};
pub use worker::{Handler, JobCtx, JobError, Registry, RunStats, Worker};
