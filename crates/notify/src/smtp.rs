//! Sending over SMTP with lettre (async, rustls, pooled), and the
//! development stand-in that only logs.

use aqueduct_core::Secret;
use aqueduct_tenant::mailer::{Mail, MailError, MailFuture, Mailer};
use lettre::message::header::ContentType;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Attachment as LettreAttachment, Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text: only for a relay on the same host or in tests.
    None,
    /// STARTTLS is required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
}

/// `[smtp]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Server host name (also the name checked in its certificate).
    pub host: String,
    /// Port (default: 587 for STARTTLS, 465 for implicit TLS, 25 for none).
    #[serde(default)]
    pub port: Option<u16>,
    /// none | starttls | implicit.
    #[serde(default)]
    pub tls: SmtpTls,
    /// Login, if the server wants one.
    #[serde(default)]
    pub username: Option<String>,
    /// Password (never logged).
    #[serde(default)]
    pub password: Option<Secret>,
    /// The platform's sending address, e.g. `billing@mail.example.org`;
    /// its domain names Message-IDs.
    pub from_address: String,
    /// Pooled connections kept open.
    #[serde(default = "default_pool")]
    pub pool_size: u32,
    /// Seconds before an SMTP command times out.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_pool() -> u32 {
    4
}
fn default_timeout() -> u64 {
    30
}

/// One message ready to send.
#[derive(Clone)]
pub struct Outgoing {
    /// From display name (the association).
    pub from_name: String,
    /// Reply-To (the association's contact address).
    pub reply_to: Option<String>,
    /// Recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
    /// Message-ID without angle brackets' domain part (`<local@domain>` is
    /// built by the sender).
    pub message_local_id: String,
    /// The one-click unsubscribe URL (https) of a non-essential kind:
    /// sent as `List-Unsubscribe` with `List-Unsubscribe-Post` (RFC 8058).
    pub unsubscribe: Option<String>,
    /// Files attached (the bill's PDF); none makes a plain
    /// multipart/alternative message, some a multipart/mixed one.
    pub attachments: Vec<Attachment>,
}

/// A file attached to a message.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name shown to the recipient.
    pub filename: String,
    /// MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// The bytes.
    pub data: Vec<u8>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("subject", &self.subject)
            .field("message_local_id", &self.message_local_id)
            .finish_non_exhaustive()
    }
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later (4xx, connection refused, timeout).
    #[error("temporary: {0}")]
    Temporary(String),
    /// Never (5xx, invalid address).
    #[error("permanent: {0}")]
    Permanent(String),
}

/// The future a sender returns.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<String, SendError>> + Send + 'a>>;

/// Delivers rendered notifications; returns the Message-ID sent.
pub trait Sender: Send + Sync + fmt::Debug {
    /// Sends one message.
    fn send(&self, mail: Outgoing) -> SendFuture<'_>;

    /// Whether a successful `send` means the message left for its
    /// recipient (`false` for the development sender: rows become
    /// `logged`, not `sent`).
    fn delivers(&self) -> bool {
        true
    }
}

/// Development: logs the subject only; rows it handles are marked
/// `logged`, never `sent`.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogSender;

impl Sender for LogSender {
    fn send(&self, mail: Outgoing) -> SendFuture<'_> {
        Box::pin(async move {
            tracing::info!(subject = %mail.subject, "notification (development sender: not sent)");
            Ok(format!("<{}@localhost>", mail.message_local_id))
        })
    }

    fn delivers(&self) -> bool {
        false
    }
}

/// `List-Unsubscribe`.
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post` (RFC 8058 one-click).
#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// Sends over SMTP through a pool of connections.
#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Address,
}

impl fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSender")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpSender {
    /// Builds the pooled transport (connects lazily).
    pub fn new(config: &SmtpConfig) -> Result<Self, SendError> {
        let from: Address = config
            .from_address
            .parse()
            .map_err(|e| SendError::Permanent(format!("smtp.from_address: {e}")))?;
        let tls = match config.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => Tls::Required(
                TlsParameters::new(config.host.clone())
                    .map_err(|e| SendError::Permanent(e.to_string()))?,
            ),
            SmtpTls::Implicit => Tls::Wrapper(
                TlsParameters::new(config.host.clone())
                    .map_err(|e| SendError::Permanent(e.to_string()))?,
            ),
        };
        let port = config.port.unwrap_or(match config.tls {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Implicit => 465,
        });
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(config.timeout_secs.max(1))))
            .pool_config(PoolConfig::new().max_size(config.pool_size.max(1)));
        if let (Some(user), Some(pass)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), pass.expose().to_owned()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    fn domain(&self) -> &str {
        self.from.domain()
    }

    fn build(&self, mail: &Outgoing) -> Result<(Message, String), SendError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| SendError::Permanent(format!("invalid recipient: {e}")))?;
        let message_id = format!("<{}@{}>", mail.message_local_id, self.domain());
        let mut b = Message::builder()
            .from(Mailbox::new(
                Some(mail.from_name.clone()),
                self.from.clone(),
            ))
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(message_id.clone()))
            .date_now();
        if let Some(reply) = mail.reply_to.as_deref()
            && let Ok(addr) = reply.parse::<Address>()
        {
            b = b.reply_to(Mailbox::new(Some(mail.from_name.clone()), addr));
        }
        if let Some(url) = mail.unsubscribe.as_deref() {
            b = b
                .header(ListUnsubscribe(format!("<{url}>")))
                .header(ListUnsubscribePost);
        }
        let body = MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone());
        let body = if mail.attachments.is_empty() {
            body
        } else {
            let mut mixed = MultiPart::mixed().multipart(body);
            for a in &mail.attachments {
                let content_type = ContentType::parse(&a.content_type)
                    .map_err(|e| SendError::Permanent(format!("attachment type: {e}")))?;
                mixed = mixed.singlepart(
                    LettreAttachment::new(a.filename.clone()).body(a.data.clone(), content_type),
                );
            }
            mixed
        };
        let msg = b
            .multipart(body)
            .map_err(|e| SendError::Permanent(format!("message: {e}")))?;
        Ok((msg, message_id))
    }

    async fn deliver(&self, msg: Message) -> Result<(), SendError> {
        match self.transport.send(msg).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Temporary(e.to_string())),
        }
    }
}

impl Sender for SmtpSender {
    fn send(&self, mail: Outgoing) -> SendFuture<'_> {
        Box::pin(async move {
            let (msg, id) = self.build(&mail)?;
            self.deliver(msg).await?;
            Ok(id)
        })
    }
}

/// Identity mails (sign-in links, resets, invitations) over SMTP too.
impl Mailer for SmtpSender {
    fn send(&self, mail: Mail) -> MailFuture<'_> {
        Box::pin(async move {
            let to: Mailbox = mail
                .to
                .parse()
                .map_err(|e| MailError(format!("invalid recipient: {e}")))?;
            let msg = Message::builder()
                .from(Mailbox::new(Some("Aqueduct".into()), self.from.clone()))
                .to(to)
                .subject(mail.subject)
                .message_id(Some(format!(
                    "<{}@{}>",
                    uuid::Uuid::now_v7(),
                    self.domain()
                )))
                .date_now()
                .body(mail.body)
                .map_err(|e| MailError(e.to_string()))?;
            self.deliver(msg)
                .await
                .map_err(|e| MailError(e.to_string()))
        })
    }
}
