//! `throttle_buckets`: failed attempts per IP or account, per window.

use sea_orm::entity::prelude::*;

/// A bucket row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "throttle_buckets")]
pub struct Model {
    /// `<action>:ip:<addr>` or `<action>:acct:<hash>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// Start of the current window (UTC).
    pub window_start: DateTimeUtc,
    /// Attempts counted in the window.
    pub attempts: i32,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
