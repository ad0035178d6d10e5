//! `payments`: one payment attempt (a Checkout Session) of a customer account.

use sea_orm::entity::prelude::*;

/// A payment row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Payment id (our id; the root of the Stripe Idempotency-Key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Customer account paying.
    pub account_id: Uuid,
    /// The client's idempotency key (unique per association).
    pub idempotency_key: String,
    /// Amount asked, in cents.
    pub amount_cents: i64,
    /// Platform fee taken by the platform, in cents.
    pub application_fee_cents: i64,
    /// The part of `amount_cents` that is the association's convenience
    /// fee (0 when it charges none).
    pub convenience_fee_cents: i64,
    /// ISO currency (usd).
    pub currency: String,
    /// pending | processing | succeeded | failed.
    pub status: String,
    /// card | us_bank_account, once known.
    pub method: Option<String>,
    /// Stripe Checkout Session id.
    pub checkout_session_id: Option<String>,
    /// Where the customer pays (Stripe-hosted).
    pub checkout_url: Option<String>,
    /// Stripe PaymentIntent id.
    pub payment_intent_id: Option<String>,
    /// Stripe Charge id.
    pub charge_id: Option<String>,
    /// Captured by Stripe, in cents.
    pub captured_cents: i64,
    /// Refunded so far, in cents.
    pub refunded_cents: i64,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// When the ledger got its payment entry (once).
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
