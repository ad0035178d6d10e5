//! `sso_pending`: a single sign-on under way, keyed by the SHA-256 of its
//! `state` parameter.

use sea_orm::entity::prelude::*;

/// What the callback checks.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_pending")]
pub struct Model {
    /// Hex SHA-256 of `state`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub state_hash: String,
    /// Hex SHA-256 of the browser-binding cookie.
    pub browser_hash: String,
    /// The association whose provider is used; `None` for the platform's.
    pub provider_tenant: Option<Uuid>,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier.
    pub pkce_verifier: String,
    /// Our own path to go to afterwards.
    pub return_to: String,
    /// Started (UTC).
    pub created_at: DateTimeUtc,
    /// Expires (UTC).
    pub expires_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
