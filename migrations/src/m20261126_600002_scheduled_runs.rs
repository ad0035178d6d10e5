//! `scheduled_runs`: one row per attempt of a scheduled platform job
//! (retention, backup). The unique key lets exactly one replica claim an
//! attempt; the rows are the operator-visible status.

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
                    .table("scheduled_runs")
                    .col(pk_uuid("id"))
                    .col(string_len("job", 32))
                    .col(string_len("slot", 16))
                    .col(integer("attempt"))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .col(string_len("status", 16))
                    .col(text_null("message"))
                    .index(
                        Index::create()
                            .name("uq_scheduled_runs_attempt")
                            .unique()
                            .col("job")
                            .col("slot")
                            .col("attempt"),
                    )
                    .take(),
            )
            .await
    }
}
