//! `meter_reads`: register readings of a meter, one per meter and day.

use sea_orm::entity::prelude::*;

/// A meter read row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "meter_reads")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Read id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The meter read.
    pub meter_id: Uuid,
    /// Day of the read.
    pub read_on: Date,
    /// What the register showed (before the multiplier).
    pub value: i64,
    /// Estimated rather than read.
    pub estimated: bool,
    /// manual | csv | api | estimate.
    pub source: String,
    /// When it was recorded.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
