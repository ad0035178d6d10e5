//! Meter reads, idempotent on (tenant, meter, read date).

use crate::rls;
use crate::schema::{tenant_fk, tenant_table};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                tenant_table("meter_reads")
                    .col(uuid("meter_id"))
                    .col(date("read_on"))
                    .col(big_integer("value"))
                    .col(boolean("estimated").default(false))
                    .col(string_len("source", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut tenant_fk("meter_reads", "meter_id", "meters"))
                    .index(
                        Index::create()
                            .name("uq_meter_reads_meter_date")
                            .unique()
                            .col("tenant_id")
                            .col("meter_id")
                            .col("read_on"),
                    )
                    .take(),
            )
            .await?;
        rls::protect(manager, "meter_reads").await
    }
}
