//! A real S3-compatible server (s3s-fs) per test, on a free loopback port
//! with its own keys and directory. Installed by `tests/services/s3.sh`;
//! tests skip with a message when the binary is absent.

use super::http::free_port;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A running s3s-fs.
pub struct S3Server {
    child: Mutex<Option<Child>>,
    bin: PathBuf,
    dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    port: u16,
    /// Access key the server accepts.
    pub access_key: String,
    /// Secret key the server accepts.
    pub secret_key: String,
}

/// Where s3s-fs is: `S3S_FS_BIN`, `PATH`, or `~/.cargo/bin`.
pub fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("S3S_FS_BIN").map(PathBuf::from) {
        return p.is_file().then_some(p);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("s3s-fs"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
        Some(home.join("bin/s3s-fs")).filter(|p| p.is_file())
    })
}

impl S3Server {
    /// Starts a server, or returns `None` (printing why) when s3s-fs is
    /// not installed.
    pub fn start() -> Option<Self> {
        let Some(bin) = binary() else {
            eprintln!(
                "skipped: s3s-fs is not installed; run tests/services/s3.sh (or set S3S_FS_BIN)"
            );
            return None;
        };
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let port = free_port();
        let s = Self {
            child: Mutex::new(None),
            bin,
            dir: tempfile::tempdir().expect("a temp dir"),
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            access_key: format!("AK{}", &suffix[..14]).to_uppercase(),
            secret_key: format!("sk-{suffix}"),
        };
        s.resume();
        Some(s)
    }

    /// Starts (again) on the same port and directory.
    pub fn resume(&self) {
        let child = Command::new(&self.bin)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", &self.access_key])
            .args(["--secret-key", &self.secret_key])
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        *self.child.lock().unwrap() = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server (storage "goes down").
    pub fn stop(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SDK configuration for this server with the given secret.
    pub async fn sdk_with_secret(&self, secret: &str) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                &self.access_key,
                secret,
                None,
                None,
                "test",
            ))
            .load()
            .await
    }

    /// SDK configuration for this server.
    pub async fn sdk(&self) -> aws_config::SdkConfig {
        self.sdk_with_secret(&self.secret_key).await
    }

    /// A raw S3 client (for test setup and for reading stored objects).
    pub async fn client(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.sdk().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// Creates a bucket.
    pub async fn create_bucket(&self, name: &str) {
        self.client()
            .await
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .expect("create bucket");
    }

    /// Environment variables for the `aqueduct` binary to reach this server.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID".into(), self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY".into(), self.secret_key.clone()),
        ]
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
