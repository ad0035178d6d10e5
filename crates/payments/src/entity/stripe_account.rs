//! `stripe_accounts`: an association's connected account and its state.

use sea_orm::entity::prelude::*;

/// A connected account row (one per association).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stripe_accounts")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Stripe's `acct_…` id.
    pub stripe_account_id: String,
    /// Whether the account lives in live mode.
    pub livemode: bool,
    /// Onboarding form submitted.
    pub details_submitted: bool,
    /// Can accept charges.
    pub charges_enabled: bool,
    /// Can receive payouts.
    pub payouts_enabled: bool,
    /// JSON array of requirements currently due.
    pub currently_due: String,
    /// JSON array of requirements past due.
    pub past_due: String,
    /// Why Stripe disabled the account, if it did.
    pub disabled_reason: Option<String>,
    /// Platform fee: percentage in basis points (1/100 of a percent).
    pub fee_basis_points: i32,
    /// Platform fee: fixed part in cents.
    pub fee_fixed_cents: i64,
    /// `created` of the newest `account.updated` applied (older ones are ignored).
    pub state_version: i64,
    /// Created (UTC).
    pub created_at: DateTimeUtc,
    /// Last changed (UTC).
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
