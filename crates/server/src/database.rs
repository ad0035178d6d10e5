//! Connecting, migrating and checking the database role.

use crate::config::{Config, prepare_sqlite_dir, redact_url};
use anyhow::{Context, bail};
use aqueduct_migration::{Migrator, MigratorTrait, app_role};
use aqueduct_tenant::{Backend, Db, DbOptions};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// Connects the application's pool.
pub async fn connect(config: &Config) -> anyhow::Result<Db> {
    let url = config.database.url.expose();
    prepare_sqlite_dir(url)?;
    Db::connect(
        url,
        &DbOptions {
            max_connections: config.database.max_connections,
            ..DbOptions::default()
        },
    )
    .await
    .with_context(|| format!("connecting to {}", redact_url(url)))
}

/// Applies pending migrations (as the schema owner) and, on PostgreSQL,
/// makes sure the application role exists with its grants. Returns the
/// names of the migrations it applied.
pub async fn migrate(config: &Config) -> anyhow::Result<Vec<String>> {
    let url = config
        .database
        .migrate_url
        .as_ref()
        .unwrap_or(&config.database.url)
        .expose();
    prepare_sqlite_dir(url)?;
    let db = Db::connect(
        url,
        &DbOptions {
            max_connections: 1,
            ..DbOptions::default()
        },
    )
    .await
    .with_context(|| format!("connecting to {}", redact_url(url)))?;
    let pending: Vec<String> = Migrator::get_pending_migrations(db.maintenance())
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    Migrator::up(db.maintenance(), None)
        .await
        .context("applying migrations")?;
    app_role::ensure(
        db.maintenance(),
        &config.database.app_role,
        config.database.app_password.as_ref().map(|s| s.expose()),
    )
    .await
    .context("creating or granting the application role")?;
    Ok(pending)
}

/// Each known migration and whether it is applied.
pub async fn status(config: &Config) -> anyhow::Result<Vec<(String, bool)>> {
    let db = connect(config).await?;
    let applied: Vec<String> = Migrator::get_applied_migrations_read_only(db.maintenance())
        .await
        .unwrap_or_default()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    Ok(aqueduct_migration::known_migrations()
        .into_iter()
        .map(|name| {
            let done = applied.contains(&name);
            (name, done)
        })
        .collect())
}

/// On PostgreSQL, refuses a role for which row-level security would not
/// apply (superuser, BYPASSRLS, or owner of our tables).
pub async fn check_role(db: &Db, config: &Config) -> anyhow::Result<()> {
    if db.backend() != Backend::Postgres || config.database.allow_privileged_role {
        return Ok(());
    }
    let row = db
        .maintenance()
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT r.rolname, r.rolsuper, r.rolbypassrls, \
             EXISTS (SELECT 1 FROM pg_class c WHERE c.relowner = r.oid \
                     AND c.relnamespace = 'public'::regnamespace) AS owns \
             FROM pg_roles r WHERE r.rolname = current_user",
        ))
        .await?
        .context("reading the current role")?;
    let name: String = row.try_get("", "rolname")?;
    let superuser: bool = row.try_get("", "rolsuper")?;
    let bypass: bool = row.try_get("", "rolbypassrls")?;
    let owns: bool = row.try_get("", "owns")?;
    if superuser || bypass || owns {
        bail!(
            "the database role {name:?} is {} — row-level security would not protect tenants. \
             Connect the server as the application role (`{}`, created by `aqueduct migrate`) \
             and keep the owner for `database.migrate_url`; see docs/operations.md",
            if superuser {
                "a superuser"
            } else if bypass {
                "allowed to bypass row-level security"
            } else {
                "the owner of the schema's tables"
            },
            config.database.app_role
        );
    }
    Ok(())
}
