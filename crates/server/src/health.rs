//! `aqueduct health`: a dependency-free HTTP/1.1 probe for container health
//! checks (slim images have no curl).

use anyhow::{Context, bail};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `GET url` (plain `http://host:port/path`); returns the status code.
pub async fn check(url: &str) -> anyhow::Result<u16> {
    let Some(rest) = url.strip_prefix("http://") else {
        bail!("only http:// URLs on the local machine are supported: {url}");
    };
    let (host, path) = match rest.split_once('/') {
        Some((h, p)) => (h, format!("/{p}")),
        None => (rest, "/".to_owned()),
    };
    let fut = async {
        let mut stream = TcpStream::connect(host)
            .await
            .with_context(|| format!("connecting to {host}"))?;
        stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        let mut head = vec![0u8; 64];
        let n = stream.read(&mut head).await?;
        let line = String::from_utf8_lossy(&head[..n]);
        line.split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok())
            .with_context(|| format!("not an HTTP answer from {host}"))
    };
    tokio::time::timeout(Duration::from_secs(5), fut)
        .await
        .context("timed out")?
}
