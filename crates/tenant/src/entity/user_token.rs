//! `user_tokens`: single-use tokens for setting or resetting a password.

use sea_orm::entity::prelude::*;

/// A token row; only the SHA-256 of the token is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_tokens")]
pub struct Model {
    /// Hex SHA-256 of the token.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    /// Whose.
    pub user_id: Uuid,
    /// `set_password` | `reset`.
    pub purpose: String,
    /// The association the token is good in (customer sign-in links);
    /// `None`: anywhere.
    pub scope_tenant_id: Option<Uuid>,
    /// Created (UTC).
    pub created_at: DateTimeUtc,
    /// Expires (UTC).
    pub expires_at: DateTimeUtc,
    /// Used (UTC), once used.
    pub used_at: Option<DateTimeUtc>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
