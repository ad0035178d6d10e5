//! The platform's daily jobs now run as `aqueduct-jobs` schedules (their
//! job rows are the status): `scheduled_runs` is no longer used.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("scheduled_runs").if_exists().take())
            .await
    }
}
