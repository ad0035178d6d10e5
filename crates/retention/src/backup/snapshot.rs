//! Consistent snapshots and restores of the whole database.
//!
//! SQLite: `VACUUM INTO` a new file — a transactionally consistent copy
//! taken while the server keeps running. PostgreSQL: `pg_dump
//! --format=custom` (one REPEATABLE READ snapshot) and `pg_restore`; both
//! tools must be on `PATH`, and the dumping role must see every row (the
//! schema owner with BYPASSRLS, or a superuser), since row-level security
//! is forced on tenant tables.

use super::BackupError;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// The database engine a backup came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseKind {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

impl DatabaseKind {
    /// From a `sqlite://…` or `postgres://…` URL.
    pub fn of_url(url: &str) -> Result<Self, BackupError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(BackupError::Database(
                "the database URL must start with sqlite: or postgres://".into(),
            ))
        }
    }

    /// The manifest's `snapshot_format`.
    pub fn snapshot_format(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite-file",
            Self::Postgres => "pg_dump-custom",
        }
    }
}

fn db_err(e: impl std::fmt::Display) -> BackupError {
    BackupError::Database(e.to_string())
}

/// The file of a `sqlite://path?…` URL.
pub fn sqlite_path(url: &str) -> Result<PathBuf, BackupError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| db_err("not a sqlite URL"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Err(db_err("an in-memory SQLite database cannot be backed up"));
    }
    Ok(PathBuf::from(path))
}

async fn connect(url: &str) -> Result<DatabaseConnection, BackupError> {
    Database::connect(url).await.map_err(db_err)
}

/// The newest applied migration, or `none`.
pub async fn schema_version(conn: &DatabaseConnection) -> Result<String, BackupError> {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT version FROM seaql_migrations ORDER BY version DESC LIMIT 1",
        ))
        .await
        .map_err(db_err)?;
    Ok(match row {
        Some(r) => r.try_get::<String>("", "version").map_err(db_err)?,
        None => "none".into(),
    })
}

/// Takes a consistent snapshot of the database at `url` into `dest` and
/// returns its kind and schema version.
pub async fn take(url: &str, dest: &Path) -> Result<(DatabaseKind, String), BackupError> {
    let kind = DatabaseKind::of_url(url)?;
    let dest_text = dest
        .to_str()
        .ok_or_else(|| db_err("temporary path is not UTF-8"))?;
    match kind {
        DatabaseKind::Sqlite => {
            let conn = connect(url).await?;
            let version = schema_version(&conn).await?;
            conn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "VACUUM INTO ?",
                [dest_text.into()],
            ))
            .await
            .map_err(|e| db_err(format!("VACUUM INTO failed: {e}")))?;
            conn.close().await.map_err(db_err)?;
            Ok((kind, version))
        }
        DatabaseKind::Postgres => {
            let conn = connect(url).await?;
            let version = schema_version(&conn).await?;
            conn.close().await.map_err(db_err)?;
            run_tool(
                "pg_dump",
                &[
                    "--format=custom",
                    "--no-owner",
                    "--no-acl",
                    "--file",
                    dest_text,
                    "--dbname",
                    url,
                ],
            )
            .await?;
            Ok((kind, version))
        }
    }
}

async fn run_tool(tool: &str, args: &[&str]) -> Result<(), BackupError> {
    let out = tokio::process::Command::new(tool)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| {
            db_err(format!(
                "cannot run {tool} (is it installed and on PATH?): {e}"
            ))
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(db_err(format!(
            "{tool} failed ({}): {}",
            out.status,
            stderr.trim()
        )));
    }
    Ok(())
}

/// Number of user tables in the database at `url` (0 means empty).
pub async fn table_count(url: &str) -> Result<i64, BackupError> {
    let kind = DatabaseKind::of_url(url)?;
    if kind == DatabaseKind::Sqlite && !sqlite_path(url)?.exists() {
        return Ok(0);
    }
    let conn = connect(url).await?;
    let sql = match kind {
        DatabaseKind::Sqlite => {
            "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        DatabaseKind::Postgres => {
            "SELECT count(*) AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        }
    };
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .map_err(db_err)?;
    conn.close().await.map_err(db_err)?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()
        .map_err(db_err)?
        .unwrap_or(0))
}

/// Restores the snapshot file `snapshot` of `kind` into the database at
/// `url`. Refuses a database that has tables unless `force`; with `force`
/// its contents are replaced. Nothing else may use the target meanwhile.
pub async fn restore(
    kind: DatabaseKind,
    snapshot: &Path,
    url: &str,
    force: bool,
) -> Result<(), BackupError> {
    let target = DatabaseKind::of_url(url)?;
    if target != kind {
        return Err(BackupError::Refused(format!(
            "this is a {kind:?} backup; it cannot be restored into a {target:?} database"
        )));
    }
    let tables = table_count(url).await?;
    if tables > 0 && !force {
        return Err(BackupError::Refused(format!(
            "the target database is not empty ({tables} tables); restore into an empty \
             database, or pass --force to replace its contents"
        )));
    }
    match kind {
        DatabaseKind::Sqlite => {
            let path = sqlite_path(url)?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            // Write beside the target, then rename over it, so a crash
            // never leaves half a database; stale WAL files would be
            // replayed onto the new file, so they go first.
            let tmp = path.with_extension("restoring");
            std::fs::copy(snapshot, &tmp)?;
            for suffix in ["-wal", "-shm"] {
                let mut side = path.clone().into_os_string();
                side.push(suffix);
                match std::fs::remove_file(&side) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
            std::fs::rename(&tmp, &path)?;
            Ok(())
        }
        DatabaseKind::Postgres => {
            let file = snapshot
                .to_str()
                .ok_or_else(|| db_err("temporary path is not UTF-8"))?;
            let mut args = vec![
                "--no-owner",
                "--no-acl",
                "--exit-on-error",
                "--single-transaction",
            ];
            if force {
                args.extend(["--clean", "--if-exists"]);
            }
            args.extend(["--dbname", url, file]);
            run_tool("pg_restore", &args).await
        }
    }
}
