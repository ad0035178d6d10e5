//! Encrypted backups to S3-compatible object storage.
//!
//! A backup is two objects under `PREFIX/ID/`: `data.aqbk` (the snapshot,
//! zstd-compressed, then encrypted — see [`crypto`]) and `manifest.json`
//! ([`Manifest`]). The manifest is uploaded last, only after the data
//! object has been read back and its size and SHA-256 checked, so a backup
//! is listed (it has a manifest) only when it is complete.

pub mod crypto;
pub mod prune;
pub mod records;
pub mod snapshot;
pub mod store;

pub use crypto::{BackupKey, Keyring};
pub use prune::{PruneRule, plan as prune_plan};
pub use snapshot::DatabaseKind;
pub use store::{BackupStore, StoreSettings};

use aqueduct_core::Clock;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

/// Why a backup operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A key is missing, malformed or unknown.
    #[error("backup key: {0}")]
    Key(String),
    /// Encryption or decryption failed (wrong key, changed file).
    #[error("{0}")]
    Crypto(String),
    /// Object storage refused or could not be reached.
    #[error("object storage: {0}")]
    Storage(String),
    /// The downloaded data does not match its manifest.
    #[error("verification failed: {0}")]
    Verify(String),
    /// Snapshot or restore of the database failed.
    #[error("database: {0}")]
    Database(String),
    /// The target database is not empty and `--force` was not given.
    #[error("{0}")]
    Refused(String),
    /// No backup with that id.
    #[error("no backup with id {0}")]
    NotFound(String),
    /// Local file I/O.
    #[error("local file: {0}")]
    Io(#[from] std::io::Error),
}

/// What a backup holds, stored beside it as `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Manifest format version (1).
    pub format: u32,
    /// The backup id, `YYYYMMDDTHHMMSSZ-xxxxxx`.
    pub id: String,
    /// When the snapshot was taken (UTC).
    pub created_at: DateTime<Utc>,
    /// `sqlite` or `postgres`.
    pub database: DatabaseKind,
    /// The newest applied migration.
    pub schema_version: String,
    /// `sqlite-file` (VACUUM INTO) or `pg_dump-custom`.
    pub snapshot_format: String,
    /// `zstd`.
    pub compression: String,
    /// `aes-256-gcm-stream`.
    pub encryption: String,
    /// Id of the key that encrypted it.
    pub key_id: String,
    /// Snapshot size before compression.
    pub plaintext_size: u64,
    /// SHA-256 (hex) of the snapshot before compression.
    pub plaintext_sha256: String,
    /// Size after compression, before encryption.
    pub compressed_size: u64,
    /// Size of the stored object.
    pub ciphertext_size: u64,
    /// SHA-256 (hex) of the stored object.
    pub ciphertext_sha256: String,
    /// The stored object's key.
    pub object: String,
}

/// A new backup id from the clock: sortable by time, unique by suffix.
pub fn new_id(clock: &dyn Clock) -> Result<String, BackupError> {
    let mut suffix = [0u8; 3];
    getrandom::fill(&mut suffix).map_err(|e| BackupError::Key(format!("no randomness: {e}")))?;
    Ok(format!(
        "{}-{}",
        clock.now().format("%Y%m%dT%H%M%SZ"),
        hex::encode(suffix)
    ))
}

/// SHA-256 and length of everything `r` yields.
pub fn sha256_of(mut r: impl Read) -> Result<(String, u64), BackupError> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut len = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), len))
}

/// The sealed files of one backup, ready to upload.
#[derive(Debug)]
pub struct Sealed {
    /// The manifest (its `object` not yet set).
    pub manifest: Manifest,
    /// The encrypted file.
    pub data: tempfile::NamedTempFile,
}

/// Compresses and encrypts the snapshot at `snapshot` (blocking: call from
/// `spawn_blocking`). Fills every size and checksum of `manifest`.
pub fn seal(
    keys: &Keyring,
    snapshot: &Path,
    mut manifest: Manifest,
    work_dir: &Path,
) -> Result<Sealed, BackupError> {
    let (plain_sha, plain_len) = sha256_of(std::fs::File::open(snapshot)?)?;
    let mut compressed = tempfile::NamedTempFile::new_in(work_dir)?;
    zstd::stream::copy_encode(std::fs::File::open(snapshot)?, compressed.as_file_mut(), 3)?;
    compressed.as_file_mut().flush()?;
    let compressed_len = compressed.as_file().metadata()?.len();
    let mut data = tempfile::NamedTempFile::new_in(work_dir)?;
    crypto::encrypt(
        keys,
        std::fs::File::open(compressed.path())?,
        std::io::BufWriter::new(data.as_file_mut()),
    )?;
    let (cipher_sha, cipher_len) = sha256_of(std::fs::File::open(data.path())?)?;
    manifest.key_id = keys.write_key_id().to_owned();
    manifest.plaintext_size = plain_len;
    manifest.plaintext_sha256 = plain_sha;
    manifest.compressed_size = compressed_len;
    manifest.ciphertext_size = cipher_len;
    manifest.ciphertext_sha256 = cipher_sha;
    Ok(Sealed { manifest, data })
}

/// Checks the encrypted file at `encrypted` against `manifest`, decrypts
/// and decompresses it into `out`, and checks the plaintext too (blocking).
pub fn unseal(
    keys: &Keyring,
    manifest: &Manifest,
    encrypted: &Path,
    out: &Path,
) -> Result<(), BackupError> {
    let (sha, len) = sha256_of(std::fs::File::open(encrypted)?)?;
    if len != manifest.ciphertext_size || sha != manifest.ciphertext_sha256 {
        return Err(BackupError::Verify(format!(
            "backup {}: stored object is {len} bytes with SHA-256 {sha}, the manifest says {} bytes with {}",
            manifest.id, manifest.ciphertext_size, manifest.ciphertext_sha256
        )));
    }
    let compressed = tempfile::NamedTempFile::new_in(out.parent().unwrap_or(Path::new(".")))?;
    crypto::decrypt(
        keys,
        std::io::BufReader::new(std::fs::File::open(encrypted)?),
        std::io::BufWriter::new(compressed.as_file()),
    )?;
    let mut plain = std::fs::File::create(out)?;
    zstd::stream::copy_decode(std::fs::File::open(compressed.path())?, &mut plain)
        .map_err(|e| BackupError::Verify(format!("decompressing: {e}")))?;
    plain.flush()?;
    let (sha, len) = sha256_of(std::fs::File::open(out)?)?;
    if len != manifest.plaintext_size || sha != manifest.plaintext_sha256 {
        return Err(BackupError::Verify(format!(
            "backup {}: decrypted snapshot does not match the manifest",
            manifest.id
        )));
    }
    Ok(())
}

fn blocking_err(e: tokio::task::JoinError) -> BackupError {
    BackupError::Io(std::io::Error::other(e))
}

/// Takes a snapshot of the database at `url` (for PostgreSQL: a role that
/// sees every row), seals it with `keys` and uploads it to `store`.
/// Temporary files live in `work_dir` and are removed afterwards.
pub async fn create(
    url: &str,
    keys: &Keyring,
    store: &BackupStore,
    clock: &dyn Clock,
    work_dir: &Path,
    progress: store::ProgressFn<'_>,
) -> Result<Manifest, BackupError> {
    let dir = tempfile::tempdir_in(work_dir)?;
    let snap = dir.path().join("snapshot");
    let id = new_id(clock)?;
    let created_at = clock.now();
    let (kind, schema_version) = snapshot::take(url, &snap).await?;
    let manifest = Manifest {
        format: 1,
        id,
        created_at,
        database: kind,
        schema_version,
        snapshot_format: kind.snapshot_format().into(),
        compression: "zstd".into(),
        encryption: "aes-256-gcm-stream".into(),
        key_id: String::new(),
        plaintext_size: 0,
        plaintext_sha256: String::new(),
        compressed_size: 0,
        ciphertext_size: 0,
        ciphertext_sha256: String::new(),
        object: String::new(),
    };
    let keys2 = keys.clone();
    let dir_path = dir.path().to_owned();
    let sealed = tokio::task::spawn_blocking(move || seal(&keys2, &snap, manifest, &dir_path))
        .await
        .map_err(blocking_err)??;
    let manifest = store.upload(&sealed, progress).await?;
    tracing::info!(id = %manifest.id, bytes = manifest.ciphertext_size, "backup stored and verified");
    Ok(manifest)
}

/// Downloads backup `id`, checks it against its manifest, decrypts and
/// decompresses it into `dir/snapshot`. Returns the manifest.
pub async fn fetch(
    store: &BackupStore,
    keys: &Keyring,
    id: &str,
    dir: &Path,
) -> Result<(Manifest, std::path::PathBuf), BackupError> {
    let manifest = store.manifest(id).await?;
    let encrypted = dir.join("data.aqbk");
    let out = dir.join("snapshot");
    store.download(&manifest, &encrypted).await?;
    let (keys, m, out2) = (keys.clone(), manifest.clone(), out.clone());
    tokio::task::spawn_blocking(move || unseal(&keys, &m, &encrypted, &out2))
        .await
        .map_err(blocking_err)??;
    Ok((manifest, out))
}

/// Downloads and fully checks backup `id` (sizes, both checksums, the
/// encryption) without restoring it.
pub async fn verify(
    store: &BackupStore,
    keys: &Keyring,
    id: &str,
    work_dir: &Path,
) -> Result<Manifest, BackupError> {
    let dir = tempfile::tempdir_in(work_dir)?;
    Ok(fetch(store, keys, id, dir.path()).await?.0)
}

/// Restores backup `id` into the database at `into` (see
/// [`snapshot::restore`] for the empty-database rule).
pub async fn restore(
    store: &BackupStore,
    keys: &Keyring,
    id: &str,
    into: &str,
    force: bool,
    work_dir: &Path,
) -> Result<Manifest, BackupError> {
    // Refuse early, before downloading anything.
    let target = DatabaseKind::of_url(into)?;
    if !force && snapshot::table_count(into).await? > 0 {
        return Err(BackupError::Refused(
            "the target database is not empty; restore into an empty database, \
             or pass --force to replace its contents"
                .into(),
        ));
    }
    let dir = tempfile::tempdir_in(work_dir)?;
    let (manifest, snap) = fetch(store, keys, id, dir.path()).await?;
    if manifest.database != target {
        return Err(BackupError::Refused(format!(
            "backup {id} is a {:?} backup; it cannot be restored into a {target:?} database",
            manifest.database
        )));
    }
    snapshot::restore(manifest.database, &snap, into, force).await?;
    Ok(manifest)
}

/// What pruning kept and deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneReport {
    /// Backups kept, newest first.
    pub keep: Vec<String>,
    /// Backups deleted (or, in a dry run, to delete), newest first.
    pub delete: Vec<String>,
    /// Data objects of uploads that never got a manifest, older than a
    /// day, deleted (or to delete).
    pub orphans: Vec<String>,
}

/// Applies `rule` to the stored backups and removes orphaned uploads older
/// than a day before `now`; deletes nothing when `dry_run`.
pub async fn prune(
    store: &BackupStore,
    rule: PruneRule,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<PruneReport, BackupError> {
    let all: Vec<(String, DateTime<Utc>)> = store
        .list()
        .await?
        .into_iter()
        .map(|m| (m.id, m.created_at))
        .collect();
    let (keep, delete) = prune_plan(&all, rule);
    let orphans = store.orphans(now - chrono::Duration::days(1)).await?;
    if !dry_run {
        for id in &delete {
            store.delete(id).await?;
        }
        for id in &orphans {
            store.delete_orphan(id).await?;
        }
    }
    Ok(PruneReport {
        keep,
        delete,
        orphans,
    })
}
