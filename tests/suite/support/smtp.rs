//! A real SMTP server (aiosmtpd with `tests/services/aqueduct_smtp.py`) per
//! test, on a free loopback port, keeping mail in a temp dir. Installed by
//! `tests/services/smtp.sh`; tests skip with a message when Python or
//! aiosmtpd is missing.

use super::http::free_port;
use aqueduct_notify::{SmtpConfig, SmtpSender, SmtpTls};
use serde::Deserialize;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One message the server accepted, decoded by the handler.
#[derive(Debug, Clone, Deserialize)]
pub struct Received {
    /// Envelope recipients.
    pub rcpt_tos: Vec<String>,
    /// `To`.
    #[allow(dead_code)]
    pub to: String,
    /// `From`.
    pub from: String,
    /// `Reply-To`.
    #[allow(dead_code)]
    pub reply_to: String,
    /// Decoded subject.
    pub subject: String,
    /// `Message-ID`.
    pub message_id: String,
    /// `List-Unsubscribe`.
    pub list_unsubscribe: String,
    /// Decoded plain-text part.
    pub text: String,
    /// Decoded HTML part.
    pub html: String,
    /// The message as sent.
    pub raw: String,
    /// Attachments (parts that are not the text or HTML body).
    #[serde(default)]
    pub attachments: Vec<ReceivedAttachment>,
}

/// One attachment of a received message.
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedAttachment {
    /// `Content-Type` without parameters, e.g. `application/pdf`.
    pub content_type: String,
    /// File name.
    pub filename: String,
    /// The decoded bytes, base64.
    pub data_b64: String,
}

/// A running aiosmtpd.
pub struct SmtpServer {
    child: Mutex<Option<Child>>,
    python: PathBuf,
    dir: tempfile::TempDir,
    /// Port on 127.0.0.1.
    pub port: u16,
}

fn python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("AQ_SMTP_PYTHON").map(PathBuf::from),
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/aqueduct/venv/bin/python")),
    ];
    candidates.into_iter().flatten().find(|p| {
        p.is_file()
            && Command::new(p)
                .args(["-c", "import aiosmtpd"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    })
}

impl SmtpServer {
    /// Starts a server, or returns `None` (printing why) when aiosmtpd is
    /// not installed.
    pub fn start() -> Option<Self> {
        Self::start_with(None)
    }

    /// Starts a server that exits after accepting `stop_after` messages.
    pub fn start_with(stop_after: Option<u32>) -> Option<Self> {
        let Some(python) = python() else {
            eprintln!("skipped: aiosmtpd is not installed; run tests/services/smtp.sh");
            return None;
        };
        let s = Self {
            child: Mutex::new(None),
            python,
            dir: tempfile::tempdir().expect("a temp dir"),
            port: free_port(),
        };
        s.resume_with(stop_after);
        Some(s)
    }

    /// Starts (again) on the same port and directory.
    pub fn resume_with(&self, stop_after: Option<u32>) {
        let services = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/services");
        let mut cmd = Command::new(&self.python);
        cmd.args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aqueduct_smtp.Keeper"])
            .arg(self.dir.path())
            .env("PYTHONPATH", services)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match stop_after {
            Some(n) => cmd.env("AQ_SMTP_STOP_AFTER", n.to_string()),
            None => cmd.env_remove("AQ_SMTP_STOP_AFTER"),
        };
        let child = cmd.spawn().expect("start aiosmtpd");
        *self.child.lock().unwrap() = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server.
    pub fn stop(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Waits until the server process has exited by itself.
    pub fn wait_exit(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.wait();
        }
    }

    /// The configuration that reaches this server.
    pub fn config(&self) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(self.port),
            tls: SmtpTls::None,
            username: None,
            password: None,
            from_address: "billing@mail.aqueduct.test".into(),
            pool_size: 2,
            timeout_secs: 5,
        }
    }

    /// A sender for this server.
    pub fn sender(&self) -> SmtpSender {
        SmtpSender::new(&self.config()).expect("an SMTP sender")
    }

    /// Every message accepted so far.
    pub fn received(&self) -> Vec<Received> {
        let path = self.dir.path().join("messages.jsonl");
        let Ok(text) = std::fs::read_to_string(path) else {
            return Vec::new();
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("a message record"))
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}
