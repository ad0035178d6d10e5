//! Mail to the platform's operators (`backup_failed`, `queue_stuck`).
//!
//! **No tenant, so no tenant outbox row.** The `notifications` table is per
//! association (row-level security); operator mail belongs to none. The
//! platform job queue is the outbox instead: [`record`] enqueues a
//! platform (tenant-less) `notify.operator` job carrying the kind, the
//! address and the template values, deduped by `(kind, subject,
//! recipient)` — the job table's unique `(kind, dedupe_key)` keeps that
//! for good, so a failure reported twice (a retried or re-run handler)
//! mails once. The job renders and sends; a temporary SMTP failure is
//! retried with backoff, a permanent one ends the job (`dead`, visible in
//! the operator's job list). The Message-ID derives from the job id.

use crate::format::Locale;
use crate::kind::{Audience, Kind};
use crate::outbox::MAX_ATTEMPTS;
use crate::render::{self, Brand};
use crate::smtp::{Outgoing, SendError, Sender};
use aqueduct_core::Clock;
use aqueduct_jobs::{Enqueued, JobCtx, JobError, NewJob, enqueue};
use sea_orm::{ConnectionTrait, DbErr};

/// The job kind that sends one operator mail.
pub const OPERATOR_JOB: &str = "notify.operator";

/// Queues operator mail `kind` about `subject` to `recipient` in the
/// caller's transaction (a platform/system connection). Returns whether
/// it was new. Kinds not meant for operators are refused.
pub async fn record(
    conn: &impl ConnectionTrait,
    clock: &dyn Clock,
    kind: Kind,
    subject: &str,
    recipient: &str,
    data: serde_json::Value,
) -> Result<bool, DbErr> {
    if kind.audience() != Audience::Operator {
        return Err(DbErr::Custom(format!("{kind} is not an operator kind")));
    }
    let mut job = NewJob::new(
        OPERATOR_JOB,
        serde_json::json!({ "kind": kind.as_str(), "to": recipient, "data": data }),
    )
    .dedupe(format!("{kind}:{subject}:{recipient}"));
    job.max_attempts = MAX_ATTEMPTS;
    Ok(matches!(enqueue(conn, clock, job).await?, Enqueued::New(_)))
}

/// Runs one `notify.operator` job: renders (English, UTC dates, branded
/// "Aqueduct") and sends.
pub async fn handle(sender: &dyn Sender, job: JobCtx) -> Result<(), JobError> {
    let kind = job.payload["kind"]
        .as_str()
        .and_then(Kind::parse)
        .ok_or_else(|| JobError::Permanent("notify.operator: unknown kind".into()))?;
    let to = job.payload["to"]
        .as_str()
        .ok_or_else(|| JobError::Permanent("notify.operator: no recipient".into()))?
        .to_owned();
    let brand = Brand {
        association: "Aqueduct",
        time_zone: "UTC",
    };
    let rendered = render::render(kind, Locale::En, &brand, &job.payload["data"])
        .map_err(|e| JobError::Permanent(e.to_string()))?;
    let mail = Outgoing {
        from_name: "Aqueduct".into(),
        reply_to: None,
        to,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        message_local_id: format!("operator.{}", job.id),
        unsubscribe: None,
        attachments: Vec::new(),
    };
    match sender.send(mail).await {
        Ok(_) => {
            tracing::info!(job = %job.id, kind = %kind, "operator mail sent");
            Ok(())
        }
        Err(SendError::Permanent(e)) => Err(JobError::Permanent(e)),
        Err(SendError::Temporary(e)) => Err(JobError::Retry(e)),
    }
}
