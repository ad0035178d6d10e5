//! Autopay (a saved Stripe payment method per billing account, and one
//! row per bill it is charged for) and payouts with their reconciliation
//! against the ledger. Only Stripe ids are stored, never card or bank
//! details.

use crate::rls;
use crate::schema::{tenant_fk, tenant_table};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TENANT_TABLES: &[&str] = &[
    "autopay_mandates",
    "autopay_charges",
    "payouts",
    "payout_items",
];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One mandate per billing account: pending (setup page open) →
        // active (Stripe saved the method) → off.
        manager
            .create_table(
                tenant_table("autopay_mandates")
                    .col(uuid("account_id"))
                    .col(string_len("status", 16))
                    .col(string_len_null("setup_session_id", 255))
                    .col(text_null("setup_url"))
                    .col(string_len_null("stripe_customer_id", 255))
                    .col(string_len_null("stripe_payment_method_id", 255))
                    .col(string_len_null("method_type", 32))
                    .col(timestamp_with_time_zone_null("consented_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut tenant_fk("autopay_mandates", "account_id", "accounts"))
                    .index(
                        Index::create()
                            .name("uq_autopay_mandates_account")
                            .unique()
                            .col("tenant_id")
                            .col("account_id"),
                    )
                    .take(),
            )
            .await?;
        // One row per bill autopay handles: upcoming (notice sent) →
        // charging → charged | failed (falls back to manual) | skipped.
        manager
            .create_table(
                tenant_table("autopay_charges")
                    .col(uuid("bill_id"))
                    .col(uuid("account_id"))
                    .col(date("charge_on"))
                    .col(string_len("status", 16))
                    .col(big_integer_null("amount_cents"))
                    .col(uuid_null("payment_id"))
                    .col(string_len_null("failure_code", 64))
                    .col(string_null("failure_reason"))
                    .col(timestamp_with_time_zone_null("notified_upcoming_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut tenant_fk("autopay_charges", "bill_id", "bills"))
                    .index(
                        Index::create()
                            .name("uq_autopay_charges_bill")
                            .unique()
                            .col("tenant_id")
                            .col("bill_id"),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_table(
                tenant_table("payouts")
                    .col(string_len("stripe_payout_id", 64))
                    .col(big_integer("amount_cents"))
                    .col(string_len("currency", 3))
                    .col(string_len("status", 16))
                    .col(big_integer_null("arrival_date"))
                    .col(string_null("failure_message"))
                    .col(string_len("reconciliation", 16))
                    .col(integer("mismatches").default(0))
                    .col(timestamp_with_time_zone_null("reconciled_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .index(
                        Index::create()
                            .name("uq_payouts_stripe")
                            .unique()
                            .col("tenant_id")
                            .col("stripe_payout_id"),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_table(
                tenant_table("payout_items")
                    .col(uuid("payout_id"))
                    .col(string_len("balance_transaction_id", 64))
                    .col(string_len("kind", 32))
                    .col(string_len_null("source_id", 255))
                    .col(big_integer("amount_cents"))
                    .col(big_integer("fee_cents"))
                    .col(big_integer("net_cents"))
                    .col(string_len("matched", 16))
                    .col(uuid_null("matched_id"))
                    .col(big_integer_null("expected_cents"))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut tenant_fk("payout_items", "payout_id", "payouts"))
                    .index(
                        Index::create()
                            .name("uq_payout_items_txn")
                            .unique()
                            .col("tenant_id")
                            .col("payout_id")
                            .col("balance_transaction_id"),
                    )
                    .take(),
            )
            .await?;
        // When autopay charges (days before the due date) and when the
        // customer hears about it (days before the charge).
        manager
            .alter_table(
                Table::alter()
                    .table("payment_settings")
                    .add_column(integer("autopay_days_before").default(0))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("payment_settings")
                    .add_column(integer("autopay_notice_days").default(3))
                    .take(),
            )
            .await?;
        for table in TENANT_TABLES {
            rls::protect(manager, table).await?;
        }
        Ok(())
    }
}
