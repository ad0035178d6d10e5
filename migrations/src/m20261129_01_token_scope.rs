//! Single-use tokens can be bound to one association: a customer's
//! sign-in link mailed by association A signs in to A only. Tokens for
//! staff (set or reset a password) stay platform-wide (`NULL`).

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
                    .table("user_tokens")
                    .add_column(uuid_null("scope_tenant_id"))
                    .take(),
            )
            .await
    }
}
