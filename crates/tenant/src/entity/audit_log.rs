//! `audit_log`: append-only record of sensitive actions.

use sea_orm::entity::prelude::*;

/// An audit entry. The database refuses updates and deletes.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    /// Entry id (UUIDv7, time-ordered).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Association, or none for platform-level entries.
    pub tenant_id: Option<Uuid>,
    /// When (UTC).
    pub at: DateTimeUtc,
    /// Who: `api_key:<id>`, `user:<id>`, `cli`, `system`.
    pub actor: String,
    /// What, e.g. `access.not_found`, `tenant.list`.
    pub action: String,
    /// On what, e.g. a path or an object id.
    pub target: Option<String>,
    /// success | denied | failure.
    pub outcome: String,
    /// The request that caused it.
    pub request_id: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// Extra facts as JSON; never personal data or secrets.
    pub details: Option<String>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
