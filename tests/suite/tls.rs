//! `aqueduct serve` terminating TLS itself, and reloading its certificate.

use crate::support::http::free_port;
use crate::support::{Engine, TestDb};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tls")
}

fn connector(versions: &[&'static rustls::SupportedProtocolVersion]) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(fixtures().join("ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = ClientConfig::builder_with_protocol_versions(versions)
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// `GET /healthz` over TLS: (status line + headers, the server's leaf certificate).
async fn https_get(
    addr: SocketAddr,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> std::io::Result<(String, Vec<u8>)> {
    let tcp = TcpStream::connect(addr).await?;
    let mut tls = connector(versions)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    let leaf = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw).await;
    Ok((String::from_utf8_lossy(&raw).into_owned(), leaf))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn serve_terminates_tls_and_reloads_its_certificate_on_sighup() {
    crate::support::db::init_process();
    let db = TestDb::new(Engine::Sqlite).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::copy(fixtures().join("server1.pem"), &cert).unwrap();
    std::fs::copy(fixtures().join("server1.key"), &key).unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_aqueduct"))
        .args(["serve", "--listen", &addr.to_string()])
        .env("DATABASE_URL", &db.app_url)
        .env("AQUEDUCT__SERVER__TLS_CERT", &cert)
        .env("AQUEDUCT__SERVER__TLS_KEY", &key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let all = &[&rustls::version::TLS13, &rustls::version::TLS12];
    let (head, leaf) = loop {
        match https_get(addr, all).await {
            Ok(r) => break r,
            Err(_) if start.elapsed() < Duration::from_secs(30) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("TLS server never answered: {e}"),
        }
    };
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_lowercase()
            .contains("strict-transport-security: max-age=31536000"),
        "{head}"
    );
    assert!(contains(&leaf, b"aqueduct-test-1"));
    // TLS 1.2 is accepted too (nothing older exists in rustls).
    let (head12, _) = https_get(addr, &[&rustls::version::TLS12]).await.unwrap();
    assert!(head12.starts_with("HTTP/1.1 200"));
    // Plain HTTP on the TLS port is not served.
    let plain = crate::support::http::get(addr, "/healthz", &[])
        .map(|r| r.0)
        .unwrap_or(0);
    assert_ne!(plain, 200);

    // New certificate, SIGHUP: new connections get it.
    std::fs::copy(fixtures().join("server2.pem"), &cert).unwrap();
    std::fs::copy(fixtures().join("server2.key"), &key).unwrap();
    Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    let start = Instant::now();
    loop {
        let (_, leaf) = https_get(addr, all).await.unwrap();
        if contains(&leaf, b"aqueduct-test-2") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "certificate was not reloaded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
