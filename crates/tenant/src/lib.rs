#![doc = include_str!("../README.md")]

pub mod api_keys;
pub mod audit;
pub mod auth_cache;
pub mod credentials;
mod ctx;
pub mod customers;
mod db;
pub mod directory;
pub mod entity;
mod error;
pub mod links;
pub mod mailer;
pub mod otp;
pub mod password;
mod role;
pub mod sealed;
pub mod second_factor;
pub mod sessions;
pub mod signin;
pub mod sso;
pub mod staff;
pub mod throttle;
pub mod users;

pub use ctx::{TenantCtx, TenantStatus};
pub use db::{
    Access, Backend, BatchRows, Db, DbOptions, PlatformAccess, PlatformTx, ReadBatch, Slot,
    TenantTx,
};
pub use error::TenantError;
pub use role::Role;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};

/// An entity whose rows belong to one tenant.
pub trait TenantOwned: EntityTrait {
    /// The entity's `tenant_id` column.
    fn tenant_column() -> Self::Column;
}

/// `SELECT … WHERE tenant_id = <the transaction's tenant>`: the first line
/// of isolation. Start every tenant query here.
pub fn scoped<E: TenantOwned>(tx: &TenantTx) -> Select<E> {
    E::find().filter(E::tenant_column().eq(tx.tenant_id().uuid()))
}

impl TenantOwned for entity::api_key::Entity {
    fn tenant_column() -> Self::Column {
        entity::api_key::Column::TenantId
    }
}

impl TenantOwned for entity::membership::Entity {
    fn tenant_column() -> Self::Column {
        entity::membership::Column::TenantId
    }
}

impl TenantOwned for entity::audit_log::Entity {
    fn tenant_column() -> Self::Column {
        entity::audit_log::Column::TenantId
    }
}

impl TenantOwned for entity::invitation::Entity {
    fn tenant_column() -> Self::Column {
        entity::invitation::Column::TenantId
    }
}

impl TenantOwned for entity::sso_provider::Entity {
    fn tenant_column() -> Self::Column {
        entity::sso_provider::Column::TenantId
    }
}

impl TenantOwned for entity::customer_link::Entity {
    fn tenant_column() -> Self::Column {
        entity::customer_link::Column::TenantId
    }
}
