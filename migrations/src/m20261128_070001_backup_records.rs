//! `backup_records`: one row per stored backup (platform-wide, no tenant
//! column, like `schedules`), so the operator console shows the last good
//! backup's age and size without reading the bucket.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("backup_records")
                    .col(string_len("id", 64).primary_key())
                    .col(timestamp_with_time_zone("created_at"))
                    .col(big_integer("ciphertext_size"))
                    .col(string_len("key_id", 64))
                    .col(string_len("database_kind", 32))
                    .col(timestamp_with_time_zone("recorded_at"))
                    .take(),
            )
            .await
    }
}
