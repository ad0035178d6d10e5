//! TLS termination with rustls (TLS 1.2 and 1.3 only — rustls has nothing
//! older). The certificate is reloaded on SIGHUP and when its files change,
//! without dropping connections.

use anyhow::Context;
use axum::Router;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

fn modified(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

async fn reload(config: &RustlsConfig, cert: &Path, key: &Path, why: &str) {
    match config.reload_from_pem_file(cert, key).await {
        Ok(()) => tracing::info!(reason = why, "TLS certificate reloaded"),
        Err(e) => {
            tracing::error!(error = %e, reason = why, "TLS certificate reload failed; keeping the previous one")
        }
    }
}

/// Serves `app` over HTTPS on `addr` until SIGINT/SIGTERM.
pub async fn serve(
    app: Router,
    addr: SocketAddr,
    cert: &Path,
    key: &Path,
    routes: usize,
) -> anyhow::Result<()> {
    let config = RustlsConfig::from_pem_file(cert, key)
        .await
        .with_context(|| {
            format!(
                "loading TLS certificate {} and key {}",
                cert.display(),
                key.display()
            )
        })?;
    let handle = Handle::new();
    let (cert, key): (PathBuf, PathBuf) = (cert.into(), key.into());
    let watcher = {
        let config = config.clone();
        tokio::spawn(async move {
            let mut last = (modified(&cert), modified(&key));
            #[cfg(unix)]
            let mut hup =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            loop {
                #[cfg(unix)]
                let hangup = async {
                    match hup.as_mut() {
                        Some(s) => {
                            s.recv().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                #[cfg(not(unix))]
                let hangup = std::future::pending::<()>();
                tokio::select! {
                    () = hangup => reload(&config, &cert, &key, "SIGHUP").await,
                    () = tokio::time::sleep(Duration::from_secs(30)) => {
                        let now = (modified(&cert), modified(&key));
                        if now != last {
                            reload(&config, &cert, &key, "files changed").await;
                        }
                        last = now;
                    }
                }
            }
        })
    };
    let shutdown = {
        let handle = handle.clone();
        tokio::spawn(async move {
            crate::serve::shutdown_signal().await;
            handle.graceful_shutdown(Some(Duration::from_secs(25)));
        })
    };
    let server = axum_server::bind_rustls(addr, config).handle(handle.clone());
    let waiter = {
        let handle = handle.clone();
        async move {
            if let Some(bound) = handle.listening().await {
                tracing::info!(address = %bound, routes, tls = true, "listening");
            }
        }
    };
    let (served, ()) = tokio::join!(
        server.serve(app.into_make_service_with_connect_info::<SocketAddr>()),
        waiter
    );
    watcher.abort();
    shutdown.abort();
    served.context("serving over TLS")
}
