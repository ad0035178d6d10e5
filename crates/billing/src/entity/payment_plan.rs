//! `payment_plans`: a past-due balance split into monthly installments.

use sea_orm::entity::prelude::*;

/// A payment plan row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_plans")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Plan id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account.
    pub account_id: Uuid,
    /// The past-due balance the plan covers, in cents.
    pub total_cents: i64,
    /// Number of monthly installments.
    pub installments: i32,
    /// Due date of the first installment.
    pub first_due_on: Date,
    /// Payments on or after this day count toward the plan.
    pub starts_on: Date,
    /// active | cancelled.
    pub status: String,
    /// When it was made.
    pub created_at: DateTimeUtc,
    /// When it was cancelled.
    pub ended_at: Option<DateTimeUtc>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
