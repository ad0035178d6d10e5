//! `api_keys`: machine clients of an association.

use sea_orm::entity::prelude::*;

/// An API key row. Only the SHA-256 of the key is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Key id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Label chosen by the admin.
    pub name: String,
    /// Role granted to the key.
    pub role: String,
    /// Hex SHA-256 of the whole key.
    pub key_hash: String,
    /// Created (UTC).
    pub created_at: DateTimeUtc,
    /// Revoked (UTC), if revoked.
    pub revoked_at: Option<DateTimeUtc>,
    /// Last used (UTC), to within [`crate::api_keys::LAST_USED_EVERY`].
    pub last_used_at: Option<DateTimeUtc>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
