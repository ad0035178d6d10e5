//! Saved CSV column mappings per association.

use crate::rls;
use crate::schema::tenant_table;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                tenant_table("import_mappings")
                    .col(string_len("name", 64))
                    .col(string_len("kind", 16))
                    .col(text("mapping"))
                    .col(timestamp_with_time_zone("created_at"))
                    .index(
                        Index::create()
                            .name("uq_import_mappings_name")
                            .unique()
                            .col("tenant_id")
                            .col("kind")
                            .col("name"),
                    )
                    .take(),
            )
            .await?;
        rls::protect(manager, "import_mappings").await
    }
}
