//! `payments_in_flight`: payments started but not yet settled (ACH takes
//! days); late fees wait while one is open.

use sea_orm::entity::prelude::*;

/// A payment-in-flight row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments_in_flight")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Customer account.
    pub account_id: Uuid,
    /// The payment's external id.
    pub external_id: String,
    /// Started.
    pub started_at: DateTimeUtc,
    /// Settled or failed (no longer in flight).
    pub settled_at: Option<DateTimeUtc>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
