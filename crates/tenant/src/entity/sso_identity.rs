//! `sso_identities`: a provider's subject linked to one of our people.

use sea_orm::entity::prelude::*;

/// A link.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_identities")]
pub struct Model {
    /// Provider issuer URL.
    #[sea_orm(primary_key, auto_increment = false)]
    pub issuer: String,
    /// The provider's `sub`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub subject: String,
    /// Our person.
    pub user_id: Uuid,
    /// Linked (UTC).
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
