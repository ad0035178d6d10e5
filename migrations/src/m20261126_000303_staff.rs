//! Staff invitations: an admin invites a person by email with a role; the
//! mailed single-use token (stored as SHA-256) expires after 7 days.

use crate::{rls, schema};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                schema::tenant_table("invitations")
                    .col(string_len("email", 254))
                    .col(string_len("role", 16))
                    .col(string_len("token_hash", 64))
                    .col(string_len("invited_by", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("accepted_at"))
                    .col(uuid_null("accepted_by"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_invitations_token_hash")
                    .table("invitations")
                    .col("token_hash")
                    .unique()
                    .take(),
            )
            .await?;
        rls::protect(manager, "invitations").await
    }
}
