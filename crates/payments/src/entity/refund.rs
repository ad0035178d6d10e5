//! `refunds`: money given back from a payment.

use sea_orm::entity::prelude::*;

/// A refund row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Refund id (root of the Stripe Idempotency-Key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The payment refunded.
    pub payment_id: Uuid,
    /// The client's idempotency key (unique per association).
    pub idempotency_key: String,
    /// Amount, in cents.
    pub amount_cents: i64,
    /// pending | succeeded | failed.
    pub status: String,
    /// Staff's reason.
    pub reason: Option<String>,
    /// Stripe's `re_…` id.
    pub stripe_refund_id: Option<String>,
    /// Who asked (`api_key:…`, `user:…`, `stripe` for dashboard refunds).
    pub requested_by: String,
    /// When the ledger got its refund entry (once).
    pub posted_at: Option<DateTimeUtc>,
    /// Created (UTC).
    pub created_at: DateTimeUtc,
    /// Last changed (UTC).
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
