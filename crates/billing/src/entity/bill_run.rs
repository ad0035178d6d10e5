//! `bill_runs`: one billing cycle: draft → finalizing → finalized.

use sea_orm::entity::prelude::*;

/// A `bill_runs` row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bill_runs")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tariff priced.
    pub schedule_id: Uuid,
    /// First day of the cycle.
    pub period_start: Date,
    /// Last day of the cycle.
    pub period_end: Date,
    /// When the bills are due.
    pub due_on: Date,
    /// draft | finalizing | finalized.
    pub status: String,
    /// Created.
    pub created_at: DateTimeUtc,
    /// Finished.
    pub finalized_at: Option<DateTimeUtc>,
    /// `cycle`, or `final`: holds final bills issued at move-out for a
    /// period no cycle had claimed (a cycle of that period adopts it).
    pub kind: String,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
