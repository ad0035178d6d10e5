//! `account_closures`: how and when an account was closed (move-out or
//! transfer), one row per account.

use sea_orm::entity::prelude::*;

/// A closure row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_closures")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Closure id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account closed.
    pub account_id: Uuid,
    /// The location it moved out of.
    pub location_id: Uuid,
    /// The meter of the final read.
    pub meter_id: Uuid,
    /// `move_out` or `transfer`.
    pub kind: String,
    /// Day of the final read; the occupancy's last day.
    pub closed_on: Date,
    /// The final read's register value.
    pub final_value: i64,
    /// The final bill (none when nothing was left to bill).
    pub final_bill_id: Option<Uuid>,
    /// The account opened by a transfer.
    pub transferred_to: Option<Uuid>,
    /// Deposit applied to the final balance (cents).
    pub deposit_applied_cents: i64,
    /// Deposit refunded (cents).
    pub deposit_refunded_cents: i64,
    /// When recorded.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
