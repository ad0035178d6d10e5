//! `aqueduct backup [list | verify ID | prune | keygen ID]` and
//! `aqueduct restore ID --into URL`: encrypted backups to S3-compatible
//! storage (see docs/operations.md).

use crate::config::{Config, redact_url};
use anyhow::{Context, bail};
use aqueduct_core::Clock;
use aqueduct_retention::backup::{
    self, BackupKey, BackupStore, Keyring, PruneRule, StoreSettings, store::Progress,
};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Prints one line to stdout (a closed pipe is not an error).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `aqueduct backup …`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    /// Without an action: take a backup now.
    #[command(subcommand)]
    pub action: Option<BackupAction>,
}

/// What `aqueduct backup` does besides taking a backup.
#[derive(Debug, Subcommand)]
pub enum BackupAction {
    /// List complete backups, oldest first.
    List,
    /// Download one backup and check sizes, checksums and decryption.
    Verify {
        /// Backup id (from `aqueduct backup list`).
        id: String,
    },
    /// Delete backups the retention rule (backup.keep_daily,
    /// backup.keep_monthly) does not keep.
    Prune {
        /// Only print what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Recent scheduled backup and retention attempts (from `serve`).
    Status,
    /// Print a new random encryption key `ID:BASE64` for backup.key.
    Keygen {
        /// The key's id, e.g. the year: `2026`.
        id: String,
    },
}

pub(crate) fn keyring(config: &Config) -> anyhow::Result<Keyring> {
    let Some(key) = &config.backup.key else {
        bail!(
            "backup.key is not set: generate one with `aqueduct backup keygen ID` and set \
             AQUEDUCT__BACKUP__KEY (keep a copy away from the backups)"
        );
    };
    Ok(Keyring::from_settings(
        key.expose(),
        config
            .backup
            .previous_keys
            .as_ref()
            .map(|k| k.expose())
            .unwrap_or_default(),
    )?)
}

/// The store the configuration and the AWS environment describe.
pub async fn store(config: &Config) -> anyhow::Result<BackupStore> {
    Ok(BackupStore::from_env(&StoreSettings {
        bucket: config.backup.bucket.clone(),
        prefix: config.backup.prefix.clone(),
        force_path_style: config.backup.force_path_style,
        part_size: config.backup.part_size_mib.saturating_mul(1 << 20),
    })
    .await?)
}

pub(crate) fn work_dir(config: &Config) -> PathBuf {
    config
        .backup
        .work_dir
        .as_ref()
        .map_or_else(std::env::temp_dir, PathBuf::from)
}

/// The connection a snapshot is taken through.
fn source_url(config: &Config) -> String {
    config
        .backup
        .database_url
        .as_ref()
        .or(config.database.migrate_url.as_ref())
        .unwrap_or(&config.database.url)
        .expose()
        .to_owned()
}

/// The scheduled backup: take one, then prune by the rule.
pub async fn scheduled(
    config: &Config,
    db: &aqueduct_tenant::Db,
    clock: &dyn Clock,
) -> anyhow::Result<String> {
    let keys = keyring(config)?;
    let store = store(config).await?;
    let m = backup::create(
        &source_url(config),
        &keys,
        &store,
        clock,
        &work_dir(config),
        &|_| {},
    )
    .await?;
    // For the operator console (last good backup, age, size); the bucket
    // stays the truth, so a failure here does not fail the backup.
    if let Err(e) = backup::records::record(db, &m, clock.now()).await {
        tracing::warn!(error = %e, backup = %m.id, "backup stored but not recorded for the console");
    }
    let rule = PruneRule {
        keep_daily: config.backup.keep_daily,
        keep_monthly: config.backup.keep_monthly,
    };
    let r = backup::prune(&store, rule, false, clock.now()).await?;
    Ok(format!(
        "backup {} stored ({} bytes); {} kept, {} pruned, {} orphaned upload(s) removed",
        m.id,
        m.ciphertext_size,
        r.keep.len(),
        r.delete.len(),
        r.orphans.len()
    ))
}

fn progress(p: Progress) {
    match p {
        Progress::Part { number, of } if of > 1 => out!("  uploaded part {number}/{of}"),
        Progress::Part { .. } => out!("  uploaded"),
        Progress::DataVerified => out!("  read back: size and SHA-256 match"),
    }
}

/// Runs `aqueduct backup …`.
pub async fn run(args: BackupArgs, config: &Config, clock: &dyn Clock) -> anyhow::Result<()> {
    match args.action {
        Some(BackupAction::Keygen { id }) => {
            out!("{}", BackupKey::generate(&id)?);
            Ok(())
        }
        None => {
            let keys = keyring(config)?;
            let store = store(config).await?;
            let url = source_url(config);
            out!("backing up {}", redact_url(&url));
            let m = backup::create(&url, &keys, &store, clock, &work_dir(config), &progress)
                .await
                .context("backup failed; nothing was listed as good")?;
            match crate::database::connect(config).await {
                Ok(db) => {
                    if let Err(e) = backup::records::record(&db, &m, clock.now()).await {
                        out!("  (not recorded for the operator console: {e})");
                    }
                }
                Err(e) => out!("  (not recorded for the operator console: {e})"),
            }
            out!(
                "backup {} stored: {} bytes ({} before compression), key {}, schema {}",
                m.id,
                m.ciphertext_size,
                m.plaintext_size,
                m.key_id,
                m.schema_version
            );
            Ok(())
        }
        Some(BackupAction::Status) => {
            let db = crate::database::connect(config).await?;
            for job in [
                crate::schedule::Job::Backup,
                crate::schedule::Job::Retention,
            ] {
                for r in crate::schedule::recent(&db, job, 10).await? {
                    out!(
                        "{:<14} {:<32} #{} {:<8} {}  {}",
                        r.kind,
                        r.tick.as_deref().unwrap_or("-"),
                        r.attempts,
                        r.status,
                        r.updated_at.format("%Y-%m-%d %H:%M:%S"),
                        r.last_error.unwrap_or_default()
                    );
                }
            }
            Ok(())
        }
        Some(BackupAction::List) => {
            let store = store(config).await?;
            let all = store.list().await.context("listing backups")?;
            out!(
                "{:<24} {:<20} {:<8} {:>12}  {:<6} schema",
                "id",
                "created (UTC)",
                "database",
                "bytes",
                "key"
            );
            for m in &all {
                out!(
                    "{:<24} {:<20} {:<8} {:>12}  {:<6} {}",
                    m.id,
                    m.created_at.format("%Y-%m-%d %H:%M:%S"),
                    format!("{:?}", m.database).to_lowercase(),
                    m.ciphertext_size,
                    m.key_id,
                    m.schema_version
                );
            }
            out!("{} backup(s)", all.len());
            Ok(())
        }
        Some(BackupAction::Verify { id }) => {
            let keys = keyring(config)?;
            let store = store(config).await?;
            let m = backup::verify(&store, &keys, &id, &work_dir(config))
                .await
                .with_context(|| format!("backup {id} did not verify"))?;
            out!(
                "backup {} is good: {} bytes stored, {} bytes of {:?} snapshot, SHA-256 {}",
                m.id,
                m.ciphertext_size,
                m.plaintext_size,
                m.database,
                m.plaintext_sha256
            );
            Ok(())
        }
        Some(BackupAction::Prune { dry_run }) => {
            let store = store(config).await?;
            let rule = PruneRule {
                keep_daily: config.backup.keep_daily,
                keep_monthly: config.backup.keep_monthly,
            };
            let r = backup::prune(&store, rule, dry_run, clock.now())
                .await
                .context("pruning backups")?;
            let verb = if dry_run { "would delete" } else { "deleted" };
            for id in &r.delete {
                out!("{verb} {id}");
            }
            for id in &r.orphans {
                out!("{verb} the unfinished upload {id} (no manifest)");
            }
            out!(
                "kept {} backup(s) ({} daily + {} monthly rule); {verb} {} and {} unfinished upload(s)",
                r.keep.len(),
                rule.keep_daily,
                rule.keep_monthly,
                r.delete.len(),
                r.orphans.len()
            );
            Ok(())
        }
    }
}
