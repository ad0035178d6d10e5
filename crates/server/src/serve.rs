//! `aqueduct serve`.

use crate::config::Config;
use crate::database;
use anyhow::Context;
use aqueduct_api::{AppState, AuthSettings, Settings};
use aqueduct_core::SystemClock;
use aqueduct_tenant::sessions::SessionPolicy;
use std::net::SocketAddr;
use std::sync::Arc;

/// Runs the HTTP server until SIGINT or SIGTERM, then finishes in-flight
/// requests and exits.
pub async fn run(
    config: &Config,
    listen: Option<SocketAddr>,
    with_worker: bool,
) -> anyhow::Result<()> {
    let db = database::connect(config).await?;
    database::check_role(&db, config).await?;
    config.auth.validate(&config.server.public_url)?;
    let db = with_keys(db, config)?;
    let sealed = aqueduct_tenant::sso::seal_stored_secrets(&db).await?;
    if sealed > 0 {
        tracing::info!(
            rows = sealed,
            "sealed secrets that were stored in the clear"
        );
    }
    let clock: Arc<dyn aqueduct_core::Clock> = Arc::new(SystemClock);
    let (sender, mailer) = crate::worker::mail_from_config(config)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = with_worker.then(|| {
        let mut rx = stop_rx.clone();
        let config = config.clone();
        let (db, clock, sender) = (db.clone(), clock.clone(), sender.clone());
        tokio::spawn(async move {
            crate::worker::run(
                &config,
                db,
                clock,
                sender,
                format!("serve-{}", std::process::id()),
                async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                },
            )
            .await;
        })
    });

    let state = AppState::new(
        db,
        clock,
        Settings {
            public_url: config.server.public_url.clone(),
            tls: config.server.tls_cert.is_some(),
            trusted_proxy: config.server.trusted_proxy,
        },
    )
    .with_auth(
        AuthSettings {
            sessions: SessionPolicy {
                idle: chrono::Duration::minutes(config.auth.session_idle_minutes),
                absolute: chrono::Duration::hours(config.auth.session_absolute_hours),
            },
            dev_insecure_cookie: config.auth.dev_insecure_cookie,
        },
        mailer,
    );
    let state = match &config.auth.oidc {
        Some(oidc) => state.with_sso(oidc.provider()),
        None => state,
    };
    let state = match config.stripe.settings(&config.server.public_url) {
        Some(settings) => state
            .with_stripe(aqueduct_payments::Stripe::new(settings).context("configuring Stripe")?),
        None => state,
    };
    // The authentication cache (PostgreSQL: its listener hears every
    // change at commit; see aqueduct_tenant::auth_cache).
    let state = if config.auth.cache_seconds > 0
        && state.db().backend() == aqueduct_tenant::Backend::Postgres
    {
        let cache = aqueduct_tenant::auth_cache::AuthCache::new(std::time::Duration::from_secs(
            config.auth.cache_seconds,
        ));
        let mut rx = stop_rx.clone();
        tokio::spawn(cache.clone().listen(state.db().clone(), async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }));
        state.with_auth_cache(cache)
    } else {
        state
    };
    let (app, routes) = aqueduct_api::app(state.clone());
    let app = crate::limits::limit_concurrency(app, config.server.max_concurrent_requests);
    if let Some(maddr) = config.server.metrics_listen {
        let listener = tokio::net::TcpListener::bind(maddr)
            .await
            .with_context(|| format!("listening for metrics on {maddr}"))?;
        tracing::info!(address = %listener.local_addr()?, "metrics listening");
        let metrics = aqueduct_api::metrics_app(state);
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, metrics).await {
                tracing::error!(error = %e, "metrics server stopped");
            }
        });
    }
    let addr = listen.unwrap_or(config.server.listen);
    match (&config.server.tls_cert, &config.server.tls_key) {
        (Some(cert), Some(key)) => {
            crate::tls::serve(app, addr, cert, key, routes.len()).await?;
        }
        (None, None) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {addr}"))?;
            let bound = listener.local_addr()?;
            tracing::info!(address = %bound, routes = routes.len(), tls = false, "listening");
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("serving")?;
        }
        _ => anyhow::bail!("set both server.tls_cert and server.tls_key, or neither"),
    }
    let _ = stop_tx.send(true);
    if let Some(w) = worker {
        let _ = w.await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// The database handle with the configured keys: the sealing key for
/// secrets read back (TOTP keys, SSO client secrets) and the link key for
/// signed email links (`notify.link_key`, else derived from
/// `auth.totp_key`).
pub fn with_keys(db: aqueduct_tenant::Db, config: &Config) -> anyhow::Result<aqueduct_tenant::Db> {
    use aqueduct_tenant::links::{LinkKey, Links};
    let db = match &config.auth.totp_key {
        Some(k) => db.with_seal_key(
            aqueduct_tenant::sealed::SealKey::parse(k.expose())
                .map_err(|e| anyhow::anyhow!("auth.totp_key: {e}"))?,
        ),
        None => {
            tracing::warn!(
                "auth.totp_key is not set: TOTP keys and SSO client secrets are stored unsealed"
            );
            db
        }
    };
    let key = match (&config.notify.link_key, &config.auth.totp_key) {
        (Some(k), _) => {
            Some(LinkKey::parse(k.expose()).map_err(|e| anyhow::anyhow!("notify.link_key: {e}"))?)
        }
        (None, Some(t)) => Some(
            LinkKey::derive(t.expose(), "aqueduct email links v1")
                .map_err(|e| anyhow::anyhow!("auth.totp_key: {e}"))?,
        ),
        (None, None) => {
            tracing::warn!(
                "neither notify.link_key nor auth.totp_key is set: mails carry no unsubscribe link"
            );
            None
        }
    };
    Ok(match key {
        Some(k) => db.with_links(Links::new(&config.server.public_url, k)),
        None => db,
    })
}

/// Runs only the job worker until SIGINT/SIGTERM.
pub async fn run_worker(config: &Config) -> anyhow::Result<()> {
    let db = database::connect(config).await?;
    database::check_role(&db, config).await?;
    let db = with_keys(db, config)?;
    tracing::info!("worker started");
    let clock: Arc<dyn aqueduct_core::Clock> = Arc::new(SystemClock);
    let (sender, _) = crate::worker::mail_from_config(config)?;
    crate::worker::run(
        config,
        db,
        clock,
        sender,
        format!("worker-{}", std::process::id()),
        shutdown_signal(),
    )
    .await;
    Ok(())
}

pub(crate) async fn shutdown_signal() {
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
