//! The application's database role on PostgreSQL.
//!
//! Migrations run as the schema owner. The server runs as a separate login
//! role that owns nothing, is not superuser and has no BYPASSRLS, so
//! row-level security applies to it. `ensure` creates that role when it is
//! missing and (re)grants it exactly what the server needs; it is called by
//! `aqueduct migrate` after the migrations, so new tables are granted too.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};

/// Tables the application may read and append to, but never change.
pub const APPEND_ONLY_TABLES: &[&str] = &["audit_log"];

/// Creates (if needed) and grants the application role. `password` is set
/// when given (production); without it the role relies on the server's
/// authentication rules (trust on a developer machine).
pub async fn ensure(
    db: &DatabaseConnection,
    role: &str,
    password: Option<&str>,
) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    if !role.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') || role.is_empty() {
        return Err(DbErr::Custom(format!(
            "application role name {role:?} must be lowercase letters and underscores"
        )));
    }
    // Roles are cluster-wide: two databases migrated at once may race to
    // create it, which the exception handler absorbs.
    db.execute_unprepared(&format!(
        "DO $$ BEGIN
             IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                 CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
             END IF;
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
         END $$;"
    ))
    .await?;
    if let Some(password) = password {
        if password.contains('\0') {
            return Err(DbErr::Custom(
                "application role password contains NUL".into(),
            ));
        }
        // A standard-conforming string literal: only the quote needs doubling.
        let literal = password.replace('\'', "''");
        db.execute_unprepared(&format!("ALTER ROLE {role} PASSWORD '{literal}'"))
            .await?;
    }
    let append_only = APPEND_ONLY_TABLES.join(", ");
    db.execute_unprepared(&format!(
        "GRANT USAGE ON SCHEMA public TO {role};
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
         GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
         REVOKE UPDATE, DELETE, TRUNCATE ON {append_only} FROM {role};
         REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON seaql_migrations FROM {role};"
    ))
    .await?;
    Ok(())
}
