//! Payment plans: a past-due balance split into monthly installments.

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
                tenant_table("payment_plans")
                    .col(uuid("account_id"))
                    .col(big_integer("total_cents"))
                    .col(integer("installments"))
                    .col(date("first_due_on"))
                    .col(date("starts_on"))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("ended_at"))
                    .foreign_key(&mut tenant_fk("payment_plans", "account_id", "accounts"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_payment_plans_account")
                    .table("payment_plans")
                    .col("tenant_id")
                    .col("account_id")
                    .take(),
            )
            .await?;
        rls::protect(manager, "payment_plans").await
    }
}
