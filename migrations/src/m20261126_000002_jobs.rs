//! The job queue and the schedules that feed it.

use crate::rls;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("jobs")
                    .col(pk_uuid("id"))
                    .col(uuid_null("tenant_id"))
                    .col(string_len("kind", 64))
                    .col(text("payload"))
                    .col(string_null("dedupe_key"))
                    .col(string_len("status", 16))
                    .col(integer("attempts").default(0))
                    .col(integer("max_attempts"))
                    .col(timestamp_with_time_zone("run_at"))
                    .col(string_null("locked_by"))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_jobs_tenant")
                            .from("jobs", "tenant_id")
                            .to("tenants", "id"),
                    )
                    .index(
                        Index::create()
                            .name("uq_jobs_dedupe")
                            .unique()
                            .col("kind")
                            .col("dedupe_key"),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_jobs_due")
                    .table("jobs")
                    .col("status")
                    .col("run_at")
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("schedules")
                    .col(string_len("name", 64).primary_key())
                    .col(timestamp_with_time_zone("next_run_at"))
                    .col(timestamp_with_time_zone_null("last_run_at"))
                    .take(),
            )
            .await?;
        rls::protect(manager, "jobs").await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            // Workers claim and finish jobs of every association through
            // the system path (`Db::system`).
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "CREATE POLICY platform_write ON jobs FOR ALL \
                     USING (current_setting('{p}', true) = 'on') \
                     WITH CHECK (current_setting('{p}', true) = 'on')",
                    p = rls::PLATFORM_SETTING
                ))
                .await?;
        }
        Ok(())
    }
}
