//! API keys: when each was last used (shown to admins on the API keys
//! page; written at most every few minutes per key, see
//! `aqueduct_tenant::api_keys::LAST_USED_EVERY`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("api_keys")
                    .add_column(timestamp_with_time_zone_null("last_used_at"))
                    .take(),
            )
            .await
    }
}
