//! Retention: per-association policies, legal holds, erasure requests
//! (restrictions) and the record of anonymised accounts.

use crate::rls;
use crate::schema::{tenant_fk, tenant_table};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    "retention_policies",
    "legal_holds",
    "erasure_requests",
    "anonymised_accounts",
];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One row per association; `account_years` NULL means the
        // platform default. `hash_salt` salts anonymised account numbers.
        manager
            .create_table(
                tenant_table("retention_policies")
                    .col(integer_null("account_years"))
                    .col(string_len("hash_salt", 64))
                    .col(string("updated_by"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .index(
                        Index::create()
                            .name("uq_retention_policies_tenant")
                            .unique()
                            .col("tenant_id"),
                    )
                    .take(),
            )
            .await?;
        // A hold on one account, or (account_id NULL) the whole association.
        manager
            .create_table(
                tenant_table("legal_holds")
                    .col(uuid_null("account_id"))
                    .col(text("reason"))
                    .col(string("set_by"))
                    .col(timestamp_with_time_zone("set_at"))
                    .col(string_null("released_by"))
                    .col(timestamp_with_time_zone_null("released_at"))
                    .col(text_null("release_reason"))
                    .foreign_key(&mut tenant_fk("legal_holds", "account_id", "accounts"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                tenant_table("erasure_requests")
                    .col(uuid("account_id"))
                    .col(string("requested_by"))
                    .col(timestamp_with_time_zone("requested_at"))
                    .col(string_len("status", 16))
                    .col(text("answer"))
                    .col(timestamp_with_time_zone_null("erase_after"))
                    .foreign_key(&mut tenant_fk("erasure_requests", "account_id", "accounts"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                tenant_table("anonymised_accounts")
                    .col(uuid("account_id"))
                    .col(timestamp_with_time_zone("anonymised_at"))
                    .col(integer("policy_years"))
                    .foreign_key(&mut tenant_fk(
                        "anonymised_accounts",
                        "account_id",
                        "accounts",
                    ))
                    .index(
                        Index::create()
                            .name("uq_anonymised_accounts_account")
                            .unique()
                            .col("tenant_id")
                            .col("account_id"),
                    )
                    .take(),
            )
            .await?;
        for (name, table) in [
            ("ix_legal_holds_account", "legal_holds"),
            ("ix_erasure_requests_account", "erasure_requests"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(table)
                        .col("tenant_id")
                        .col("account_id")
                        .take(),
                )
                .await?;
        }
        for table in TABLES {
            rls::protect(manager, table).await?;
        }
        Ok(())
    }
}
