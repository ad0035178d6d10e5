//! `deposit_refund_payments`: how a deposit refund owed at move-out was
//! paid out (a check and its number, or another method, on a day), one
//! row per refund. The ledger carries the money (`deposit_refund_paid`:
//! receivable ← cash); this row carries what the treasurer needs to find
//! the check, and the keys that make paying once a database rule: one
//! payment per refund entry, one per idempotency key, one per check number.

use crate::rls;
use crate::schema::{tenant_fk, tenant_table};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn unique(name: &str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).unique();
    for c in cols {
        i.col(*c);
    }
    i.take()
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        const T: &str = "deposit_refund_payments";
        manager
            .create_table(
                tenant_table(T)
                    .col(uuid("account_id"))
                    // The `deposit_refund` entry paid.
                    .col(uuid("refund_entry_id"))
                    // The entry that paid it (`deposit_refund_paid`, or the
                    // outgoing half of a transfer when the credit was applied
                    // to another account).
                    .col(uuid("ledger_entry_id"))
                    .col(big_integer("amount_cents"))
                    // check | ach | cash | other | applied
                    .col(string_len("method", 16))
                    .col(string_len_null("check_number", 32))
                    .col(string_len_null("reference", 200))
                    .col(uuid_null("applied_to_account_id"))
                    .col(date("paid_on"))
                    .col(string_len("idempotency_key", 100))
                    .col(string("recorded_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .check(Check::named(
                        "ck_deposit_refund_payments_amount",
                        Expr::cust("amount_cents > 0"),
                    ))
                    .foreign_key(&mut tenant_fk(T, "account_id", "accounts"))
                    .foreign_key(&mut tenant_fk(T, "refund_entry_id", "ledger_entries"))
                    .foreign_key(&mut tenant_fk(T, "ledger_entry_id", "ledger_entries"))
                    .foreign_key(&mut tenant_fk(T, "applied_to_account_id", "accounts"))
                    .index(&mut unique(
                        "uq_deposit_refund_payments_refund",
                        &["tenant_id", "refund_entry_id"],
                    ))
                    .index(&mut unique(
                        "uq_deposit_refund_payments_key",
                        &["tenant_id", "idempotency_key"],
                    ))
                    // NULLs are distinct on both engines: only checks collide.
                    .index(&mut unique(
                        "uq_deposit_refund_payments_check",
                        &["tenant_id", "check_number"],
                    ))
                    .take(),
            )
            .await?;
        rls::protect(manager, T).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE ledger_entries ALTER COLUMN kind TYPE varchar(32)")
                .await?;
        }
        Ok(())
    }
}
