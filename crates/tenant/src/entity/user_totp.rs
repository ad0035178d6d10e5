//! `user_totp`: a person's TOTP secret.

use sea_orm::entity::prelude::*;

/// A TOTP row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_totp")]
pub struct Model {
    /// Whose.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// Base32 secret.
    pub secret: String,
    /// Created (UTC).
    pub created_at: DateTimeUtc,
    /// Confirmed with a valid code (UTC); unconfirmed secrets do not count.
    pub confirmed_at: Option<DateTimeUtc>,
    /// Last accepted time step (no replay).
    pub last_step: i64,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
