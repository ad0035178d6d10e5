//! `payouts`: a payout from the association's Stripe balance to its bank.

use sea_orm::entity::prelude::*;

/// One row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payouts")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `po_…`.
    pub stripe_payout_id: String,
    /// Amount paid out.
    pub amount_cents: i64,
    /// Currency.
    pub currency: String,
    /// in_transit | paid | failed | canceled.
    pub status: String,
    /// Expected arrival (Unix time).
    pub arrival_date: Option<i64>,
    /// Stripe's reason when it failed.
    pub failure_message: Option<String>,
    /// pending | matched | mismatch.
    pub reconciliation: String,
    /// Items that do not match the ledger.
    pub mismatches: i32,
    /// When it was last reconciled.
    pub reconciled_at: Option<DateTimeUtc>,
    /// Created (UTC).
    pub created_at: DateTimeUtc,
    /// Last changed (UTC).
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
