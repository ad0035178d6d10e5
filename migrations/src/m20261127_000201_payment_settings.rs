//! Per-association payment settings: the platform fee operators set
//! (kept apart from the connected account, so it can be set before the
//! association connects Stripe) and the convenience fee by payment method
//! (off by default); the convenience fee part of each payment.

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
                    .col(integer("card_fee_basis_points").default(0))
                    .col(big_integer("card_fee_fixed_cents").default(0))
                    .col(integer("bank_fee_basis_points").default(0))
                    .col(big_integer("bank_fee_fixed_cents").default(0))
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
        // The part of a payment's amount that is the convenience fee.
        manager
            .alter_table(
                Table::alter()
                    .table("payments")
                    .add_column(big_integer("convenience_fee_cents").default(0))
                    .take(),
            )
            .await?;
        Ok(())
    }
}
