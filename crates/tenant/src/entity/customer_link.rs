//! `customer_links`: which accounts of an association a customer login
//! holds.

use sea_orm::entity::prelude::*;

/// One account held by one customer login.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_links")]
pub struct Model {
    /// Owning association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Link id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The customer (a row of `users`).
    pub user_id: Uuid,
    /// The account.
    pub account_id: Uuid,
    /// `proof` (account number + service ZIP) or `invitation`.
    pub via: String,
    /// Who linked it (`user:<id>`, `api_key:<id>`).
    pub linked_by: String,
    /// When (UTC).
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
