//! Finalizing a bill run as a durable job: the request that asks for it
//! only marks the run `finalizing` and enqueues [`FINALIZE_JOB`] in the same
//! transaction; a worker (`aqueduct worker` or `serve --with-worker`) does
//! the work. A restart mid-run loses nothing: the job's lease expires, a
//! worker claims it again and finalizing resumes where it stopped (bills
//! already issued are skipped; a unique index keeps one bill per account
//! and period even if two finalize jobs overlap).

use crate::bill_runs::{self, FinalizeOptions};
use crate::entity::bill_run;
use crate::error::BillingError;
use aqueduct_core::{BillRunId, Clock};
use aqueduct_jobs::{Enqueued, JobCtx, JobError, NewJob};
use aqueduct_tenant::{Db, TenantTx, directory};
use sea_orm::{ActiveModelTrait, Set};

/// Job kind: finalize one bill run (payload `{"run_id": "…"}`).
pub const FINALIZE_JOB: &str = "bill_run.finalize";

/// Accounts per transaction when a worker finalizes (small, so the
/// progress bar moves and each transaction stays short).
pub const JOB_BATCH_SIZE: u64 = 25;

/// Marks the run `finalizing` (if it is a draft) and enqueues the job on
/// `tx`, so both commit or neither does. `request_key` makes a repeated
/// submit of the same form one job; a finalized run enqueues nothing.
pub async fn enqueue(
    tx: &TenantTx,
    clock: &dyn Clock,
    id: BillRunId,
    request_key: &str,
) -> Result<Enqueued, BillingError> {
    let run = bill_runs::get(tx, id).await?;
    if run.status == "finalized" {
        return Ok(Enqueued::Duplicate);
    }
    if run.status == "draft" {
        let mut active: bill_run::ActiveModel = run.into();
        active.status = Set("finalizing".into());
        active.update(tx.conn()).await?;
    }
    let job = NewJob::new(
        FINALIZE_JOB,
        serde_json::json!({ "run_id": id.to_string() }),
    )
    .for_tenant(tx.tenant_id())
    .dedupe(format!("{id}:{request_key}"));
    Ok(aqueduct_jobs::enqueue(tx.conn(), clock, job).await?)
}

/// The worker's handler: finalizes the run of the payload (idempotent).
pub async fn handle(db: &Db, clock: &dyn Clock, job: JobCtx) -> Result<(), JobError> {
    let tenant = job
        .tenant
        .ok_or_else(|| JobError::Permanent(format!("{FINALIZE_JOB} without a tenant")))?;
    let id: BillRunId = job
        .payload
        .get("run_id")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| JobError::Permanent("payload without a run_id".into()))?;
    let ctx = directory::by_id(db, tenant)
        .await?
        .ok_or_else(|| JobError::Permanent("tenant gone".into()))?;
    let options = FinalizeOptions {
        batch_size: JOB_BATCH_SIZE,
        ..FinalizeOptions::default()
    };
    match bill_runs::finalize(db, &ctx, clock, id, &options).await {
        Ok(report) => {
            tracing::info!(run = %id, billed = report.billed, exceptions = report.exceptions.len(), "bill run finalized by a worker");
            Ok(())
        }
        Err(BillingError::NotFound) => Err(JobError::Permanent(format!("bill run {id} not found"))),
        Err(BillingError::Invalid(m)) => Err(JobError::Permanent(m)),
        Err(e) => Err(JobError::Retry(e.to_string())),
    }
}
