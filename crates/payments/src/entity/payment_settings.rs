//! `payment_settings`: an association's fees (one row per association).

use sea_orm::entity::prelude::*;

/// The settings row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_settings")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Platform fee: percentage in basis points (1/100 of a percent).
    pub platform_fee_basis_points: i32,
    /// Platform fee: fixed part in cents.
    pub platform_fee_fixed_cents: i64,
    /// Convenience fee on card payments: basis points.
    pub card_fee_basis_points: i32,
    /// Convenience fee on card payments: fixed cents.
    pub card_fee_fixed_cents: i64,
    /// Convenience fee on bank (ACH) payments: basis points.
    pub bank_fee_basis_points: i32,
    /// Convenience fee on bank (ACH) payments: fixed cents.
    pub bank_fee_fixed_cents: i64,
    /// Autopay charges this many days before the due date (0: on it).
    pub autopay_days_before: i32,
    /// The upcoming-autopay notice goes this many days before the charge.
    pub autopay_notice_days: i32,
    /// Created (UTC).
    pub created_at: DateTimeUtc,
    /// Last changed (UTC).
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
