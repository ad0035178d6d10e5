//! `meter_changes`: a meter removed and another installed at its location
//! on one day, with the two reads that keep consumption continuous.

use sea_orm::entity::prelude::*;

/// A change-out row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "meter_changes")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Change id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Where.
    pub location_id: Uuid,
    /// The meter removed.
    pub old_meter_id: Uuid,
    /// The meter installed.
    pub new_meter_id: Uuid,
    /// Day of the change.
    pub changed_on: Date,
    /// The old meter's final read.
    pub old_final_value: i64,
    /// The new meter's initial read.
    pub new_initial_value: i64,
    /// When recorded.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
