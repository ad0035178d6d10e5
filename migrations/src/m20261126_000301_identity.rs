//! Identity: server-side sessions, one-time user tokens (set/reset
//! password), sign-in throttling, and a policy that lets a signed-in person
//! read their own memberships across associations.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Transaction-local setting naming the signed-in user (see
/// `aqueduct_tenant::Db::user_scope`).
const USER_SETTING: &str = "app.user_id";

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Sessions are keyed by the SHA-256 of the id in the cookie, so a
        // copy of the table signs nobody in. `active_tenant` is the
        // association the person works in now (staff), switchable among
        // their memberships.
        manager
            .create_table(
                Table::create()
                    .table("sessions")
                    .col(string_len("id_hash", 64).primary_key())
                    .col(uuid("user_id"))
                    .col(uuid_null("active_tenant"))
                    .col(string_len("csrf_token", 64))
                    .col(boolean("second_factor_pending").default(false))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("last_seen_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_user")
                            .from("sessions", "user_id")
                            .to("users", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_tenant")
                            .from("sessions", "active_tenant")
                            .to("tenants", "id"),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sessions_user")
                    .table("sessions")
                    .col("user_id")
                    .take(),
            )
            .await?;

        // Single-use tokens mailed or printed to a person: set a first
        // password, reset a forgotten one. Only the SHA-256 is stored.
        manager
            .create_table(
                Table::create()
                    .table("user_tokens")
                    .col(string_len("token_hash", 64).primary_key())
                    .col(uuid("user_id"))
                    .col(string_len("purpose", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_tokens_user")
                            .from("user_tokens", "user_id")
                            .to("users", "id"),
                    )
                    .take(),
            )
            .await?;

        // Failed attempts per key (`ip:…` or `acct:<hash>`), in a fixed
        // window; shared by every replica through the database.
        manager
            .create_table(
                Table::create()
                    .table("throttle_buckets")
                    .col(string_len("key", 96).primary_key())
                    .col(timestamp_with_time_zone("window_start"))
                    .col(integer("attempts"))
                    .take(),
            )
            .await?;

        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "CREATE POLICY member_self_read ON memberships FOR SELECT USING \
                     (user_id = NULLIF(current_setting('{USER_SETTING}', true), '')::uuid)"
                ))
                .await?;
        }
        Ok(())
    }
}
