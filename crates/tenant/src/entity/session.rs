//! `sessions`: server-side sign-in sessions.

use sea_orm::entity::prelude::*;

/// A session row, keyed by the SHA-256 of the id in the cookie.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    /// Hex SHA-256 of the session id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id_hash: String,
    /// Who is signed in.
    pub user_id: Uuid,
    /// The association selected for staff work, if any.
    pub active_tenant: Option<Uuid>,
    /// Token that state-changing requests must echo (CSRF).
    pub csrf_token: String,
    /// Signed in with the password but the second factor is still due.
    pub second_factor_pending: bool,
    /// Created (UTC).
    pub created_at: DateTimeUtc,
    /// Last request (UTC), for the idle timeout.
    pub last_seen_at: DateTimeUtc,
    /// Absolute end (UTC).
    pub expires_at: DateTimeUtc,
    /// For a customer session: the association it is bound to.
    pub customer_tenant: Option<Uuid>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
