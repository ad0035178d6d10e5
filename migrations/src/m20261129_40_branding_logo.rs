//! `branding_logos`: an association's uploaded logo (PNG or JPEG, at most
//! 256 KiB — checked by the API), kept in the database so backups carry
//! it and every server behind a load balancer serves the same one. One
//! row per association, `id` = the tenant id.

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
                tenant_table("branding_logos")
                    .col(string_len("content_type", 20))
                    .col(blob("data"))
                    .col(integer("width"))
                    .col(integer("height"))
                    .col(integer("byte_len"))
                    // SHA-256 of `data`, hex: the ETag and the `?v=` of its URL.
                    .col(string_len("sha256", 64))
                    .col(string("updated_by"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await?;
        rls::protect(manager, "branding_logos").await
    }
}
