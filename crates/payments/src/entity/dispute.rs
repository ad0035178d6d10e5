//! `disputes`: a customer's bank disputing a payment.

use sea_orm::entity::prelude::*;

/// A dispute row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "disputes")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The disputed payment.
    pub payment_id: Uuid,
    /// Stripe's `du_…` id.
    pub stripe_dispute_id: String,
    /// Disputed amount, in cents.
    pub amount_cents: i64,
    /// Stripe's dispute status (needs_response, under_review, won, lost…).
    pub status: String,
    /// Stripe's reason.
    pub reason: Option<String>,
    /// Stripe's `evidence_details.due_by` (Unix time).
    pub evidence_due_by: Option<i64>,
    /// When the hold entry was posted.
    pub hold_posted_at: Option<DateTimeUtc>,
    /// When the hold was released (dispute won).
    pub released_at: Option<DateTimeUtc>,
    /// Created (UTC).
    pub created_at: DateTimeUtc,
    /// Last changed (UTC).
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
