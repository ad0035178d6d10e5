//! Tenants, users, memberships, API keys, the audit log, and the first
//! billing tables (service locations, customer accounts, occupancies, meters).

use crate::rls;
use crate::schema::{append_only, tenant_fk, tenant_table};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TENANT_TABLES: &[&str] = &[
    "memberships",
    "api_keys",
    "audit_log",
    "service_locations",
    "accounts",
    "occupancies",
    "meters",
];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("tenants")
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("slug", 48))
                    .col(string("name"))
                    .col(string("time_zone"))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("users")
                    .col(pk_uuid("id"))
                    .col(string_uniq("email"))
                    .col(string("display_name"))
                    .col(boolean("is_operator").default(false))
                    .col(string_null("password_hash"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("disabled_at"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("memberships")
                    .col(uuid("tenant_id"))
                    .col(uuid("user_id"))
                    .col(string_len("role", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("tenant_id").col("user_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_memberships_tenant")
                            .from("memberships", "tenant_id")
                            .to("tenants", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_memberships_user")
                            .from("memberships", "user_id")
                            .to("users", "id"),
                    )
                    .take(),
            )
            .await?;

        manager
            .create_table(
                tenant_table("api_keys")
                    .col(string("name"))
                    .col(string_len("role", 16))
                    .col(string_len("key_hash", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .index(
                        Index::create()
                            .name("uq_api_keys_hash")
                            .unique()
                            .col("tenant_id")
                            .col("key_hash"),
                    )
                    .take(),
            )
            .await?;

        // The audit log: platform-level entries have no tenant, so tenant_id
        // is nullable here and the key is the (time-ordered) id alone.
        manager
            .create_table(
                Table::create()
                    .table("audit_log")
                    .col(pk_uuid("id"))
                    .col(uuid_null("tenant_id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(string("actor"))
                    .col(string("action"))
                    .col(string_null("target"))
                    .col(string_len("outcome", 16))
                    .col(string_null("request_id"))
                    .col(string_null("ip"))
                    .col(text_null("details"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_log_tenant")
                            .from("audit_log", "tenant_id")
                            .to("tenants", "id"),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_log_tenant_at")
                    .table("audit_log")
                    .col("tenant_id")
                    .col("at")
                    .take(),
            )
            .await?;

        manager
            .create_table(
                tenant_table("service_locations")
                    .col(string("address_line1"))
                    .col(string_null("address_line2"))
                    .col(string("city"))
                    .col(string_len("state", 2))
                    .col(string_len("postal_code", 10))
                    .col(string_null("route"))
                    .col(integer_null("sequence"))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                tenant_table("accounts")
                    .col(string_len("account_number", 32))
                    .col(string("holder_name"))
                    .col(string_null("co_holder_name"))
                    .col(string_null("email"))
                    .col(string_null("phone"))
                    .col(string_null("mailing_line1"))
                    .col(string_null("mailing_line2"))
                    .col(string_null("mailing_city"))
                    .col(string_len_null("mailing_state", 2))
                    .col(string_len_null("mailing_postal_code", 10))
                    .col(string_len("status", 16))
                    .col(date("opened_on"))
                    .col(timestamp_with_time_zone_null("closed_at"))
                    .col(boolean("paperless").default(false))
                    .col(boolean("autopay").default(false))
                    .col(text_null("notes"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .index(
                        Index::create()
                            .name("uq_accounts_number")
                            .unique()
                            .col("tenant_id")
                            .col("account_number"),
                    )
                    .take(),
            )
            .await?;

        manager
            .create_table(
                tenant_table("occupancies")
                    .col(uuid("account_id"))
                    .col(uuid("location_id"))
                    .col(date("starts_on"))
                    .col(date_null("ends_on"))
                    .foreign_key(&mut tenant_fk("occupancies", "account_id", "accounts"))
                    .foreign_key(&mut tenant_fk(
                        "occupancies",
                        "location_id",
                        "service_locations",
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                tenant_table("meters")
                    .col(uuid("location_id"))
                    .col(string_len("serial", 64))
                    .col(string_len("size", 16))
                    .col(string_len("unit", 16))
                    .col(small_integer("register_digits"))
                    .col(integer("multiplier"))
                    .col(date("installed_on"))
                    .col(date_null("removed_on"))
                    .col(string_len("status", 16))
                    .foreign_key(&mut tenant_fk("meters", "location_id", "service_locations"))
                    .index(
                        Index::create()
                            .name("uq_meters_serial")
                            .unique()
                            .col("tenant_id")
                            .col("serial"),
                    )
                    .take(),
            )
            .await?;

        for (name, table, cols) in [
            (
                "ix_occupancies_account",
                "occupancies",
                &["tenant_id", "account_id"],
            ),
            (
                "ix_occupancies_location",
                "occupancies",
                &["tenant_id", "location_id"],
            ),
            (
                "ix_meters_location",
                "meters",
                &["tenant_id", "location_id"],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(table);
            for col in cols {
                index.col(*col);
            }
            manager.create_index(index).await?;
        }

        append_only(manager, "audit_log").await?;
        for table in TENANT_TABLES {
            rls::protect(manager, table).await?;
        }
        // Platform-level audit entries (operator actions, CLI) carry no
        // tenant; they may be written only on the explicit platform path.
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "CREATE POLICY platform_append ON audit_log FOR INSERT WITH CHECK \
                     (current_setting('{}', true) = 'on')",
                    rls::PLATFORM_SETTING
                ))
                .await?;
        }
        Ok(())
    }
}
