//! `sso_providers`: an association's own OpenID Connect provider.

use sea_orm::entity::prelude::*;

/// One provider per association (`id` = the tenant's id).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_providers")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Row id (the tenant's id: one provider per association).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Issuer URL, exactly as the provider's discovery document says.
    pub issuer: String,
    /// Our client id at the provider.
    pub client_id: String,
    /// Our client secret at the provider.
    pub client_secret: String,
    /// Button text.
    pub label: String,
    /// Last change (UTC).
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
