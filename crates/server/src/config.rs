//! Configuration: defaults, then an optional TOML file, then environment
//! variables `AQUEDUCT__SECTION__KEY` (and plain `DATABASE_URL`).
//! With nothing set, Aqueduct runs on SQLite at `./data/aqueduct.db`.

use anyhow::{Context, bail};
use aqueduct_core::Secret;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP server.
    pub server: ServerConfig,
    /// Database.
    pub database: DatabaseConfig,
    /// Logging.
    pub log: LogConfig,
    /// Sign-in and sessions.
    pub auth: AuthConfig,
    /// Encrypted backups to S3-compatible storage.
    pub backup: BackupConfig,
    /// Retention of personal data.
    pub retention: RetentionConfig,
    /// The daily jobs `serve` runs (retention, backup).
    pub schedule: ScheduleConfig,
    /// Stripe (payments are off without a secret key).
    pub stripe: StripeConfig,
    /// Outgoing mail; without it mail is only logged (development).
    pub smtp: Option<aqueduct_notify::SmtpConfig>,
    /// Notifications that belong to no association.
    pub notify: NotifyConfig,
    /// OpenTelemetry trace export (off without an endpoint).
    pub otel: OtelConfig,
}

pub use crate::otel::OtelConfig;

/// `[notify]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// Where operator mail (`backup_failed`, `queue_stuck`) goes; none is
    /// sent without it.
    pub operator_address: Option<String>,
    /// Minutes the oldest ready job may wait before operators get
    /// `queue_stuck` (default 30; 0 turns the check off).
    pub queue_stuck_minutes: Option<u32>,
    /// Base64 of 32 random bytes: signs the one-click unsubscribe links
    /// (HMAC-SHA256). Without it a key derived from `auth.totp_key` is
    /// used; without either, mails carry no unsubscribe link.
    pub link_key: Option<Secret>,
}

impl NotifyConfig {
    /// The queue-stuck threshold, if the check is on.
    pub fn queue_stuck_after(&self) -> Option<chrono::Duration> {
        match self.queue_stuck_minutes.unwrap_or(30) {
            0 => None,
            m => Some(chrono::Duration::minutes(i64::from(m))),
        }
    }
}

/// `[auth]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Minutes without a request after which a session ends.
    pub session_idle_minutes: i64,
    /// Hours after sign-in after which a session ends.
    pub session_absolute_hours: i64,
    /// Drop `Secure` from the session cookie: only for plain-HTTP
    /// development with a loopback `public_url`.
    pub dev_insecure_cookie: bool,
    /// The platform's OpenID Connect provider (single sign-on for staff
    /// and operators); associations can add their own in the app.
    pub oidc: Option<OidcConfig>,
    /// Base64 of 32 random bytes: seals TOTP keys at rest (AES-256-GCM).
    /// Without it they are stored unsealed (a warning at start-up).
    pub totp_key: Option<Secret>,
    /// Seconds an answer of the in-process authentication cache (session,
    /// association, role, second factor) may be kept at most; 0 turns the
    /// cache off. PostgreSQL only: changes reach every process at commit
    /// through `LISTEN aqueduct_auth`, so this is only a backstop.
    pub cache_seconds: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            dev_insecure_cookie: false,
            oidc: None,
            totp_key: None,
            cache_seconds: 5,
        }
    }
}

/// `[auth.oidc]`: register `<public_url>/auth/sso/callback` as the
/// redirect URI at the provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// Issuer URL, exactly as the provider's discovery document says.
    pub issuer: String,
    /// Our client id there.
    pub client_id: String,
    /// Our client secret there.
    pub client_secret: Secret,
    /// Button text on the sign-in page.
    #[serde(default = "default_oidc_label")]
    pub label: String,
}

fn default_oidc_label() -> String {
    "Sign in with single sign-on".into()
}

impl OidcConfig {
    /// The provider as the HTTP layer takes it.
    pub fn provider(&self) -> aqueduct_api::SsoProvider {
        aqueduct_api::SsoProvider {
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            label: self.label.clone(),
        }
    }
}

impl AuthConfig {
    /// Checks the settings against the public URL.
    pub fn validate(&self, public_url: &str) -> anyhow::Result<()> {
        if !(1..=24 * 60).contains(&self.session_idle_minutes)
            || !(1..=24 * 30).contains(&self.session_absolute_hours)
        {
            bail!("auth: session lifetimes out of range");
        }
        if self.cache_seconds > 300 {
            bail!("auth.cache_seconds: at most 300");
        }
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| {
                public_url.strip_prefix(p).is_some_and(|rest| {
                    rest.is_empty() || rest.starts_with(':') || rest.starts_with('/')
                })
            });
        if let Some(k) = &self.totp_key {
            aqueduct_tenant::sealed::SealKey::parse(k.expose())
                .map_err(|e| anyhow::anyhow!("auth.totp_key: {e}"))?;
        }
        if self.dev_insecure_cookie && !loopback {
            bail!("auth.dev_insecure_cookie is only allowed with a plain-HTTP loopback public_url");
        }
        Ok(())
    }
}

/// `[stripe]`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct StripeConfig {
    /// Secret key; a restricted key (`rk_…`) is enough and recommended.
    pub secret_key: Option<Secret>,
    /// Webhook signing secret; several, comma-separated, during rotation.
    pub webhook_secret: Option<Secret>,
    /// API base URL: Stripe's by default, the local simulator in development.
    pub api_base: Option<String>,
}

impl StripeConfig {
    /// The payments crate's settings, when a secret key is configured.
    pub fn settings(&self, public_url: &str) -> Option<aqueduct_payments::StripeSettings> {
        let key = self.secret_key.clone()?;
        let webhook_secrets = self
            .webhook_secret
            .as_ref()
            .map(|s| {
                s.expose()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(Secret::new)
                    .collect()
            })
            .unwrap_or_default();
        Some(aqueduct_payments::StripeSettings {
            secret_key: key,
            webhook_secrets,
            api_base: self.api_base.clone(),
            public_url: public_url.to_owned(),
        })
    }
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// Public base URL used in links.
    pub public_url: String,
    /// Where to serve Prometheus metrics (`GET /metrics`); off when unset.
    /// Keep it on a private interface.
    pub metrics_listen: Option<SocketAddr>,
    /// PEM certificate chain: with `tls_key`, `serve` terminates TLS itself
    /// (TLS 1.2+; reloaded on SIGHUP and when the files change).
    pub tls_cert: Option<std::path::PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<std::path::PathBuf>,
    /// Behind a reverse proxy that terminates TLS: believe its
    /// `X-Forwarded-Proto` (for HSTS and secure links). Only enable when
    /// the proxy is the only way in.
    pub trusted_proxy: bool,
    /// Requests handled at once by this process; more are answered 503 at
    /// once (see `limits.rs`).
    pub max_concurrent_requests: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://127.0.0.1:8080".into(),
            metrics_listen: None,
            tls_cert: None,
            tls_key: None,
            trusted_proxy: false,
            max_concurrent_requests: 512,
        }
    }
}

/// `[database]`
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// The application's connection: `sqlite://path?mode=rwc`, `sqlite:path`
    /// or `postgres://…` as the application role.
    pub url: Secret,
    /// PostgreSQL only: the schema owner's connection used by
    /// `aqueduct migrate`. Defaults to `url`.
    pub migrate_url: Option<Secret>,
    /// PostgreSQL only: the application role `aqueduct migrate` creates and
    /// grants.
    pub app_role: String,
    /// PostgreSQL only: password `aqueduct migrate` sets on the application role.
    pub app_password: Option<Secret>,
    /// Pool size.
    pub max_connections: u32,
    /// PostgreSQL only: allow `serve` to run as a superuser, a BYPASSRLS
    /// role or the schema owner (row-level security would not apply). Off.
    pub allow_privileged_role: bool,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: Secret::new("sqlite://data/aqueduct.db?mode=rwc"),
            migrate_url: None,
            app_role: "aqueduct_app".into(),
            app_password: None,
            max_connections: 10,
            allow_privileged_role: false,
        }
    }
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(self.url.expose()))
            .field(
                "migrate_url",
                &self.migrate_url.as_ref().map(|u| redact_url(u.expose())),
            )
            .field("app_role", &self.app_role)
            .field("app_password", &self.app_password)
            .field("max_connections", &self.max_connections)
            .field("allow_privileged_role", &self.allow_privileged_role)
            .finish()
    }
}

/// A database URL without its password, for logs: `postgres://app:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let masked = if userinfo.contains(':') { ":***" } else { "" };
            let host = host.split('?').next().unwrap_or_default();
            format!("{scheme}://{user}{masked}@{host}")
        }
        None => format!("{scheme}://{}", rest.split('?').next().unwrap_or_default()),
    }
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `human` or `json`.
    pub format: LogFormat,
    /// `tracing` filter, e.g. `info,sqlx=warn`; `RUST_LOG` overrides it.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            filter: "info,sqlx=warn,sea_orm=warn".into(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people.
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

/// `[backup]`. Endpoint, region and credentials are not here: they follow
/// the AWS SDK's conventions (`AWS_ENDPOINT_URL`, `AWS_REGION`,
/// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, profiles).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupConfig {
    /// Bucket name (required for any backup command).
    pub bucket: String,
    /// Key prefix inside the bucket.
    pub prefix: String,
    /// Path-style addressing (most self-hosted S3-compatible servers).
    pub force_path_style: bool,
    /// The key new backups are encrypted with: `ID:BASE64` (32 bytes);
    /// `aqueduct backup keygen ID` makes one.
    pub key: Option<Secret>,
    /// Older keys still accepted for reading, comma-separated `ID:BASE64`.
    pub previous_keys: Option<Secret>,
    /// Daily backups kept by `aqueduct backup prune`.
    pub keep_daily: u32,
    /// Monthly backups kept by `aqueduct backup prune`.
    pub keep_monthly: u32,
    /// Multipart part size in MiB (at least 5).
    pub part_size_mib: u64,
    /// Directory for temporary snapshot files (default: the system's).
    pub work_dir: Option<String>,
    /// PostgreSQL: the connection `pg_dump` uses (a role that sees every
    /// row). Defaults to `database.migrate_url`, then `database.url`.
    pub database_url: Option<Secret>,
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            prefix: "aqueduct/".into(),
            force_path_style: false,
            key: None,
            previous_keys: None,
            keep_daily: 35,
            keep_monthly: 12,
            part_size_mib: 16,
            work_dir: None,
            database_url: None,
        }
    }
}

/// `[retention]`: the platform's defaults for associations without their
/// own policy, and the floor no association may go below.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Years account information is kept after the account closes.
    pub default_years: u32,
    /// The legal minimum: no policy may be shorter.
    pub minimum_years: u32,
    /// Years payment records are kept after each payment.
    pub payment_default_years: u32,
    /// The legal minimum for payment records.
    pub payment_minimum_years: u32,
    /// Years usage data is kept after the account closes (then only in
    /// anonymised aggregate).
    pub usage_default_years: u32,
    /// The legal minimum for usage data.
    pub usage_minimum_years: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            default_years: 7,
            minimum_years: 7,
            payment_default_years: 7,
            payment_minimum_years: 7,
            usage_default_years: 7,
            usage_minimum_years: 7,
        }
    }
}

/// `[schedule]`: the platform's recurring jobs (retention; backup then
/// prune), run through the job queue's schedules by every worker.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Schedule the platform jobs (off: run them from cron with the CLI).
    pub enabled: bool,
    /// They run at this hour (UTC, 0-23) …
    pub hour_utc: u32,
    /// … and then every this many minutes (1440: daily).
    pub period_minutes: u32,
    /// How often a worker looks for due schedules.
    pub tick_seconds: u32,
    /// Wait after a failed attempt before the next.
    pub retry_minutes: u32,
    /// Attempts per run.
    pub max_attempts: u32,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            hour_utc: 3,
            period_minutes: 1440,
            tick_seconds: 30,
            retry_minutes: 30,
            max_attempts: 3,
        }
    }
}

const ENV_PREFIX: &str = "AQUEDUCT__";

impl Config {
    /// Loads defaults ← `file` ← the environment `vars`.
    pub fn load(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                text.parse::<toml::Table>()
                    .with_context(|| format!("parsing config file {}", path.display()))?
            }
            None => toml::Table::new(),
        };
        let mut database_url = None;
        for (key, value) in vars {
            if key == "DATABASE_URL" {
                database_url = Some(value);
                continue;
            }
            let Some(path) = key.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let parts: Vec<String> = path.split("__").map(str::to_lowercase).collect();
            if parts.iter().any(String::is_empty) {
                bail!("malformed configuration variable {key}");
            }
            set_path(&mut table, &parts, env_value(&value))
                .with_context(|| format!("configuration variable {key}"))?;
        }
        // DATABASE_URL is the conventional name; an explicit
        // AQUEDUCT__DATABASE__URL still wins over it.
        if let Some(url) = database_url {
            let db = table
                .entry("database")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(db) = db {
                db.entry("url").or_insert(toml::Value::String(url));
            }
        }
        let mut config: Config = toml::Value::Table(table)
            .try_into()
            .context("invalid configuration")?;
        config.database.url = Secret::new(normalize_db_url(config.database.url.expose()));
        Ok(config)
    }
}

/// Accepts `sqlite:path` as well as `sqlite://path`, and creates the file
/// when missing unless the URL says otherwise.
pub fn normalize_db_url(url: &str) -> String {
    let url = match url.strip_prefix("sqlite:") {
        Some(rest) if !rest.starts_with("//") => format!("sqlite://{rest}"),
        _ => url.to_owned(),
    };
    if url.starts_with("sqlite://") && !url.contains("mode=") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    } else {
        url
    }
}

/// The value of an environment variable: TOML when it parses as a scalar
/// (`10`, `true`), otherwise the plain string.
fn env_value(raw: &str) -> toml::Value {
    match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => match t.remove("v") {
            Some(v @ (toml::Value::Integer(_) | toml::Value::Boolean(_))) => v,
            _ => toml::Value::String(raw.to_owned()),
        },
        Err(_) => toml::Value::String(raw.to_owned()),
    }
}

fn set_path(table: &mut toml::Table, parts: &[String], value: toml::Value) -> anyhow::Result<()> {
    match parts {
        [] => bail!("empty key"),
        [last] => {
            table.insert(last.clone(), value);
            Ok(())
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => set_path(t, rest, value),
                _ => bail!("{first} is not a section"),
            }
        }
    }
}

/// Makes sure the directory of a SQLite database file exists.
pub fn prepare_sqlite_dir(url: &str) -> anyhow::Result<()> {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            return Ok(());
        }
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating database directory {}", dir.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    #[test]
    fn defaults_need_no_configuration() {
        let c = Config::load(None, vars(&[])).unwrap();
        assert_eq!(
            c.database.url.expose(),
            "sqlite://data/aqueduct.db?mode=rwc"
        );
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.log.format, LogFormat::Human);
    }

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.toml");
        std::fs::write(
            &file,
            "[server]\nlisten = \"0.0.0.0:9000\"\n[database]\nmax_connections = 3\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&file),
            vars(&[
                ("AQUEDUCT__DATABASE__MAX_CONNECTIONS", "7"),
                ("AQUEDUCT__LOG__FORMAT", "json"),
                ("DATABASE_URL", "sqlite:x.db"),
                ("UNRELATED", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(c.server.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(c.database.max_connections, 7);
        assert_eq!(c.log.format, LogFormat::Json);
        assert_eq!(c.database.url.expose(), "sqlite://x.db?mode=rwc");
    }

    #[test]
    fn explicit_variable_beats_database_url() {
        let c = Config::load(
            None,
            vars(&[
                ("DATABASE_URL", "postgres://a@h/db"),
                ("AQUEDUCT__DATABASE__URL", "postgres://b@h/db"),
            ]),
        )
        .unwrap();
        assert_eq!(c.database.url.expose(), "postgres://b@h/db");
    }

    #[test]
    fn backup_settings_from_the_environment() {
        let c = Config::load(
            None,
            vars(&[
                ("AQUEDUCT__BACKUP__BUCKET", "aq-backups"),
                ("AQUEDUCT__BACKUP__FORCE_PATH_STYLE", "true"),
                ("AQUEDUCT__BACKUP__KEY", "k1:c2VjcmV0"),
                ("AQUEDUCT__BACKUP__KEEP_DAILY", "10"),
            ]),
        )
        .unwrap();
        assert_eq!(c.backup.bucket, "aq-backups");
        assert!(c.backup.force_path_style);
        assert_eq!(c.backup.keep_daily, 10);
        assert_eq!(c.backup.keep_monthly, 12);
        assert_eq!(c.backup.prefix, "aqueduct/");
        assert!(!format!("{c:?}").contains("c2VjcmV0"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Config::load(None, vars(&[("AQUEDUCT__DATABASE__URLL", "x")])).unwrap_err();
        assert!(format!("{err:#}").contains("urll"), "{err:#}");
    }

    #[test]
    fn the_documented_example_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/aqueduct.example.toml");
        let c = Config::load(Some(&path), vars(&[])).unwrap();
        assert_eq!(c.log.format, LogFormat::Json);
        assert!(
            c.database
                .url
                .expose()
                .starts_with("postgres://aqueduct_app@")
        );
    }

    #[test]
    fn stripe_section_from_the_environment() {
        let c = Config::load(
            None,
            vars(&[
                ("AQUEDUCT__STRIPE__SECRET_KEY", "sk_test_abc123"),
                ("AQUEDUCT__STRIPE__WEBHOOK_SECRET", "whsec_old, whsec_new"),
                ("AQUEDUCT__STRIPE__API_BASE", "http://127.0.0.1:12111/"),
            ]),
        )
        .unwrap();
        let s = c.stripe.settings("http://x").unwrap();
        assert_eq!(s.webhook_secrets.len(), 2);
        assert_eq!(s.webhook_secrets[1].expose(), "whsec_new");
        let shown = format!("{c:?} {s:?}");
        assert!(
            !shown.contains("sk_test_abc123") && !shown.contains("whsec_"),
            "{shown}"
        );
        assert!(
            Config::load(None, vars(&[]))
                .unwrap()
                .stripe
                .settings("x")
                .is_none()
        );
    }

    #[test]
    fn secrets_never_print() {
        let c = Config::load(
            None,
            vars(&[
                (
                    "DATABASE_URL",
                    "postgres://app:hunter2@db.internal:5432/aq?sslmode=verify-full",
                ),
                ("AQUEDUCT__DATABASE__APP_PASSWORD", "s3cret-pw"),
            ]),
        )
        .unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cret-pw"),
            "{shown}"
        );
        assert!(
            shown.contains("postgres://app:***@db.internal:5432/aq"),
            "{shown}"
        );
    }

    #[test]
    fn insecure_cookies_only_on_loopback_http() {
        let dev = AuthConfig {
            dev_insecure_cookie: true,
            ..AuthConfig::default()
        };
        assert!(dev.validate("http://127.0.0.1:8080").is_ok());
        assert!(dev.validate("http://localhost").is_ok());
        assert!(dev.validate("https://pay.example.org").is_err());
        assert!(dev.validate("http://localhost.evil.example").is_err());
        assert!(
            AuthConfig::default()
                .validate("https://pay.example.org")
                .is_ok()
        );
        let c = Config::load(
            None,
            vars(&[("AQUEDUCT__AUTH__DEV_INSECURE_COOKIE", "true")]),
        )
        .unwrap();
        assert!(c.auth.dev_insecure_cookie);
    }
}
