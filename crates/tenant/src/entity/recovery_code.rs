//! `recovery_codes`: single-use codes that stand in for a TOTP code.

use sea_orm::entity::prelude::*;

/// A recovery code row; only the SHA-256 of the code is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recovery_codes")]
pub struct Model {
    /// Hex SHA-256 of the normalised code.
    #[sea_orm(primary_key, auto_increment = false)]
    pub code_hash: String,
    /// Whose.
    pub user_id: Uuid,
    /// Created (UTC).
    pub created_at: DateTimeUtc,
    /// Used (UTC), once used.
    pub used_at: Option<DateTimeUtc>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
