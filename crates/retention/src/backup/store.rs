//! The object store: S3-compatible storage through `aws-sdk-s3`.
//! Endpoint, region and credentials follow the AWS SDK's conventions
//! (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY`, profiles…); bucket, prefix and path style are
//! Aqueduct settings. Requests are retried with exponential backoff (the
//! SDK's standard mode, 4 attempts).

use super::{BackupError, Manifest, Sealed};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Where backups go.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix, e.g. `aqueduct/` (a trailing `/` is added when missing).
    pub prefix: String,
    /// Path-style URLs (`http://host/bucket/key`), needed by most
    /// self-hosted S3-compatible servers.
    pub force_path_style: bool,
    /// Multipart part size in bytes (at least 5 MiB); files up to this size
    /// are sent in one request.
    pub part_size: u64,
}

/// Progress of an upload, for the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// One part of a multipart upload is stored.
    Part {
        /// 1-based part number.
        number: u32,
        /// Total parts.
        of: u32,
    },
    /// The data object was read back and matches.
    DataVerified,
}

/// Called after each upload step.
pub type ProgressFn<'a> = &'a (dyn Fn(Progress) + Send + Sync);

/// A bucket and prefix holding backups.
#[derive(Debug, Clone)]
pub struct BackupStore {
    client: Client,
    bucket: String,
    prefix: String,
    part_size: u64,
}

/// A request error in words an operator can act on: the service's error
/// code and message, or why the storage could not be reached.
fn storage<E>(what: &str, e: SdkError<E, HttpResponse>) -> BackupError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let detail = match &e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            let status = s.raw().status().as_u16();
            let code = err
                .code()
                .map_or_else(|| format!("HTTP {status}"), str::to_owned);
            let hint = match (code.as_str(), status) {
                ("SignatureDoesNotMatch" | "InvalidAccessKeyId" | "AccessDenied", _) | (_, 403) => {
                    " (check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
                }
                ("NoSuchBucket", _) => " (create the bucket or fix backup.bucket)",
                _ => "",
            };
            match err.message() {
                Some(m) => format!("{code}: {m}{hint}"),
                None => format!("{code}{hint}"),
            }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => format!(
            "storage unreachable (check AWS_ENDPOINT_URL): {}",
            DisplayErrorContext(&e)
        ),
        _ => DisplayErrorContext(&e).to_string(),
    };
    BackupError::Storage(format!("{what}: {detail}"))
}

/// An error while streaming an object's body.
fn stream(what: &str, e: impl std::error::Error) -> BackupError {
    BackupError::Storage(format!("{what}: {}", DisplayErrorContext(e)))
}

/// Minimum multipart part size S3 accepts.
pub const MIN_PART_SIZE: u64 = 5 << 20;

impl BackupStore {
    /// A store using the SDK configuration from the environment.
    pub async fn from_env(settings: &StoreSettings) -> Result<Self, BackupError> {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        Self::new(&sdk, settings)
    }

    /// A store using the given SDK configuration.
    pub fn new(sdk: &aws_config::SdkConfig, settings: &StoreSettings) -> Result<Self, BackupError> {
        if settings.bucket.trim().is_empty() {
            return Err(BackupError::Storage(
                "no bucket configured (backup.bucket / AQUEDUCT__BACKUP__BUCKET)".into(),
            ));
        }
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(settings.force_path_style)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(4)
                    .with_initial_backoff(Duration::from_millis(250))
                    .with_max_backoff(Duration::from_secs(5)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .read_timeout(Duration::from_secs(60))
                    .build(),
            )
            .build();
        let mut prefix = settings.prefix.trim_start_matches('/').to_owned();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        Ok(Self {
            client: Client::from_conf(config),
            bucket: settings.bucket.clone(),
            prefix,
            part_size: settings.part_size.max(MIN_PART_SIZE),
        })
    }

    fn data_key(&self, id: &str) -> String {
        format!("{}{id}/data.aqbk", self.prefix)
    }

    fn manifest_key(&self, id: &str) -> String {
        format!("{}{id}/manifest.json", self.prefix)
    }

    /// Uploads a sealed backup: the data (multipart when large), reads it
    /// back to check size and SHA-256, then writes and re-reads the
    /// manifest. Only then is the backup listed.
    pub async fn upload(
        &self,
        sealed: &Sealed,
        progress: ProgressFn<'_>,
    ) -> Result<Manifest, BackupError> {
        self.check_bucket().await?;
        let mut manifest = sealed.manifest.clone();
        let key = self.data_key(&manifest.id);
        manifest.object = key.clone();
        let size = manifest.ciphertext_size;
        if size <= self.part_size {
            let body = ByteStream::read_from()
                .path(sealed.data.path())
                .build()
                .await
                .map_err(|e| BackupError::Io(std::io::Error::other(e)))?;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .content_length(i64::try_from(size).unwrap_or(i64::MAX))
                .body(body)
                .send()
                .await
                .map_err(|e| storage("uploading the backup", e))?;
            progress(Progress::Part { number: 1, of: 1 });
        } else {
            self.multipart(&key, sealed.data.path(), size, progress)
                .await?;
        }
        self.verify_object(&key, size, &manifest.ciphertext_sha256)
            .await?;
        progress(Progress::DataVerified);

        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| BackupError::Storage(format!("encoding the manifest: {e}")))?;
        let mkey = self.manifest_key(&manifest.id);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&mkey)
            .content_type("application/json")
            .body(ByteStream::from(json.clone()))
            .send()
            .await
            .map_err(|e| storage("uploading the manifest", e))?;
        let back = self.get_bytes(&mkey).await?;
        if back != json {
            let _ = self.delete_key(&mkey).await;
            return Err(BackupError::Verify(
                "the manifest read back differs from what was written".into(),
            ));
        }
        Ok(manifest)
    }

    /// Checks that the bucket exists and the credentials may use it.
    pub async fn check_bucket(&self) -> Result<(), BackupError> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {
                Err(BackupError::Storage(format!(
                    "bucket {} does not exist (NoSuchBucket): create it or fix backup.bucket",
                    self.bucket
                )))
            }
            Err(e) => Err(storage(&format!("checking bucket {}", self.bucket), e)),
        }
    }

    async fn multipart(
        &self,
        key: &str,
        path: &Path,
        size: u64,
        progress: ProgressFn<'_>,
    ) -> Result<(), BackupError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| storage("starting the multipart upload", e))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| BackupError::Storage("no multipart upload id returned".into()))?
            .to_owned();
        let result = self
            .upload_parts(key, &upload_id, path, size, progress)
            .await;
        match result {
            Ok(parts) => self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map(|_| ())
                .map_err(|e| storage("completing the multipart upload", e)),
            Err(e) => {
                // Best effort: the storage may be the thing that failed.
                let _ = self
                    .client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                Err(e)
            }
        }
    }

    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        path: &Path,
        size: u64,
        progress: ProgressFn<'_>,
    ) -> Result<Vec<CompletedPart>, BackupError> {
        let parts = u32::try_from(size.div_ceil(self.part_size))
            .map_err(|_| BackupError::Storage("backup too large".into()))?;
        let mut done = Vec::new();
        for number in 1..=parts {
            let offset = u64::from(number - 1) * self.part_size;
            let len = self.part_size.min(size - offset);
            let body = ByteStream::read_from()
                .path(path)
                .offset(offset)
                .length(Length::Exact(len))
                .build()
                .await
                .map_err(|e| BackupError::Io(std::io::Error::other(e)))?;
            let out = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(i32::try_from(number).unwrap_or(i32::MAX))
                .content_length(i64::try_from(len).unwrap_or(i64::MAX))
                .body(body)
                .send()
                .await
                .map_err(|e| storage(&format!("uploading part {number} of {parts}"), e))?;
            done.push(
                CompletedPart::builder()
                    .part_number(i32::try_from(number).unwrap_or(i32::MAX))
                    .set_e_tag(out.e_tag().map(str::to_owned))
                    .build(),
            );
            progress(Progress::Part { number, of: parts });
        }
        Ok(done)
    }

    async fn verify_object(&self, key: &str, size: u64, sha: &str) -> Result<(), BackupError> {
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| storage("reading back the backup", e))?;
        let stored = head.content_length().unwrap_or(-1);
        if u64::try_from(stored).ok() != Some(size) {
            return Err(BackupError::Verify(format!(
                "stored object is {stored} bytes, expected {size}"
            )));
        }
        let mut body = self.get(key).await?;
        let mut hasher = Sha256::new();
        while let Some(chunk) = body.next().await {
            hasher.update(chunk.map_err(|e| stream("reading back the backup", e))?);
        }
        let got = hex::encode(hasher.finalize());
        if got != sha {
            return Err(BackupError::Verify(format!(
                "stored object has SHA-256 {got}, expected {sha}"
            )));
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<ByteStream, BackupError> {
        Ok(self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| storage(&format!("downloading {key}"), e))?
            .body)
    }

    async fn get_bytes(&self, key: &str) -> Result<Vec<u8>, BackupError> {
        Ok(self
            .get(key)
            .await?
            .collect()
            .await
            .map_err(|e| stream(&format!("downloading {key}"), e))?
            .to_vec())
    }

    async fn delete_key(&self, key: &str) -> Result<(), BackupError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| storage(&format!("deleting {key}"), e))
    }

    /// Every complete backup (one with a manifest), oldest first.
    pub async fn list(&self) -> Result<Vec<Manifest>, BackupError> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&self.prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| storage("listing backups", e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .filter(|k| k.ends_with("/manifest.json"))
                    .map(str::to_owned),
            );
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        let mut out = Vec::new();
        for key in keys {
            let bytes = self.get_bytes(&key).await?;
            match serde_json::from_slice::<Manifest>(&bytes) {
                Ok(m) => out.push(m),
                Err(e) => tracing::warn!(%key, error = %e, "unreadable backup manifest skipped"),
            }
        }
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Ids of data objects without a manifest (an upload that stopped
    /// before the manifest was written) last modified before `before`.
    pub async fn orphans(&self, before: DateTime<Utc>) -> Result<Vec<String>, BackupError> {
        let mut data = Vec::new();
        let mut manifests = std::collections::HashSet::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&self.prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| storage("listing backups", e))?;
            for o in page.contents() {
                let Some(rest) = o.key().and_then(|k| k.strip_prefix(&self.prefix)) else {
                    continue;
                };
                if let Some(id) = rest.strip_suffix("/manifest.json") {
                    manifests.insert(id.to_owned());
                } else if let Some(id) = rest.strip_suffix("/data.aqbk") {
                    let old = o
                        .last_modified()
                        .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), 0))
                        .is_some_and(|t| t < before);
                    if old {
                        data.push(id.to_owned());
                    }
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        data.retain(|id| !manifests.contains(id));
        Ok(data)
    }

    /// Deletes the data object of an unlisted (orphaned) backup.
    pub async fn delete_orphan(&self, id: &str) -> Result<(), BackupError> {
        self.delete_key(&self.data_key(id)).await
    }

    /// The manifest of backup `id`.
    pub async fn manifest(&self, id: &str) -> Result<Manifest, BackupError> {
        if id.is_empty() || id.contains('/') {
            return Err(BackupError::NotFound(id.to_owned()));
        }
        let key = self.manifest_key(id);
        let bytes = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(out) => out
                .body
                .collect()
                .await
                .map_err(|e| stream("downloading the manifest", e))?
                .to_vec(),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                return Err(BackupError::NotFound(id.to_owned()));
            }
            Err(e) => return Err(storage("downloading the manifest", e)),
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| BackupError::Verify(format!("unreadable manifest for {id}: {e}")))
    }

    /// Downloads the data object of `manifest` into `dest`.
    pub async fn download(&self, manifest: &Manifest, dest: &Path) -> Result<(), BackupError> {
        let mut body = self.get(&manifest.object).await?;
        let mut file = tokio::fs::File::create(dest).await?;
        while let Some(chunk) = body.next().await {
            file.write_all(&chunk.map_err(|e| stream("downloading the backup", e))?)
                .await?;
        }
        file.flush().await?;
        Ok(())
    }

    /// Deletes backup `id`: the manifest first (so it is no longer listed),
    /// then the data.
    pub async fn delete(&self, id: &str) -> Result<(), BackupError> {
        self.delete_key(&self.manifest_key(id)).await?;
        self.delete_key(&self.data_key(id)).await
    }
}
