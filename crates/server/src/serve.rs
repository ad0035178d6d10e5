//! `aqueduct serve`.

use crate::config::Config;
use crate::database;
use anyhow::Context;
use aqueduct_api::{AppState, Settings};
use aqueduct_core::SystemClock;
use std::net::SocketAddr;
use std::sync::Arc;

/// Runs the HTTP server until SIGINT or SIGTERM, then finishes in-flight
/// requests and exits.
pub async fn run(config: &Config, listen: Option<SocketAddr>) -> anyhow::Result<()> {
    let db = database::connect(config).await?;
    database::check_role(&db, config).await?;
    crate::schedule::spawn(config.clone(), db.clone(), Arc::new(SystemClock));
    let state = AppState::new(
        db,
        Arc::new(SystemClock),
        Settings {
            public_url: config.server.public_url.clone(),
        },
    );
    let (app, routes) = aqueduct_api::app(state);
    let addr = listen.unwrap_or(config.server.listen);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let bound = listener.local_addr()?;
    tracing::info!(address = %bound, routes = routes.len(), "listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving")?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
