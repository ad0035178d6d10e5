//! TOTP keys are stored sealed (`v1:` + base64 of AES-256-GCM output,
//! about 83 characters): widen the column. SQLite does not enforce the
//! declared length, so only PostgreSQL needs the change.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE user_totp ALTER COLUMN secret TYPE varchar(255)")
                .await?;
        }
        Ok(())
    }
}
