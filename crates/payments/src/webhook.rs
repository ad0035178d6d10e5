//! `POST /webhooks/stripe`: raw bytes → signature → one inbox row per event
//! id → a `stripe.event` job in the same transaction → 200. Nothing else
//! happens on the request path.

use crate::entity::stripe_event;
use crate::signature::{self, SignatureError};
use crate::{EVENT_JOB, PaymentsError, Stripe, connect};
use aqueduct_core::Clock;
use aqueduct_jobs::{NewJob, enqueue};
use aqueduct_tenant::Db;
use sea_orm::{ActiveValue::Set, EntityTrait, TryInsertResult};
use serde::Deserialize;

/// What happened to a delivery (all of these answer 200).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    /// New event: stored and queued.
    Queued,
    /// Seen before: nothing written.
    Duplicate,
    /// The connected account is not one of ours: alerted, nothing written.
    UnknownAccount,
    /// Test-mode event on a live key or the reverse: nothing written.
    WrongMode,
    /// A platform event we have no use for.
    Ignored,
}

/// Why a delivery was refused (400, nothing written).
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Bad, missing or stale signature.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// Signed, but not an event.
    #[error("not a Stripe event: {0}")]
    Malformed(String),
    /// Storage failed (500: Stripe retries).
    #[error(transparent)]
    Payments(#[from] PaymentsError),
}

/// The envelope fields routing needs.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope {
    pub(crate) id: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) account: Option<String>,
    pub(crate) livemode: bool,
    pub(crate) created: i64,
}

/// Verifies and records one delivery.
#[tracing::instrument(skip_all, fields(event_id, event_type))]
pub async fn ingest(
    db: &Db,
    clock: &dyn Clock,
    stripe: &Stripe,
    signature_header: Option<&str>,
    body: &[u8],
) -> Result<Ingested, WebhookError> {
    let now = clock.now();
    signature::verify(
        signature_header,
        body,
        stripe.webhook_secrets(),
        now.timestamp(),
        signature::TOLERANCE_SECS,
    )?;
    let env: Envelope =
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let span = tracing::Span::current();
    span.record("event_id", env.id.as_str());
    span.record("event_type", env.kind.as_str());
    if env.livemode != stripe.livemode() {
        tracing::warn!(livemode = env.livemode, "event from the other mode ignored");
        return Ok(Ingested::WrongMode);
    }
    let Some(account) = env.account.clone() else {
        tracing::debug!("platform event ignored");
        return Ok(Ingested::Ignored);
    };
    let tx = db
        .system("stripe.webhook")
        .await
        .map_err(PaymentsError::from)?;
    let Some(tenant) = connect::tenant_of(tx.conn(), &account).await? else {
        tx.commit().await.map_err(PaymentsError::from)?;
        tracing::error!(
            alert = true,
            stripe_account = %account,
            "webhook for a connected account we do not know: acknowledged, nothing written"
        );
        return Ok(Ingested::UnknownAccount);
    };
    let row_id = uuid::Uuid::now_v7();
    let inserted = stripe_event::Entity::insert(stripe_event::ActiveModel {
        id: Set(row_id),
        event_id: Set(env.id.clone()),
        event_type: Set(env.kind.clone()),
        stripe_account_id: Set(Some(account)),
        livemode: Set(env.livemode),
        created: Set(env.created),
        payload: Set(String::from_utf8_lossy(body).into_owned()),
        received_at: Set(now),
    })
    .on_conflict_do_nothing_on([stripe_event::Column::EventId])
    .exec_without_returning(tx.conn())
    .await
    .map_err(PaymentsError::from)?;
    if !matches!(inserted, TryInsertResult::Inserted(n) if n > 0) {
        tx.commit().await.map_err(PaymentsError::from)?;
        return Ok(Ingested::Duplicate);
    }
    let mut job = NewJob::new(EVENT_JOB, serde_json::json!({ "event_row": row_id }))
        .for_tenant(tenant)
        .dedupe(env.id.clone());
    job.max_attempts = crate::events::EVENT_MAX_ATTEMPTS;
    enqueue(tx.conn(), clock, job)
        .await
        .map_err(PaymentsError::from)?;
    tx.commit().await.map_err(PaymentsError::from)?;
    Ok(Ingested::Queued)
}
