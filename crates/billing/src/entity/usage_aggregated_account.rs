//! `usage_aggregated_accounts`: accounts whose usage is counted in
//! `usage_aggregates` (their bills are then left out of usage reports).

use sea_orm::entity::prelude::*;

/// One aggregated account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_aggregated_accounts")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account.
    pub account_id: Uuid,
    /// When (UTC).
    pub aggregated_at: DateTimeUtc,
    /// The usage period in force, in years after closure.
    pub policy_years: i32,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
