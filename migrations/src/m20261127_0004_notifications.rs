//! Notifications: the transactional outbox (`notifications`), customers'
//! choices (`notification_preferences`) and each association's sender
//! settings (`notification_settings`).

use crate::rls;
use crate::schema::{tenant_fk, tenant_table};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TENANT_TABLES: &[&str] = &[
    "notifications",
    "notification_preferences",
    "notification_settings",
];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One row per message to send, written in the transaction of the
        // event that causes it; unique per (kind, subject, recipient), so
        // the same event can never queue the same mail twice.
        manager
            .create_table(
                tenant_table("notifications")
                    .col(string_len("kind", 32))
                    .col(string_len("subject_id", 128))
                    .col(string_len("recipient", 320))
                    .col(uuid_null("account_id"))
                    .col(string_len("audience", 16))
                    .col(string_len("locale", 8))
                    .col(text("data"))
                    .col(string_len("status", 24))
                    .col(integer("attempts").default(0))
                    .col(text_null("last_error"))
                    .col(string_len_null("message_id", 255))
                    .col(timestamp_with_time_zone_null("sent_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut tenant_fk("notifications", "account_id", "accounts"))
                    .index(
                        Index::create()
                            .name("uq_notifications_once")
                            .unique()
                            .col("tenant_id")
                            .col("kind")
                            .col("subject_id")
                            .col("recipient"),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_notifications_created")
                    .table("notifications")
                    .col("tenant_id")
                    .col("created_at")
                    .take(),
            )
            .await?;
        manager
            .create_table(
                tenant_table("notification_preferences")
                    .col(uuid("account_id"))
                    .col(string_len_null("locale", 8))
                    .col(text("disabled_kinds").default(""))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut tenant_fk(
                        "notification_preferences",
                        "account_id",
                        "accounts",
                    ))
                    .index(
                        Index::create()
                            .name("uq_notification_preferences_account")
                            .unique()
                            .col("tenant_id")
                            .col("account_id"),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_table(
                tenant_table("notification_settings")
                    .col(string_len_null("from_name", 128))
                    .col(string_len_null("reply_to", 320))
                    .col(string_len_null("staff_address", 320))
                    .col(string_len("default_locale", 8).default("en"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .index(
                        Index::create()
                            .name("uq_notification_settings_tenant")
                            .unique()
                            .col("tenant_id"),
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
