//! `bills`: finalized bills, immutable (append-only), numbered without gaps.

use sea_orm::entity::prelude::*;

/// A `bills` row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bills")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The run that issued it.
    pub bill_run_id: Uuid,
    /// Customer account.
    pub account_id: Uuid,
    /// The meter read.
    pub meter_id: Uuid,
    /// Bill number, per association, without gaps.
    pub number: i64,
    /// 0, then 1, 2… for corrected bills after a void.
    pub revision: i32,
    /// Cycle start.
    pub period_start: Date,
    /// Cycle end.
    pub period_end: Date,
    /// Previous read date.
    pub read_from: Date,
    /// This read date.
    pub read_to: Date,
    /// Previous register value.
    pub previous_value: i64,
    /// This register value.
    pub current_value: i64,
    /// Use in the meter unit.
    pub usage_units: i64,
    /// The meter unit.
    pub usage_unit: String,
    /// This read was estimated.
    pub estimated: bool,
    /// Total in cents.
    pub total_cents: i64,
    /// Line items as JSON (`aqueduct_rates::LineItem`s).
    pub lines: String,
    /// Due date.
    pub due_on: Date,
    /// Issued.
    pub issued_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
