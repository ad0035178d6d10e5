//! Customer sign-in: a person (a row of `users`) may hold accounts of an
//! association as a customer, each linked by proving account number +
//! service ZIP or by a staff invitation (`customer_links`); a session may
//! be a customer session of one association (`sessions.customer_tenant`).

use crate::rls;
use crate::schema::{tenant_fk, tenant_table};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                tenant_table("customer_links")
                    .col(uuid("user_id"))
                    .col(uuid("account_id"))
                    // `proof` (account number + ZIP) or `invitation`.
                    .col(string_len("via", 16))
                    .col(string("linked_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_customer_links_user")
                            .from("customer_links", "user_id")
                            .to("users", "id"),
                    )
                    .foreign_key(&mut tenant_fk("customer_links", "account_id", "accounts"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_customer_links_user_account")
                    .table("customer_links")
                    .col("tenant_id")
                    .col("user_id")
                    .col("account_id")
                    .unique()
                    .take(),
            )
            .await?;
        rls::protect(manager, "customer_links").await?;
        // A customer session is bound to one association; staff sessions
        // leave it empty. Staff and customer routes each refuse the other.
        manager
            .alter_table(
                Table::alter()
                    .table("sessions")
                    .add_column(uuid_null("customer_tenant"))
                    .take(),
            )
            .await
    }
}
