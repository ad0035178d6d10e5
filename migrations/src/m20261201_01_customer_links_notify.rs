//! PostgreSQL: a customer login's linked accounts join what the
//! authentication cache keeps (`aqueduct_tenant::auth_cache`), so a link
//! made or removed anywhere sends `NOTIFY aqueduct_auth` with the person
//! (`u:<user id>`), using the trigger function of `m20261130_01`.

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
                "CREATE TRIGGER customer_links_auth_notify \
                 AFTER INSERT OR UPDATE OR DELETE ON customer_links \
                 FOR EACH ROW EXECUTE FUNCTION aqueduct_auth_notify()",
            )
            .await?;
        Ok(())
    }
}
