//! Writing notifications: in the caller's transaction, once per (kind,
//! subject, recipient), with the job that delivers them.

use crate::NotifyError;
use crate::entity::{notification, preference};
use crate::kind::{Audience, Kind, Status};
use crate::prefs;
use aqueduct_core::{AccountId, Clock};
use aqueduct_jobs::{Enqueued, NewJob, enqueue};
use aqueduct_tenant::{TenantTx, scoped};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, QueryFilter, QueryOrder, QuerySelect, Statement, Value,
};
use std::collections::HashMap;
use uuid::Uuid;

/// The job kind that delivers one notification.
pub const DELIVER_JOB: &str = "notify.deliver";

/// Attempts before a temporarily failing message is given up.
pub const MAX_ATTEMPTS: i32 = 8;

/// A notification to write.
#[derive(Debug, Clone)]
pub struct NewNotification {
    /// What.
    pub kind: Kind,
    /// About what: with kind and recipient, the idempotency key
    /// (`bill:<id>`, `payment:<id>`…).
    pub subject_id: String,
    /// Email address.
    pub recipient: String,
    /// The customer's account (for preferences and the staff view).
    pub account: Option<AccountId>,
    /// Template values: plain facts only, never secrets or card data.
    pub data: serde_json::Value,
}

/// What `record` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A new row and its delivery job.
    Queued(Uuid),
    /// The same (kind, subject, recipient) was already recorded.
    Duplicate,
    /// The customer turned this kind off.
    OptedOut,
    /// No usable address.
    NoRecipient,
}

fn sql(backend: DbBackend, s: &str) -> String {
    if backend != DbBackend::Postgres {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 16);
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

/// Records one notification in `tx` (see [`record_many`]).
pub async fn record(
    tx: &TenantTx,
    clock: &dyn Clock,
    n: NewNotification,
) -> Result<Recorded, NotifyError> {
    Ok(record_many(tx, clock, vec![n])
        .await?
        .pop()
        .unwrap_or(Recorded::NoRecipient))
}

/// Records notifications in `tx`: the caller's transaction, so they
/// commit with the event that causes them or not at all. Looks up each
/// customer's language and opt-outs once.
pub async fn record_many(
    tx: &TenantTx,
    clock: &dyn Clock,
    items: Vec<NewNotification>,
) -> Result<Vec<Recorded>, NotifyError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let settings = prefs::settings(tx).await?;
    let default_locale = settings
        .as_ref()
        .map(|s| s.default_locale.clone())
        .unwrap_or_else(|| "en".into());
    let accounts: Vec<Uuid> = items
        .iter()
        .filter_map(|n| n.account.map(AccountId::uuid))
        .collect();
    let mut choices: HashMap<Uuid, preference::Model> = HashMap::new();
    for chunk in accounts.chunks(500) {
        for p in scoped::<preference::Entity>(tx)
            .filter(preference::Column::AccountId.is_in(chunk.iter().copied()))
            .all(tx.conn())
            .await?
        {
            choices.insert(p.account_id, p);
        }
    }
    let backend = tx.conn().get_database_backend();
    let insert = sql(
        backend,
        "INSERT INTO notifications (tenant_id, id, kind, subject_id, recipient, account_id, \
         audience, locale, data, status, attempts, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) \
         ON CONFLICT (tenant_id, kind, subject_id, recipient) DO NOTHING",
    );
    let now = clock.now();
    let mut out = Vec::with_capacity(items.len());
    for n in items {
        let recipient = n.recipient.trim().to_owned();
        if recipient.is_empty() || recipient.parse::<lettre::Address>().is_err() {
            out.push(Recorded::NoRecipient);
            continue;
        }
        let choice = n.account.and_then(|a| choices.get(&a.uuid()));
        if !n.kind.essential()
            && choice.is_some_and(|c| c.disabled_kinds.split(',').any(|k| k == n.kind.as_str()))
        {
            out.push(Recorded::OptedOut);
            continue;
        }
        let locale = match n.kind.audience() {
            Audience::Customer => choice
                .and_then(|c| c.locale.clone())
                .unwrap_or_else(|| default_locale.clone()),
            _ => default_locale.clone(),
        };
        let id = Uuid::now_v7();
        let res = tx
            .conn()
            .execute_raw(Statement::from_sql_and_values(
                backend,
                &insert,
                [
                    tx.tenant_id().uuid().into(),
                    id.into(),
                    n.kind.as_str().into(),
                    n.subject_id.clone().into(),
                    recipient.into(),
                    Value::from(n.account.map(AccountId::uuid)),
                    n.kind.audience().as_str().into(),
                    locale.into(),
                    n.data.to_string().into(),
                    Status::Queued.as_str().into(),
                    now.into(),
                    now.into(),
                ],
            ))
            .await?;
        if res.rows_affected() != 1 {
            out.push(Recorded::Duplicate);
            continue;
        }
        enqueue_delivery(tx, clock, id).await?;
        out.push(Recorded::Queued(id));
    }
    Ok(out)
}

async fn enqueue_delivery(tx: &TenantTx, clock: &dyn Clock, id: Uuid) -> Result<(), NotifyError> {
    let mut job = NewJob::new(DELIVER_JOB, serde_json::json!({ "notification": id }))
        .for_tenant(tx.tenant_id())
        .dedupe(format!("notification:{id}"));
    job.max_attempts = MAX_ATTEMPTS;
    match enqueue(tx.conn(), clock, job).await? {
        Enqueued::New(_) | Enqueued::Duplicate => Ok(()),
    }
}

/// Where the association's staff notifications go (its settings'
/// `staff_address`), if set.
pub async fn staff_recipient(tx: &TenantTx) -> Result<Option<String>, NotifyError> {
    Ok(prefs::settings(tx).await?.and_then(|s| s.staff_address))
}

/// A page of notifications, newest first, optionally for one account.
pub async fn list(
    tx: &TenantTx,
    account: Option<AccountId>,
    status: Option<&str>,
    limit: u64,
) -> Result<Vec<notification::Model>, NotifyError> {
    let mut q = scoped::<notification::Entity>(tx);
    if let Some(a) = account {
        q = q.filter(notification::Column::AccountId.eq(a.uuid()));
    }
    if let Some(s) = status {
        q = q.filter(notification::Column::Status.eq(s));
    }
    Ok(q.order_by_desc(notification::Column::CreatedAt)
        .order_by_desc(notification::Column::Id)
        .limit(limit.clamp(1, 500))
        .all(tx.conn())
        .await?)
}

/// One notification.
pub async fn get(tx: &TenantTx, id: Uuid) -> Result<notification::Model, NotifyError> {
    scoped::<notification::Entity>(tx)
        .filter(notification::Column::Id.eq(id))
        .one(tx.conn())
        .await?
        .ok_or(NotifyError::NotFound)
}

/// Staff "resend": a failed notification goes back to the queue with a
/// fresh delivery job. A sent one is not sent again (answers `Invalid`).
pub async fn resend(tx: &TenantTx, clock: &dyn Clock, id: Uuid) -> Result<(), NotifyError> {
    let n = get(tx, id).await?;
    if n.status == Status::Sent.as_str() {
        return Err(NotifyError::Invalid("already sent".into()));
    }
    let backend = tx.conn().get_database_backend();
    tx.conn()
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql(
                backend,
                "UPDATE notifications SET status = ?, attempts = 0, updated_at = ? \
                 WHERE tenant_id = ? AND id = ? AND status <> 'sent'",
            ),
            [
                Status::Queued.as_str().into(),
                clock.now().into(),
                tx.tenant_id().uuid().into(),
                id.into(),
            ],
        ))
        .await?;
    let mut job = NewJob::new(DELIVER_JOB, serde_json::json!({ "notification": id }))
        .for_tenant(tx.tenant_id())
        .dedupe(format!("notification:{id}:resend:{}", Uuid::now_v7()));
    job.max_attempts = MAX_ATTEMPTS;
    enqueue(tx.conn(), clock, job).await?;
    Ok(())
}
