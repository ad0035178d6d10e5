//! `meters`: meters installed at service locations.

use sea_orm::entity::prelude::*;

/// A meter row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "meters")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Meter id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Location it is installed at.
    pub location_id: Uuid,
    /// Serial number, unique per association.
    pub serial: String,
    /// Size, e.g. `5/8"`.
    pub size: String,
    /// Register unit: gallons, cubic_feet, ccf, m3.
    pub unit: String,
    /// Register digits (for rollover).
    pub register_digits: i16,
    /// Read × multiplier = use.
    pub multiplier: i32,
    /// Installed.
    pub installed_on: Date,
    /// Removed, when replaced.
    pub removed_on: Option<Date>,
    /// active | removed.
    pub status: String,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
