//! `invitations`: a pending or accepted invitation to an association's staff.

use sea_orm::entity::prelude::*;

/// An invitation row; only the SHA-256 of the token is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Invitation id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Invited email (lower-case).
    pub email: String,
    /// admin | clerk | viewer.
    pub role: String,
    /// Hex SHA-256 of the mailed token.
    pub token_hash: String,
    /// Who invited (`user:<id>` or `api_key:<id>`).
    pub invited_by: String,
    /// Created (UTC).
    pub created_at: DateTimeUtc,
    /// Expires (UTC).
    pub expires_at: DateTimeUtc,
    /// Accepted (UTC), once accepted.
    pub accepted_at: Option<DateTimeUtc>,
    /// The person who accepted.
    pub accepted_by: Option<Uuid>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
