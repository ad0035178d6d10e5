//! Autopay turned off detaches the saved method at Stripe; a saved method
//! can move to the customer's new account with consent; the staff pages
//! show the method's brand and last four digits (as Stripe reports them)
//! and a dispute's evidence due date. Still only Stripe ids and what Stripe
//! shows on a receipt: never a card or bank account number.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, column) pairs, one `ALTER TABLE` each (SQLite adds one column
/// per statement).
fn columns() -> Vec<(&'static str, ColumnDef)> {
    vec![
        // When the mandate ended and why (`turned_off` | `moved`).
        (
            "autopay_mandates",
            timestamp_with_time_zone_null("ended_at"),
        ),
        ("autopay_mandates", string_len_null("ended_reason", 16)),
        // When Stripe detached the saved method (turned off).
        (
            "autopay_mandates",
            timestamp_with_time_zone_null("detached_at"),
        ),
        // Who consented: `customer:<id>` or `user:<id>` (a moved method);
        // Stripe's own Checkout page otherwise.
        ("autopay_mandates", string_len_null("consent_actor", 128)),
        // The mandate a moved method came from.
        ("autopay_mandates", uuid_null("moved_from")),
        // Brand (or bank name) and last four, as Stripe reports them.
        ("autopay_mandates", string_len_null("method_brand", 64)),
        ("autopay_mandates", string_len_null("method_last4", 4)),
        // Stripe's `evidence_details.due_by` (Unix time).
        ("disputes", big_integer_null("evidence_due_by")),
    ]
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, mut col) in columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .add_column(&mut col)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}
