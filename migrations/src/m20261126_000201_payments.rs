//! Stripe Connect: connected accounts, the webhook inbox, payments,
//! refunds and disputes.

use crate::rls;
use crate::schema::{tenant_fk, tenant_table};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TENANT_TABLES: &[&str] = &["stripe_accounts", "payments", "refunds", "disputes"];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One connected account per association; a Stripe account belongs
        // to one association only.
        manager
            .create_table(
                tenant_table("stripe_accounts")
                    .col(string_len("stripe_account_id", 64))
                    .col(boolean("livemode"))
                    .col(boolean("details_submitted").default(false))
                    .col(boolean("charges_enabled").default(false))
                    .col(boolean("payouts_enabled").default(false))
                    .col(text("currently_due"))
                    .col(text("past_due"))
                    .col(string_null("disabled_reason"))
                    .col(integer("fee_basis_points").default(0))
                    .col(big_integer("fee_fixed_cents").default(0))
                    .col(big_integer("state_version").default(0))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .index(
                        Index::create()
                            .name("uq_stripe_accounts_tenant")
                            .unique()
                            .col("tenant_id"),
                    )
                    .index(
                        Index::create()
                            .name("uq_stripe_accounts_account")
                            .unique()
                            .col("stripe_account_id"),
                    )
                    .take(),
            )
            .await?;

        // The webhook inbox: platform machinery, keyed by Stripe's event id.
        manager
            .create_table(
                Table::create()
                    .table("stripe_events")
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("event_id", 255))
                    .col(string_len("event_type", 128))
                    .col(string_len_null("stripe_account_id", 64))
                    .col(boolean("livemode"))
                    .col(big_integer("created"))
                    .col(text("payload"))
                    .col(timestamp_with_time_zone("received_at"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                tenant_table("payments")
                    .col(uuid("account_id"))
                    .col(string_len("idempotency_key", 255))
                    .col(big_integer("amount_cents"))
                    .col(big_integer("application_fee_cents"))
                    .col(string_len("currency", 3))
                    .col(string_len("status", 16))
                    .col(string_len_null("method", 32))
                    .col(string_len_null("checkout_session_id", 255))
                    .col(text_null("checkout_url"))
                    .col(string_len_null("payment_intent_id", 255))
                    .col(string_len_null("charge_id", 255))
                    .col(big_integer("captured_cents").default(0))
                    .col(big_integer("refunded_cents").default(0))
                    .col(string_null("failure_reason"))
                    .col(timestamp_with_time_zone_null("posted_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut tenant_fk("payments", "account_id", "accounts"))
                    .index(
                        Index::create()
                            .name("uq_payments_idempotency")
                            .unique()
                            .col("tenant_id")
                            .col("idempotency_key"),
                    )
                    .take(),
            )
            .await?;
        index(
            manager,
            "ix_payments_account",
            "payments",
            &["tenant_id", "account_id"],
        )
        .await?;
        index(
            manager,
            "ix_payments_intent",
            "payments",
            &["tenant_id", "payment_intent_id"],
        )
        .await?;

        manager
            .create_table(
                tenant_table("refunds")
                    .col(uuid("payment_id"))
                    .col(string_len("idempotency_key", 255))
                    .col(big_integer("amount_cents"))
                    .col(string_len("status", 16))
                    .col(string_null("reason"))
                    .col(string_len_null("stripe_refund_id", 255))
                    .col(string("requested_by"))
                    .col(timestamp_with_time_zone_null("posted_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut tenant_fk("refunds", "payment_id", "payments"))
                    .index(
                        Index::create()
                            .name("uq_refunds_idempotency")
                            .unique()
                            .col("tenant_id")
                            .col("idempotency_key"),
                    )
                    .take(),
            )
            .await?;

        manager
            .create_table(
                tenant_table("disputes")
                    .col(uuid("payment_id"))
                    .col(string_len("stripe_dispute_id", 255))
                    .col(big_integer("amount_cents"))
                    .col(string_len("status", 32))
                    .col(string_null("reason"))
                    .col(timestamp_with_time_zone_null("hold_posted_at"))
                    .col(timestamp_with_time_zone_null("released_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut tenant_fk("disputes", "payment_id", "payments"))
                    .index(
                        Index::create()
                            .name("uq_disputes_stripe")
                            .unique()
                            .col("tenant_id")
                            .col("stripe_dispute_id"),
                    )
                    .take(),
            )
            .await?;

        for table in TENANT_TABLES {
            rls::protect(manager, table).await?;
        }
        Ok(())
    }
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: &'static str,
    cols: &[&'static str],
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(*col);
    }
    manager.create_index(index).await
}
