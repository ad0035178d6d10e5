//! Rate schedules (versioned by effective date), bill runs, bills (immutable,
//! numbered without gaps, one per account and period), voids, and the
//! per-association bill number counter.

use crate::rls;
use crate::schema::{append_only, tenant_fk, tenant_table};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

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
        manager
            .create_table(
                tenant_table("rate_schedules")
                    .col(string_len("name", 128))
                    .col(timestamp_with_time_zone("created_at"))
                    .index(&mut unique(
                        "uq_rate_schedules_name",
                        &["tenant_id", "name"],
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                tenant_table("rate_schedule_versions")
                    .col(uuid("schedule_id"))
                    .col(date("effective_from"))
                    .col(text("body"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut tenant_fk(
                        "rate_schedule_versions",
                        "schedule_id",
                        "rate_schedules",
                    ))
                    .index(&mut unique(
                        "uq_rate_schedule_versions_date",
                        &["tenant_id", "schedule_id", "effective_from"],
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                tenant_table("bill_runs")
                    .col(uuid("schedule_id"))
                    .col(date("period_start"))
                    .col(date("period_end"))
                    .col(date("due_on"))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("finalized_at"))
                    .foreign_key(&mut tenant_fk("bill_runs", "schedule_id", "rate_schedules"))
                    .index(&mut unique(
                        "uq_bill_runs_period",
                        &["tenant_id", "period_start", "period_end"],
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                tenant_table("bills")
                    .col(uuid("bill_run_id"))
                    .col(uuid("account_id"))
                    .col(uuid("meter_id"))
                    .col(big_integer("number"))
                    .col(integer("revision"))
                    .col(date("period_start"))
                    .col(date("period_end"))
                    .col(date("read_from"))
                    .col(date("read_to"))
                    .col(big_integer("previous_value"))
                    .col(big_integer("current_value"))
                    .col(big_integer("usage_units"))
                    .col(string_len("usage_unit", 16))
                    .col(boolean("estimated"))
                    .col(big_integer("total_cents"))
                    .col(text("lines"))
                    .col(date("due_on"))
                    .col(timestamp_with_time_zone("issued_at"))
                    .foreign_key(&mut tenant_fk("bills", "bill_run_id", "bill_runs"))
                    .foreign_key(&mut tenant_fk("bills", "account_id", "accounts"))
                    .foreign_key(&mut tenant_fk("bills", "meter_id", "meters"))
                    .index(&mut unique("uq_bills_number", &["tenant_id", "number"]))
                    .index(&mut unique(
                        "uq_bills_account_period",
                        &[
                            "tenant_id",
                            "account_id",
                            "period_start",
                            "period_end",
                            "revision",
                        ],
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                tenant_table("bill_voids")
                    .col(uuid("bill_id"))
                    .col(string("reason"))
                    .col(timestamp_with_time_zone("voided_at"))
                    .foreign_key(&mut tenant_fk("bill_voids", "bill_id", "bills"))
                    .index(&mut unique("uq_bill_voids_bill", &["tenant_id", "bill_id"]))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("bill_counters")
                    .col(pk_uuid("tenant_id"))
                    .col(big_integer("last_number"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_bill_counters_tenant")
                            .from("bill_counters", "tenant_id")
                            .to("tenants", "id"),
                    )
                    .take(),
            )
            .await?;
        for table in ["rate_schedule_versions", "bills", "bill_voids"] {
            append_only(manager, table).await?;
        }
        for table in [
            "rate_schedules",
            "rate_schedule_versions",
            "bill_runs",
            "bills",
            "bill_voids",
            "bill_counters",
        ] {
            rls::protect(manager, table).await?;
        }
        Ok(())
    }
}
