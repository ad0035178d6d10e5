//! `rate_schedule_versions`: one version of a tariff, in force from a date (append-only).

use sea_orm::entity::prelude::*;

/// A `rate_schedule_versions` row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rate_schedule_versions")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tariff.
    pub schedule_id: Uuid,
    /// In force from.
    pub effective_from: Date,
    /// The `aqueduct_rates::RateSchedule` as JSON.
    pub body: String,
    /// Added.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
