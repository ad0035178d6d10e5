//! Two association settings on `notification_settings`: the factor above
//! an account's usual use that counts as possibly a leak (one number for
//! the bill-run alert, the customer's account page and the read import's
//! exceptions; default 3) and whether staff get a daily summary mail
//! (default off).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for col in [
            integer("high_usage_factor").default(3).take(),
            boolean("daily_summary").default(false).take(),
        ] {
            let mut col = col;
            manager
                .alter_table(
                    Table::alter()
                        .table("notification_settings")
                        .add_column(&mut col)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}
