//! `occupancies`: which account was at which location when.

use sea_orm::entity::prelude::*;

/// An occupancy row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "occupancies")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Occupancy id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Account.
    pub account_id: Uuid,
    /// Location.
    pub location_id: Uuid,
    /// First day.
    pub starts_on: Date,
    /// Last day, when moved out.
    pub ends_on: Option<Date>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
