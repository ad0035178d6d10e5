//! Single sign-on (OpenID Connect): an association's own provider settings
//! (tenant table), sign-ins under way (server-side state, keyed by the
//! SHA-256 of the `state` parameter) and the links from a provider's
//! subject to one of our people.

use crate::{rls, schema};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One provider per association (id = the tenant's id).
        manager
            .create_table(
                schema::tenant_table("sso_providers")
                    .col(string_len("issuer", 500))
                    .col(string_len("client_id", 255))
                    .col(text("client_secret"))
                    .col(string_len("label", 100))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await?;
        rls::protect(manager, "sso_providers").await?;

        // A sign-in under way: what the callback must check. `browser_hash`
        // binds it to the browser that started it (a cookie).
        manager
            .create_table(
                Table::create()
                    .table("sso_pending")
                    .col(string_len("state_hash", 64).primary_key())
                    .col(string_len("browser_hash", 64))
                    .col(uuid_null("provider_tenant"))
                    .col(string_len("nonce", 128))
                    .col(string_len("pkce_verifier", 128))
                    .col(string_len("return_to", 500))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .take(),
            )
            .await?;

        // Provider subject → person, made at the first SSO sign-in.
        manager
            .create_table(
                Table::create()
                    .table("sso_identities")
                    .col(string_len("issuer", 500))
                    .col(string_len("subject", 255))
                    .col(uuid("user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("issuer").col("subject"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sso_identities_user")
                            .from("sso_identities", "user_id")
                            .to("users", "id"),
                    )
                    .take(),
            )
            .await?;
        Ok(())
    }
}
