//! `payout_items`: one balance transaction inside a payout and what it matched.

use sea_orm::entity::prelude::*;

/// One row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payout_items")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The payout row.
    pub payout_id: Uuid,
    /// `txn_…`.
    pub balance_transaction_id: String,
    /// Stripe's type: charge, payment, refund, adjustment, payout…
    pub kind: String,
    /// The charge, refund or dispute it is about.
    pub source_id: Option<String>,
    /// Gross amount (negative for money out).
    pub amount_cents: i64,
    /// Stripe's and the platform's fees.
    pub fee_cents: i64,
    /// Net amount.
    pub net_cents: i64,
    /// payment | refund | dispute | payout | none.
    pub matched: String,
    /// Our row it matched.
    pub matched_id: Option<Uuid>,
    /// What our records say the amount is.
    pub expected_cents: Option<i64>,
    /// ok | amount_mismatch | unknown.
    pub status: String,
    /// Created (UTC).
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
