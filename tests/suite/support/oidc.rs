//! A real OpenID Connect provider for the single sign-on tests:
//! oidc-provider-mock (installed by `tests/services/oidc.sh`), started on a
//! free loopback port per test and stopped when dropped. Its predefined
//! user's claims are merged into the ID token after the standard ones, so
//! a test can make the provider sign a token with a foreign `aud`, a past
//! `exp` or another `nonce`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running provider.
#[derive(Debug)]
pub struct Provider {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its issuer URL (`http://127.0.0.1:PORT`).
    pub issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn program() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("AQUEDUCT_OIDC_MOCK") {
        return Some(PathBuf::from(p));
    }
    let venv = std::env::var("AQUEDUCT_OIDC_VENV")
        .map(PathBuf::from)
        .or_else(|_| {
            std::env::var("HOME").map(|h| PathBuf::from(h).join(".cache/aqueduct/oidc-venv"))
        });
    venv.ok()
        .map(|v| v.join("bin/oidc-provider-mock"))
        .filter(|p| p.exists())
}

/// Starts a provider whose one predefined user has `claims` (must include
/// `sub`). `None` (after printing why) when it cannot be started.
pub fn start(claims: &serde_json::Value) -> Option<Provider> {
    let Some(bin) = program() else {
        eprintln!("skipped: oidc-provider-mock is not installed (run tests/services/oidc.sh)");
        return None;
    };
    let port = super::http::free_port();
    let child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string(), "--user-claims"])
        .arg(claims.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skipped: oidc-provider-mock did not start: {e}");
            return None;
        }
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let p = Provider {
        child,
        addr,
        issuer: format!("http://{addr}"),
    };
    match super::http::wait_until_up(
        addr,
        "/.well-known/openid-configuration",
        Duration::from_secs(30),
    ) {
        Some((200, _)) => Some(p),
        other => {
            eprintln!("skipped: oidc-provider-mock did not answer: {other:?}");
            None
        }
    }
}

impl Provider {
    /// Replaces the claims of the provider's user (`claims["sub"]`).
    pub fn set_claims(&self, claims: &serde_json::Value) {
        let sub = claims["sub"].as_str().unwrap();
        let (status, _) = self.raw(
            "PUT",
            &format!("/users/{sub}"),
            "application/json",
            &claims.to_string(),
        );
        assert_eq!(status, 204, "the provider did not take the claims");
    }

    fn raw(&self, method: &str, target: &str, content_type: &str, body: &str) -> (u16, String) {
        let mut s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let req = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let status = raw
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, raw)
    }

    /// Approves the authorization request at `authorize_url` (the
    /// provider's consent form, as a person would submit it) as `sub`;
    /// returns where the provider sends the browser back to.
    pub fn approve(&self, authorize_url: &str) -> String {
        let target = authorize_url
            .strip_prefix(&self.issuer)
            .unwrap_or_else(|| panic!("{authorize_url} is not at {}", self.issuer));
        let (_, raw) = self.raw(
            "POST",
            target,
            "application/x-www-form-urlencoded",
            "sub=sso-user",
        );
        let head = raw.split("\r\n\r\n").next().unwrap_or_default();
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("location")
                    .then(|| v.trim().to_owned())
            })
            .unwrap_or_else(|| panic!("the provider did not redirect: {raw}"))
    }
}

/// The claims of the provider's one user, `sso-user`.
pub fn user(extra: serde_json::Value) -> serde_json::Value {
    let mut claims = serde_json::json!({ "sub": "sso-user" });
    if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    claims
}
