//! The association's rules for the scheduled customer notices, on its
//! notification settings: days before the due date for the reminder
//! (none: no reminders), the legally required lead time of a shut-off
//! notice (none: no shut-off notices) and the overdue amount that puts an
//! account on the list. All nullable: existing associations send nothing
//! new until an admin sets them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for col in [
            integer_null("reminder_days_before"),
            integer_null("shutoff_lead_days"),
            big_integer_null("shutoff_min_overdue_cents"),
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
