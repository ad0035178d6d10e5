//! `erasure_requests`: a customer's request to be forgotten.

use sea_orm::entity::prelude::*;

/// An erasure request.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "erasure_requests")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Request id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account.
    pub account_id: Uuid,
    /// Who asked (the customer or staff for them).
    pub requested_by: String,
    /// When (UTC).
    pub requested_at: DateTimeUtc,
    /// `restricted` (kept, hidden) or `erased`.
    pub status: String,
    /// The answer given: why it cannot be erased yet, or that it was.
    pub answer: String,
    /// Earliest time the retention job may erase it.
    pub erase_after: Option<DateTimeUtc>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
