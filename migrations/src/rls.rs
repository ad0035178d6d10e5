//! Row-level security on PostgreSQL: the second line of tenant isolation.
//!
//! Every tenant table gets two policies:
//! - `tenant_isolation` (all commands): the row's `tenant_id` must equal the
//!   transaction-local setting `app.tenant_id`; with no tenant set the
//!   setting is empty, `NULLIF(…)` makes it NULL and nothing matches, so
//!   selects return nothing and inserts fail the `WITH CHECK`.
//! - `platform_read` (SELECT only): visible when the transaction set
//!   `app.platform = 'on'` through the explicit, audited platform path.

use sea_orm_migration::prelude::*;

/// The setting that carries the current tenant for one transaction.
pub const TENANT_SETTING: &str = "app.tenant_id";
/// The setting that marks an explicit, audited platform-wide read.
pub const PLATFORM_SETTING: &str = "app.platform";

/// Enables and forces row-level security on `table` with the standard
/// policies. No-op on other backends.
pub async fn protect(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(());
    }
    let tenant = format!("NULLIF(current_setting('{TENANT_SETTING}', true), '')::uuid");
    let platform = format!("current_setting('{PLATFORM_SETTING}', true) = 'on'");
    let sql = format!(
        "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
         ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
         CREATE POLICY tenant_isolation ON {table}
             USING (tenant_id = {tenant}) WITH CHECK (tenant_id = {tenant});
         CREATE POLICY platform_read ON {table} FOR SELECT USING ({platform});"
    );
    manager.get_connection().execute_unprepared(&sql).await?;
    Ok(())
}
