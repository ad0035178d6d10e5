//! The ledger: append-only, integer cents, one balanced transfer per row,
//! idempotent on an external id; and the flag for payments in flight.

use crate::rls;
use crate::schema::{append_only, tenant_fk, tenant_table};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                tenant_table("ledger_entries")
                    .col(uuid("account_id"))
                    .col(string_len("kind", 16))
                    .col(string_len("debit", 16))
                    .col(string_len("credit", 16))
                    .col(big_integer("amount_cents"))
                    .col(date("effective_on"))
                    .col(timestamp_with_time_zone("posted_at"))
                    .col(string_len_null("external_id", 128))
                    .col(uuid_null("reverses_id"))
                    .col(uuid_null("bill_id"))
                    .col(string("memo"))
                    .check(Check::named(
                        "ck_ledger_entries_amount",
                        Expr::cust("amount_cents > 0"),
                    ))
                    .check(Check::named(
                        "ck_ledger_entries_balanced",
                        Expr::cust("debit <> credit"),
                    ))
                    .foreign_key(&mut tenant_fk("ledger_entries", "account_id", "accounts"))
                    .foreign_key(&mut tenant_fk(
                        "ledger_entries",
                        "reverses_id",
                        "ledger_entries",
                    ))
                    .index(
                        Index::create()
                            .name("uq_ledger_entries_external")
                            .unique()
                            .col("tenant_id")
                            .col("external_id"),
                    )
                    .index(
                        Index::create()
                            .name("uq_ledger_entries_reverses")
                            .unique()
                            .col("tenant_id")
                            .col("reverses_id"),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_ledger_entries_account")
                    .table("ledger_entries")
                    .col("tenant_id")
                    .col("account_id")
                    .col("effective_on")
                    .take(),
            )
            .await?;
        manager
            .create_table(
                tenant_table("payments_in_flight")
                    .col(uuid("account_id"))
                    .col(string_len("external_id", 128))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(timestamp_with_time_zone_null("settled_at"))
                    .foreign_key(&mut tenant_fk(
                        "payments_in_flight",
                        "account_id",
                        "accounts",
                    ))
                    .index(
                        Index::create()
                            .name("uq_payments_in_flight_external")
                            .unique()
                            .col("tenant_id")
                            .col("external_id"),
                    )
                    .take(),
            )
            .await?;
        append_only(manager, "ledger_entries").await?;
        rls::protect(manager, "ledger_entries").await?;
        rls::protect(manager, "payments_in_flight").await
    }
}
