//! `aqueduct restore ID --into URL [--force]`: downloads, verifies,
//! decrypts and restores a backup into an empty database.

use crate::backup::{keyring, store, work_dir};
use crate::config::{Config, redact_url};
use anyhow::Context;
use aqueduct_retention::backup;
use clap::Args;

/// Prints one line to stdout (a closed pipe is not an error).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `aqueduct restore ID --into URL [--force]`
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Backup id (from `aqueduct backup list`).
    pub id: String,
    /// The database to restore into (`sqlite://…` or `postgres://…`, as
    /// its owner); must be empty unless --force.
    #[arg(long)]
    pub into: String,
    /// Replace the contents of a non-empty database.
    #[arg(long)]
    pub force: bool,
}

/// Runs `aqueduct restore …`.
pub async fn run(args: RestoreArgs, config: &Config) -> anyhow::Result<()> {
    let keys = keyring(config)?;
    let store = store(config).await?;
    let into = crate::config::normalize_db_url(&args.into);
    crate::config::prepare_sqlite_dir(&into)?;
    let m = backup::restore(
        &store,
        &keys,
        &args.id,
        &into,
        args.force,
        &work_dir(config),
    )
    .await
    .with_context(|| format!("restoring backup {} into {}", args.id, redact_url(&into)))?;
    if m.database == backup::DatabaseKind::Postgres {
        // The dump carries no owners or grants: give the application role
        // its grants on the restored tables.
        let conn = sea_orm::Database::connect(into.as_str()).await?;
        aqueduct_migration::app_role::ensure(
            &conn,
            &config.database.app_role,
            config.database.app_password.as_ref().map(|s| s.expose()),
        )
        .await
        .context("granting the application role on the restored database")?;
    }
    out!(
        "restored backup {} ({:?}, schema {}) into {}",
        m.id,
        m.database,
        m.schema_version,
        redact_url(&into)
    );
    Ok(())
}
