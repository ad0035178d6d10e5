//! The append-only audit log. The database refuses updates and deletes
//! (a trigger on both engines; on PostgreSQL the application role is also
//! not granted them). Entries hold ids and facts, never personal data or
//! secrets.

use crate::db::{Access, Db, PlatformTx, TenantTx};
use crate::entity::audit_log;
use aqueduct_core::{AuditId, Clock, TenantId};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, QueryOrder, QuerySelect};

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Success,
    /// Refused by a permission or isolation check.
    Denied,
    /// Attempted and failed.
    Failure,
}

impl Outcome {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failure => "failure",
        }
    }
}

/// One entry to write.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// Association, if the action concerns one.
    pub tenant: Option<TenantId>,
    /// Who acted.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// On what.
    pub target: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Request id, when caused by a request.
    pub request_id: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// Extra facts (JSON), never personal data.
    pub details: Option<serde_json::Value>,
}

pub(crate) async fn record(
    conn: &impl ConnectionTrait,
    clock: &dyn Clock,
    e: AuditEntry,
) -> Result<AuditId, DbErr> {
    let id = AuditId::new();
    audit_log::Entity::insert(audit_log::ActiveModel {
        id: Set(id.uuid()),
        tenant_id: Set(e.tenant.map(TenantId::uuid)),
        at: Set(clock.now()),
        actor: Set(e.actor),
        action: Set(e.action),
        target: Set(e.target),
        outcome: Set(e.outcome.as_str().to_owned()),
        request_id: Set(e.request_id),
        ip: Set(e.ip),
        details: Set(e.details.map(|d| d.to_string())),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(id)
}

/// Records an entry for the transaction's tenant (the entry's `tenant` is
/// overwritten with it).
pub async fn record_in(
    tx: &TenantTx,
    clock: &dyn Clock,
    mut entry: AuditEntry,
) -> Result<AuditId, DbErr> {
    entry.tenant = Some(tx.tenant_id());
    record(tx.conn(), clock, entry).await
}

/// Records a platform-level entry (operator or system action).
pub async fn record_platform(
    tx: &PlatformTx,
    clock: &dyn Clock,
    entry: AuditEntry,
) -> Result<AuditId, DbErr> {
    record(tx.conn(), clock, entry).await
}

/// Records an entry in a transaction of its own: in the entry's tenant
/// when it names one, else as a platform-level entry. For events that
/// happen outside any other transaction (sign-ins, denials).
pub async fn record_now(db: &Db, clock: &dyn Clock, entry: AuditEntry) -> Result<AuditId, DbErr> {
    let tx = db.begin(Access::Write).await?;
    match entry.tenant {
        Some(t) => db.set_local(&tx, "app.tenant_id", &t.to_string()).await?,
        None => db.set_local(&tx, "app.platform", "on").await?,
    }
    let id = record(&tx, clock, entry).await?;
    tx.commit().await?;
    Ok(id)
}

/// The tenant's most recent entries, newest first.
pub async fn recent(tx: &TenantTx, limit: u64) -> Result<Vec<audit_log::Model>, DbErr> {
    crate::scoped::<audit_log::Entity>(tx)
        .order_by_desc(audit_log::Column::Id)
        .limit(limit)
        .all(tx.conn())
        .await
}

/// What to look for in the audit log (newest first, keyset-paginated by
/// id: entry ids are time-ordered UUIDv7).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Exact action, or a prefix when it ends with `*` (`auth.*`).
    pub action: Option<String>,
    /// Exact actor (`user:<id>`, `api_key:<id>`, `anonymous`, `cli`…).
    pub actor: Option<String>,
    /// At or after (UTC).
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Before (UTC).
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Only entries older than this id (the previous page's last id).
    pub before: Option<uuid::Uuid>,
    /// Only this association's entries (platform-wide searches).
    pub tenant: Option<TenantId>,
    /// Page size.
    pub limit: u64,
}

fn filtered(
    mut q: sea_orm::Select<audit_log::Entity>,
    f: &AuditFilter,
) -> sea_orm::Select<audit_log::Entity> {
    use sea_orm::{ColumnTrait, QueryFilter};
    if let Some(a) = &f.action {
        q = match a.strip_suffix('*') {
            Some(prefix) => q.filter(audit_log::Column::Action.starts_with(prefix)),
            None => q.filter(audit_log::Column::Action.eq(a.clone())),
        };
    }
    if let Some(a) = &f.actor {
        q = q.filter(audit_log::Column::Actor.eq(a.clone()));
    }
    if let Some(t) = f.since {
        q = q.filter(audit_log::Column::At.gte(t));
    }
    if let Some(t) = f.until {
        q = q.filter(audit_log::Column::At.lt(t));
    }
    if let Some(id) = f.before {
        q = q.filter(audit_log::Column::Id.lt(id));
    }
    if let Some(t) = f.tenant {
        q = q.filter(audit_log::Column::TenantId.eq(t.uuid()));
    }
    q.order_by_desc(audit_log::Column::Id).limit(f.limit)
}

/// The association's entries matching `f` (its own log only).
pub async fn search_in(tx: &TenantTx, f: &AuditFilter) -> Result<Vec<audit_log::Model>, DbErr> {
    filtered(crate::scoped::<audit_log::Entity>(tx), f)
        .all(tx.conn())
        .await
}

/// Every association's and the platform's entries matching `f` (operators,
/// through the audited platform path).
pub async fn search_all(tx: &PlatformTx, f: &AuditFilter) -> Result<Vec<audit_log::Model>, DbErr> {
    filtered(audit_log::Entity::find(), f).all(tx.conn()).await
}
