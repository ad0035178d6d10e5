//! The association's late-fee rule (one row per association).

use crate::rls;
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
                    .table("late_fee_rules")
                    .col(pk_uuid("tenant_id"))
                    .col(big_integer("flat_cents"))
                    .col(integer("percent_bp"))
                    .col(integer("grace_days"))
                    .col(big_integer("min_balance_cents"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_late_fee_rules_tenant")
                            .from("late_fee_rules", "tenant_id")
                            .to("tenants", "id"),
                    )
                    .take(),
            )
            .await?;
        rls::protect(manager, "late_fee_rules").await
    }
}
