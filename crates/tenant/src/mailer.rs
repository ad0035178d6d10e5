//! The seam through which Aqueduct sends email. The notifications work adds
//! SMTP; until then development logs a redacted line and tests keep the
//! messages in memory.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// One email.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body (may hold a single-use link: never log it).
    pub body: String,
}

impl fmt::Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mail")
            .field("subject", &self.subject)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
#[error("mail not sent: {0}")]
pub struct MailError(pub String);

/// A boxed future, so the trait stays object-safe.
pub type MailFuture<'a> = Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>>;

/// Sends email.
pub trait Mailer: Send + Sync + fmt::Debug {
    /// Sends one message.
    fn send(&self, mail: Mail) -> MailFuture<'_>;
}

/// Development: logs that a message was sent, with the body redacted.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogMailer;

impl Mailer for LogMailer {
    fn send(&self, mail: Mail) -> MailFuture<'_> {
        Box::pin(async move {
            tracing::info!(
                subject = %mail.subject,
                body_bytes = mail.body.len(),
                "email (development mailer: not sent, body redacted)"
            );
            Ok(())
        })
    }
}

/// Tests: keeps every message in memory.
#[derive(Debug, Default, Clone)]
pub struct MemoryMailer {
    sent: Arc<Mutex<Vec<Mail>>>,
}

impl MemoryMailer {
    /// Every message sent so far.
    pub fn sent(&self) -> Vec<Mail> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Mailer for MemoryMailer {
    fn send(&self, mail: Mail) -> MailFuture<'_> {
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(mail);
        Box::pin(async { Ok(()) })
    }
}
