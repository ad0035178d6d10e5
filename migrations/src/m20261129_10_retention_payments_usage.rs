//! Retention of payment records and usage data.
//!
//! - `retention_policies` gets `payment_years` and `usage_years` (NULL: the
//!   platform default), like `account_years`.
//! - `ledger_period_totals`: one row per summary entry the retention job
//!   wrote in place of an account's payment entries of one calendar month
//!   (one kind, one pair of sides). Its `state` is `open` only inside the
//!   job's own transaction.
//! - The ledger stays append-only with one narrow exception: a DELETE of a
//!   `payment`, `refund`, `dispute_hold` or `reversal` entry is let through
//!   only when an `open` totals row of the same association, account,
//!   month, kind and sides exists, i.e. only in the transaction of the
//!   retention job that has just written the summary entry replacing it.
//!   UPDATE and TRUNCATE stay refused.
//! - `usage_aggregates`: consumption by month and rate class (meter size and
//!   unit) of accounts whose usage data passed its period — no account, no
//!   person; `usage_aggregated_accounts` lists those accounts so reports
//!   count them from the aggregate instead of their bills.

use crate::rls;
use crate::schema::tenant_table;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    "ledger_period_totals",
    "usage_aggregates",
    "usage_aggregated_accounts",
];

/// The kinds of entry that are payment records.
const PAYMENT_KINDS: &str = "'payment', 'refund', 'dispute_hold', 'reversal'";

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in ["payment_years", "usage_years"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("retention_policies")
                        .add_column(integer_null(col))
                        .take(),
                )
                .await?;
        }
        manager
            .create_table(
                tenant_table("ledger_period_totals")
                    .col(uuid("account_id"))
                    .col(string_len("period", 7))
                    .col(string_len("kind", 16))
                    .col(string_len("debit", 16))
                    .col(string_len("credit", 16))
                    .col(integer("entries"))
                    .col(big_integer("amount_cents"))
                    .col(uuid("summary_entry_id"))
                    .col(string_len("state", 8))
                    .col(timestamp_with_time_zone("created_at"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_ledger_period_totals_group")
                    .table("ledger_period_totals")
                    .col("tenant_id")
                    .col("account_id")
                    .col("period")
                    .take(),
            )
            .await?;
        manager
            .create_table(
                tenant_table("usage_aggregates")
                    .col(string_len("month", 7))
                    .col(string_len("meter_size", 64))
                    .col(string_len("unit", 32))
                    .col(integer("accounts"))
                    .col(integer("bills"))
                    .col(big_integer("usage_units"))
                    .col(big_integer("billed_cents"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .index(
                        Index::create()
                            .name("uq_usage_aggregates_class")
                            .unique()
                            .col("tenant_id")
                            .col("month")
                            .col("meter_size")
                            .col("unit"),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_table(
                tenant_table("usage_aggregated_accounts")
                    .col(uuid("account_id"))
                    .col(timestamp_with_time_zone("aggregated_at"))
                    .col(integer("policy_years"))
                    .index(
                        Index::create()
                            .name("uq_usage_aggregated_accounts")
                            .unique()
                            .col("tenant_id")
                            .col("account_id"),
                    )
                    .take(),
            )
            .await?;
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                conn.execute_unprepared(&format!(
                    "CREATE OR REPLACE FUNCTION aqueduct_ledger_delete_guard() RETURNS trigger
                         LANGUAGE plpgsql AS $$
                     BEGIN
                         IF OLD.kind IN ({PAYMENT_KINDS}) AND EXISTS (
                             SELECT 1 FROM ledger_period_totals t
                             WHERE t.tenant_id = OLD.tenant_id
                               AND t.account_id = OLD.account_id
                               AND t.period = to_char(OLD.effective_on, 'YYYY-MM')
                               AND t.kind = OLD.kind
                               AND t.debit = OLD.debit
                               AND t.credit = OLD.credit
                               AND t.state = 'open') THEN
                             RETURN OLD;
                         END IF;
                         RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
                             USING ERRCODE = 'insufficient_privilege';
                     END $$;
                     DROP TRIGGER ledger_entries_append_only ON ledger_entries;
                     CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
                         FOR EACH ROW EXECUTE FUNCTION aqueduct_refuse_change();
                     CREATE TRIGGER ledger_entries_guarded_delete BEFORE DELETE ON ledger_entries
                         FOR EACH ROW EXECUTE FUNCTION aqueduct_ledger_delete_guard();"
                ))
                .await?;
            }
            _ => {
                conn.execute_unprepared(&format!(
                    "DROP TRIGGER ledger_entries_no_delete;
                     CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
                     WHEN NOT (OLD.kind IN ({PAYMENT_KINDS}) AND EXISTS (
                             SELECT 1 FROM ledger_period_totals t
                             WHERE t.tenant_id = OLD.tenant_id
                               AND t.account_id = OLD.account_id
                               AND t.period = substr(OLD.effective_on, 1, 7)
                               AND t.kind = OLD.kind
                               AND t.debit = OLD.debit
                               AND t.credit = OLD.credit
                               AND t.state = 'open'))
                     BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;"
                ))
                .await?;
            }
        }
        for table in TABLES {
            rls::protect(manager, table).await?;
        }
        Ok(())
    }
}
