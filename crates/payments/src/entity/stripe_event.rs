//! `stripe_events`: the webhook inbox (platform table, one row per event id).

use sea_orm::entity::prelude::*;

/// A received, verified Stripe event.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stripe_events")]
pub struct Model {
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Stripe's `evt_…` id (unique).
    pub event_id: String,
    /// Event type, e.g. `payment_intent.succeeded`.
    pub event_type: String,
    /// The connected account it happened on.
    pub stripe_account_id: Option<String>,
    /// Live or test mode.
    pub livemode: bool,
    /// Stripe's `created` (Unix seconds).
    pub created: i64,
    /// The verified JSON body.
    pub payload: String,
    /// When we received it (UTC).
    pub received_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
