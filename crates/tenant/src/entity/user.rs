//! `users`: people who sign in (staff, operators, later customers).

use sea_orm::entity::prelude::*;

/// A user row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// User id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Lower-cased email, unique.
    pub email: String,
    /// Name shown in the interface.
    pub display_name: String,
    /// Platform operator.
    pub is_operator: bool,
    /// Argon2id PHC string, when a password is set.
    pub password_hash: Option<String>,
    /// Created (UTC).
    pub created_at: DateTimeUtc,
    /// Disabled (UTC), if disabled.
    pub disabled_at: Option<DateTimeUtc>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
