//! `late_fee_rules`: the association's late-fee rule.

use sea_orm::entity::prelude::*;

/// A late-fee rule row (one per association).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "late_fee_rules")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Flat fee in cents (added to the percentage).
    pub flat_cents: i64,
    /// Percentage of the past-due amount, in basis points (150 = 1.5 %).
    pub percent_bp: i32,
    /// Days after the due date before a fee.
    pub grace_days: i32,
    /// No fee below this past-due amount.
    pub min_balance_cents: i64,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
