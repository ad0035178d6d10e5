//! The `notify.deliver` job: renders one outbox row and sends it.
//!
//! **Never twice.** Each row has exactly one live delivery job (deduped by
//! the row id) and the job queue's lease keeps it on one worker; a row
//! already `sent` is skipped, so a job that runs again after a crash or a
//! retry does not mail again. The Message-ID is derived from the row id,
//! so in the one window left — the process dies after the server accepted
//! the message and before the row was marked — the copy carries the same
//! Message-ID and mail clients fold it.

use crate::entity::notification;
use crate::format::Locale;
use crate::kind::{Kind, Status};
use crate::outbox::{self, MAX_ATTEMPTS};
use crate::prefs;
use crate::render::{self, Brand};
pub use crate::smtp::{LogSender, Outgoing, SendError, Sender};
use aqueduct_core::Clock;
use aqueduct_jobs::{JobCtx, JobError};
use aqueduct_tenant::{Db, TenantCtx, directory};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use std::future::Future;
use std::pin::Pin;
use uuid::Uuid;

pub use crate::outbox::DELIVER_JOB;
pub use crate::smtp::Attachment;

/// What [`Attachments::for_notification`] returns.
pub type AttachFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Attachment>, String>> + Send + 'a>>;

/// Files to attach to a notification, made by the area that owns its
/// subject (the bill's PDF for a "bill ready" mail). This crate never
/// reads billing's tables, so the worker hands one in.
pub trait Attachments: Send + Sync + std::fmt::Debug {
    /// The attachments for a `kind` notification about `subject_id`
    /// (e.g. `bill:<uuid>`) of `tenant`, in `locale`. An error is retried
    /// like a temporary SMTP failure: the mail is not sent without them.
    fn for_notification<'a>(
        &'a self,
        tenant: &'a TenantCtx,
        kind: Kind,
        subject_id: &'a str,
        locale: &'a str,
    ) -> AttachFuture<'a>;
}

/// Attaches nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAttachments;

impl Attachments for NoAttachments {
    fn for_notification<'a>(
        &'a self,
        _: &'a TenantCtx,
        _: Kind,
        _: &'a str,
        _: &'a str,
    ) -> AttachFuture<'a> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

fn sql(backend: DbBackend, s: &str) -> String {
    if backend != DbBackend::Postgres {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut n = 0;
    for c in s.chars() {
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

/// Runs one `notify.deliver` job, without attachments.
pub async fn handle(
    db: &Db,
    clock: &dyn Clock,
    sender: &dyn Sender,
    job: JobCtx,
) -> Result<(), JobError> {
    handle_with(db, clock, sender, &NoAttachments, job).await
}

/// Runs one `notify.deliver` job; a "bill ready" mail of an association
/// that chose to attach the PDF carries what `attachments` makes.
pub async fn handle_with(
    db: &Db,
    clock: &dyn Clock,
    sender: &dyn Sender,
    attachments: &dyn Attachments,
    job: JobCtx,
) -> Result<(), JobError> {
    let id: Uuid = serde_json::from_value(job.payload["notification"].clone())
        .map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
    let tenant = job
        .tenant
        .ok_or_else(|| JobError::Permanent("notify.deliver without a tenant".into()))?;
    let ctx = directory::by_id(db, tenant)
        .await?
        .ok_or_else(|| JobError::Permanent("tenant gone".into()))?;
    let tx = db.tenant(&ctx).await?;
    let row = match outbox::get(&tx, id).await {
        Ok(r) => r,
        Err(crate::NotifyError::NotFound) => {
            return Err(JobError::Permanent("notification row missing".into()));
        }
        Err(e) => return Err(JobError::Retry(e.to_string())),
    };
    let settings = prefs::settings(&tx)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    tx.commit().await?;
    if row.status == Status::Sent.as_str()
        || row.status == Status::Logged.as_str()
        || row.status == Status::FailedPermanent.as_str()
    {
        return Ok(());
    }
    let Some(kind) = Kind::parse(&row.kind) else {
        mark(
            db,
            &ctx,
            clock,
            &row,
            Status::FailedPermanent,
            None,
            Some("unknown kind"),
        )
        .await?;
        return Ok(());
    };
    let data: serde_json::Value = serde_json::from_str(&row.data).unwrap_or_default();
    let brand = Brand {
        association: ctx.name(),
        time_zone: ctx.time_zone(),
    };
    let rendered = match render::render(kind, Locale::parse(&row.locale), &brand, &data) {
        Ok(r) => r,
        Err(e) => {
            mark(
                db,
                &ctx,
                clock,
                &row,
                Status::FailedPermanent,
                None,
                Some(&e.to_string()),
            )
            .await?;
            return Ok(());
        }
    };
    let attached = if kind == Kind::BillReady
        && prefs::BillPdf::of(settings.as_ref()) == prefs::BillPdf::Attach
    {
        match attachments
            .for_notification(&ctx, kind, &row.subject_id, &row.locale)
            .await
        {
            Ok(a) => a,
            Err(e) => return temporary(db, &ctx, clock, &row, job.attempt, e).await,
        }
    } else {
        Vec::new()
    };
    let from_name = settings
        .as_ref()
        .and_then(|s| s.from_name.clone())
        .unwrap_or_else(|| ctx.name().to_owned());
    let mail = Outgoing {
        from_name,
        reply_to: settings.and_then(|s| s.reply_to),
        to: row.recipient.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        message_local_id: format!("notification.{}", row.id),
        unsubscribe: unsubscribe_url(db, &ctx, kind, row.account_id),
        attachments: attached,
    };
    match sender.send(mail).await {
        Ok(message_id) => {
            // The development sender only logs: say so rather than `sent`.
            let status = if sender.delivers() {
                Status::Sent
            } else {
                Status::Logged
            };
            mark(db, &ctx, clock, &row, status, Some(message_id), None).await?;
            tracing::info!(notification = %row.id, kind = %kind, status = status.as_str(), "notification done");
            Ok(())
        }
        Err(SendError::Permanent(e)) => {
            tracing::warn!(notification = %row.id, kind = %kind, error = %e, "notification failed permanently");
            mark(
                db,
                &ctx,
                clock,
                &row,
                Status::FailedPermanent,
                None,
                Some(&e),
            )
            .await?;
            Ok(())
        }
        Err(SendError::Temporary(e)) => temporary(db, &ctx, clock, &row, job.attempt, e).await,
    }
}

/// A failure worth retrying: marked, and retried until the last attempt.
async fn temporary(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    row: &notification::Model,
    attempt: i32,
    e: String,
) -> Result<(), JobError> {
    if attempt >= MAX_ATTEMPTS {
        mark(db, ctx, clock, row, Status::FailedPermanent, None, Some(&e)).await?;
        return Err(JobError::Permanent(format!("gave up: {e}")));
    }
    mark(db, ctx, clock, row, Status::FailedTemporary, None, Some(&e)).await?;
    Err(JobError::Retry(e))
}

/// The one-click unsubscribe URL of a non-essential customer mail (none
/// for essential kinds, mail without an account, or without a link key).
fn unsubscribe_url(
    db: &Db,
    ctx: &aqueduct_tenant::TenantCtx,
    kind: Kind,
    account: Option<Uuid>,
) -> Option<String> {
    if kind.essential() {
        return None;
    }
    let links = db.links()?;
    Some(crate::unsubscribe::url(
        links,
        ctx.slug().as_str(),
        crate::unsubscribe::Target {
            tenant: ctx.id(),
            account: aqueduct_core::AccountId::from_uuid(account?),
            kind,
        },
    ))
}

async fn mark(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    row: &notification::Model,
    status: Status,
    message_id: Option<String>,
    error: Option<&str>,
) -> Result<(), JobError> {
    let now = clock.now();
    let tx = db.tenant(ctx).await?;
    let backend = tx.conn().get_database_backend();
    let sent_at = (status == Status::Sent).then_some(now);
    tx.conn()
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql(
                backend,
                "UPDATE notifications SET status = ?, attempts = attempts + 1, last_error = ?, \
                 message_id = COALESCE(?, message_id), sent_at = COALESCE(?, sent_at), \
                 updated_at = ? WHERE tenant_id = ? AND id = ? AND status <> 'sent'",
            ),
            [
                status.as_str().into(),
                Value::from(error.map(|e| e.chars().take(500).collect::<String>())),
                Value::from(message_id),
                Value::from(sent_at),
                now.into(),
                row.tenant_id.into(),
                row.id.into(),
            ],
        ))
        .await?;
    tx.commit().await?;
    Ok(())
}
