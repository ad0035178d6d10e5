//! Notifications that arrive once: a transactional outbox, templates in
//! English and Spanish, and delivery over SMTP by the job runner.
//!
//! **Where it sits.** This crate depends only on `core`, `tenant` and
//! `jobs`, so billing and payments can depend on it and write outbox rows
//! in their own transactions ([`outbox::record`]). Everything a template
//! needs travels in the row's `data` (formatted at delivery time), so this
//! crate never reads billing's or payments' tables.
//!
//! **The path of one message.** `record` inserts a `notifications` row
//! (unique per kind, subject and recipient) and enqueues a `notify.deliver`
//! job, both in the caller's transaction: nothing is sent for a change that
//! rolls back and nothing is lost after commit. The job renders the
//! template and sends it over SMTP ([`smtp::SmtpSender`]); a temporary
//! failure (4xx, connection refused) is retried with backoff, a permanent
//! one (5xx, invalid address) marks the row `failed_permanent`, shown to
//! staff. A row already `sent` is never sent again.

pub mod deliver;
pub mod entity;
pub mod format;
pub mod kind;
pub mod operator;
pub mod outbox;
pub mod prefs;
pub mod render;
pub mod smtp;
pub mod unsubscribe;

pub use deliver::{Attachments, LogSender, NoAttachments, Sender};
pub use kind::{Audience, Kind, Status};
pub use outbox::{DELIVER_JOB, NewNotification, Recorded, record, record_many};
pub use smtp::{Attachment, Outgoing, SendError};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Database.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    /// Bad input.
    #[error("invalid: {0}")]
    Invalid(String),
    /// Not found.
    #[error("not found")]
    NotFound,
    /// A template failed to render.
    #[error("template: {0}")]
    Template(String),
}
pub use smtp::{SmtpConfig, SmtpSender, SmtpTls};
