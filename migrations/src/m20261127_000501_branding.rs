//! `branding`: an association's public face (colour, contact details,
//! logo, notice banner). One row per association, `id` = the tenant id.

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
                tenant_table("branding")
                    .col(string_len_null("colour", 7))
                    .col(string_len_null("contact_phone", 40))
                    .col(string_len_null("contact_email", 254))
                    .col(text_null("contact_address"))
                    .col(text_null("logo_url"))
                    .col(text_null("notice"))
                    .col(string("updated_by"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await?;
        rls::protect(manager, "branding").await
    }
}
