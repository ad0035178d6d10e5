//! Per-association payment settings: the platform fee operators set
//! (kept apart from the connected account, so it can be set before the
//! association connects Stripe).

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
                tenant_table("payment_settings")
                    .col(integer("platform_fee_basis_points").default(0))
                    .col(big_integer("platform_fee_fixed_cents").default(0))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .index(
                        Index::create()
                            .name("uq_payment_settings_tenant")
                            .unique()
                            .col("tenant_id"),
                    )
                    .take(),
            )
            .await?;
        rls::protect(manager, "payment_settings").await?;
        Ok(())
    }
}
