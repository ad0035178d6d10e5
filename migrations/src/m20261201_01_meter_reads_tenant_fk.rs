//! `meter_reads` no longer has its own foreign key to `tenants`.
//!
//! A read's `(tenant_id, meter_id)` must name a meter of that tenant
//! (`fk_meter_reads_meter_id`), and a meter's tenant must exist
//! (`fk_meters_tenant`), so the read's tenant exists whatever this key
//! says. It cost a lookup and a lock of the tenant row per inserted read,
//! the largest part of a bulk import's write after the meter key.
//!
//! PostgreSQL only: on SQLite the check is an in-process index probe, and
//! dropping a constraint there means rebuilding the table.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE meter_reads DROP CONSTRAINT IF EXISTS fk_meter_reads_tenant",
            )
            .await?;
        Ok(())
    }
}
