//! Account lifecycle: closures (move-out and transfer, one per account, with
//! the final read, final bill and deposit outcome), meter change-outs (the
//! old meter's final read and the new meter's initial read on one day), and
//! the association's estimated-read rule.

use crate::rls;
use crate::schema::{tenant_fk, tenant_table};
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
                tenant_table("account_closures")
                    .col(uuid("account_id"))
                    .col(uuid("location_id"))
                    .col(uuid("meter_id"))
                    .col(string_len("kind", 16))
                    .col(date("closed_on"))
                    .col(big_integer("final_value"))
                    .col(uuid_null("final_bill_id"))
                    .col(uuid_null("transferred_to"))
                    .col(big_integer("deposit_applied_cents"))
                    .col(big_integer("deposit_refunded_cents"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut tenant_fk("account_closures", "account_id", "accounts"))
                    .foreign_key(&mut tenant_fk(
                        "account_closures",
                        "location_id",
                        "service_locations",
                    ))
                    .foreign_key(&mut tenant_fk("account_closures", "meter_id", "meters"))
                    .foreign_key(&mut tenant_fk("account_closures", "final_bill_id", "bills"))
                    .foreign_key(&mut tenant_fk(
                        "account_closures",
                        "transferred_to",
                        "accounts",
                    ))
                    .index(&mut unique(
                        "uq_account_closures_account",
                        &["tenant_id", "account_id"],
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                tenant_table("meter_changes")
                    .col(uuid("location_id"))
                    .col(uuid("old_meter_id"))
                    .col(uuid("new_meter_id"))
                    .col(date("changed_on"))
                    .col(big_integer("old_final_value"))
                    .col(big_integer("new_initial_value"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut tenant_fk(
                        "meter_changes",
                        "location_id",
                        "service_locations",
                    ))
                    .foreign_key(&mut tenant_fk("meter_changes", "old_meter_id", "meters"))
                    .foreign_key(&mut tenant_fk("meter_changes", "new_meter_id", "meters"))
                    .index(&mut unique(
                        "uq_meter_changes_old",
                        &["tenant_id", "old_meter_id"],
                    ))
                    .index(&mut unique(
                        "uq_meter_changes_new",
                        &["tenant_id", "new_meter_id"],
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("estimate_settings")
                    .col(pk_uuid("tenant_id"))
                    .col(string_len("method", 16))
                    .col(integer("periods"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_estimate_settings_tenant")
                            .from("estimate_settings", "tenant_id")
                            .to("tenants", "id"),
                    )
                    .take(),
            )
            .await?;
        for table in ["account_closures", "meter_changes", "estimate_settings"] {
            rls::protect(manager, table).await?;
        }
        Ok(())
    }
}
