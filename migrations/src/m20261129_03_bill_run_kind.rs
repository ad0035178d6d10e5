//! A run is either a billing `cycle` or the `final` run that holds final
//! bills issued at move-out for a period no cycle had claimed. A cycle
//! created later for that same period adopts the final run instead of
//! being refused.

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
                    .table("bill_runs")
                    .add_column(string_len("kind", 8).default("cycle"))
                    .take(),
            )
            .await
    }
}
