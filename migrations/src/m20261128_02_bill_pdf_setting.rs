//! Bill-ready mail: whether the association attaches the bill as a PDF
//! (`attach`) or sends the link only (`link`, the default).

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
                    .table("notification_settings")
                    .add_column(string_len("bill_pdf", 8).default("link"))
                    .take(),
            )
            .await
    }
}
