//! `estimate_settings`: how the association estimates a missing read (one
//! row per association; none means the default).

use sea_orm::entity::prelude::*;

/// An estimate rule row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "estimate_settings")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// `average` (daily use of the last periods) or `last_year` (the same
    /// period a year earlier).
    pub method: String,
    /// Periods averaged (1–12).
    pub periods: i32,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
