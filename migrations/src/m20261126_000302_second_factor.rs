//! Second factor: TOTP secrets per person, single-use recovery codes
//! (stored as SHA-256 only), and an association setting that requires a
//! second factor of its staff.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One TOTP secret per person. `confirmed_at` is set once a valid
        // code proved the authenticator holds it; until then it does not
        // count. `last_step` is the last accepted time step, so a code is
        // never accepted twice.
        manager
            .create_table(
                Table::create()
                    .table("user_totp")
                    .col(uuid("user_id").primary_key())
                    .col(string_len("secret", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("confirmed_at"))
                    .col(big_integer("last_step").default(0))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_totp_user")
                            .from("user_totp", "user_id")
                            .to("users", "id"),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("recovery_codes")
                    .col(string_len("code_hash", 64).primary_key())
                    .col(uuid("user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_recovery_codes_user")
                            .from("recovery_codes", "user_id")
                            .to("users", "id"),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_recovery_codes_user")
                    .table("recovery_codes")
                    .col("user_id")
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("tenants")
                    .add_column(boolean("staff_totp_required").default(false))
                    .take(),
            )
            .await?;
        Ok(())
    }
}
