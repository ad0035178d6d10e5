//! `usage_aggregates`: consumption by month and rate class (meter size and
//! unit) of accounts whose usage data passed its retention period. No
//! account and no person: only totals and how many accounts they cover.

use sea_orm::entity::prelude::*;

/// One month and rate class.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_aggregates")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `YYYY-MM` of the read that closed each bill.
    pub month: String,
    /// Meter size (the rate class).
    pub meter_size: String,
    /// Usage unit.
    pub unit: String,
    /// Accounts counted.
    pub accounts: i32,
    /// Bills counted.
    pub bills: i32,
    /// Total use, in `unit`.
    pub usage_units: i64,
    /// Total billed, in cents.
    pub billed_cents: i64,
    /// Last added to (UTC).
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
