//! `legal_holds`: holds on an account or a whole association.

use sea_orm::entity::prelude::*;

/// A legal hold.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "legal_holds")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Hold id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account held; `None`: the whole association.
    pub account_id: Option<Uuid>,
    /// Why (e.g. the matter or request reference).
    pub reason: String,
    /// Who set it.
    pub set_by: String,
    /// When (UTC).
    pub set_at: DateTimeUtc,
    /// Who released it.
    pub released_by: Option<String>,
    /// When it was released (UTC); `None` while in force.
    pub released_at: Option<DateTimeUtc>,
    /// Why it was released.
    pub release_reason: Option<String>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
