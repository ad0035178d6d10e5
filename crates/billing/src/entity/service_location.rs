//! `service_locations`: where water is delivered.

use sea_orm::entity::prelude::*;

/// A service location row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service_locations")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Location id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Street address.
    pub address_line1: String,
    /// Unit, lot.
    pub address_line2: Option<String>,
    /// City.
    pub city: String,
    /// State (2 letters).
    pub state: String,
    /// ZIP code.
    pub postal_code: String,
    /// Meter-reading route.
    pub route: Option<String>,
    /// Position in the route.
    pub sequence: Option<i32>,
    /// active | inactive.
    pub status: String,
    /// Created (UTC).
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
