#![doc = include_str!("../README.md")]

mod account_forms;
mod assets;
mod audit_view;
mod auth;
mod branding;
mod customer;
mod customer_auth;
mod customer_pages;
mod deposit_refunds;
mod error;
mod health;
mod i18n;
pub mod metrics;
mod middleware;
mod multipart;
mod notification_pages;
mod openapi;
mod operator;
mod operator_status;
mod ops_pages;
mod pages;
mod payments;
mod portal;
mod privacy;
mod rates_pages;
mod reads_pages;
mod registry;
mod reports_pages;
mod resources;
mod second_factor;
mod session;
mod settings_pages;
mod setup;
mod signin;
mod signin_pages;
mod signup;
mod signup_page;
mod sso;
mod staff_pages;
mod state;
mod unsubscribe;
mod web;
mod workspace;

pub use aqueduct_tenant::sso::ProviderSettings as SsoProvider;
pub use auth::{Caller, Operator};
pub use customer_auth::Customer;
pub use error::ApiError;
pub use middleware::{REQUEST_TIMEOUT, with_request_timeout};
pub use registry::{RouteAccess, RouteSpec};
pub use resources::BillPdfAttachments;
pub use session::{COOKIE, CSRF_HEADER, DEV_COOKIE};
pub use sso::CALLBACK_PATH as SSO_CALLBACK_PATH;
pub use state::{AppState, AuthSettings, Settings};

use axum::Router;

/// The metrics application (serve it on a private address): Prometheus
/// text at `GET /metrics`.
pub fn metrics_app(state: AppState) -> Router {
    use axum::routing::get;
    Router::new()
        .route("/metrics", get(metrics_handler))
        .with_state(state)
}

async fn metrics_handler(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    let mut out = String::new();
    state.http_metrics().render(&mut out);
    let (size, idle) = state.db().pool_usage();
    metrics::gauge(
        &mut out,
        "aqueduct_db_pool_connections",
        "Open database connections.",
        i64::from(size),
    );
    metrics::gauge(
        &mut out,
        "aqueduct_db_pool_idle_connections",
        "Idle database connections.",
        i64::try_from(idle).unwrap_or(i64::MAX),
    );
    if let Some(cache) = state.auth_cache() {
        let s = cache.stats();
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        metrics::counter(
            &mut out,
            "aqueduct_auth_cache_hits_total",
            "Sessions, associations and roles answered from memory.",
            n(s.hits),
        );
        metrics::counter(
            &mut out,
            "aqueduct_auth_cache_misses_total",
            "Sessions, associations and roles read from the database.",
            n(s.misses),
        );
        metrics::counter(
            &mut out,
            "aqueduct_auth_cache_notifications_total",
            "Change notifications received from the database.",
            n(s.notifications),
        );
        metrics::gauge(
            &mut out,
            "aqueduct_auth_cache_live",
            "1 while the cache listens for changes and serves; 0 otherwise.",
            i64::from(s.live),
        );
    }
    match aqueduct_jobs::stats(state.db(), state.clock()).await {
        Ok(s) => {
            metrics::gauge(&mut out, "aqueduct_jobs_queued", "Jobs waiting.", s.queued);
            metrics::gauge(
                &mut out,
                "aqueduct_jobs_running",
                "Jobs claimed by a worker.",
                s.running,
            );
            metrics::gauge(&mut out, "aqueduct_jobs_dead", "Jobs that gave up.", s.dead);
            metrics::gauge(
                &mut out,
                "aqueduct_jobs_oldest_due_age_seconds",
                "Age of the oldest due job.",
                s.oldest_due_age_secs,
            );
        }
        Err(e) => tracing::warn!(error = %e, "job statistics unavailable for metrics"),
    }
    match aqueduct_jobs::stats_by_kind(state.db(), state.clock()).await {
        Ok(kinds) => kind_metrics(&mut out, &kinds, state.clock().now()),
        Err(e) => tracing::warn!(error = %e, "job statistics unavailable for metrics"),
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
}

/// Per-kind queue gauges, and the two an operator alerts on by name: the
/// webhook lag (oldest unprocessed Stripe event) and the backup age.
fn kind_metrics(
    out: &mut String,
    kinds: &[aqueduct_jobs::KindStats],
    now: chrono::DateTime<chrono::Utc>,
) {
    let pick = |f: fn(&aqueduct_jobs::KindStats) -> i64| -> Vec<(&str, i64)> {
        kinds.iter().map(|k| (k.kind.as_str(), f(k))).collect()
    };
    metrics::labelled_gauge(
        out,
        "aqueduct_job_kind_queued",
        "Jobs waiting, by kind.",
        "kind",
        &pick(|k| k.queued),
    );
    metrics::labelled_gauge(
        out,
        "aqueduct_job_kind_dead",
        "Jobs that gave up, by kind.",
        "kind",
        &pick(|k| k.dead),
    );
    metrics::labelled_gauge(
        out,
        "aqueduct_job_kind_oldest_due_age_seconds",
        "Age of the oldest due job, by kind.",
        "kind",
        &pick(|k| k.oldest_due_age_secs),
    );
    let lag = kinds
        .iter()
        .find(|k| k.kind == aqueduct_payments::EVENT_JOB)
        .map_or(0, |k| k.oldest_due_age_secs);
    metrics::gauge(
        out,
        "aqueduct_webhook_lag_seconds",
        "Age of the oldest received Stripe event not yet processed.",
        lag,
    );
    // -1 until a backup has succeeded, so "never" is not mistaken for "just now".
    let backup_age = kinds
        .iter()
        .find(|k| k.kind == metrics::BACKUP_JOB)
        .and_then(|k| k.last_done_at)
        .map_or(-1, |t| (now - t).num_seconds().max(0));
    metrics::gauge(
        out,
        "aqueduct_backup_last_success_age_seconds",
        "Seconds since the last successful scheduled backup (-1: none yet).",
        backup_age,
    );
}

/// The whole HTTP application and the table of every route it serves
/// (the cross-tenant test walks that table).
pub fn app(state: AppState) -> (Router, Vec<RouteSpec>) {
    let routes = registry::Routes::new();
    let routes = health::routes(routes);
    let routes = resources::routes(routes);
    let routes = pages::routes(routes);
    let routes = signin::routes(routes);
    let routes = signin_pages::routes(routes);
    let routes = second_factor::routes(routes);
    let routes = operator::routes(routes);
    let routes = payments::routes(routes);
    let routes = signup::routes(routes);
    let routes = operator_status::routes(routes);
    let routes = privacy::routes(routes);
    let routes = assets::routes(routes);
    let routes = branding::routes(routes);
    let routes = portal::routes(routes);
    let routes = workspace::routes(routes);
    let routes = sso::routes(routes);
    let routes = audit_view::routes(routes);
    let routes = setup::routes(routes);
    let routes = signup_page::routes(routes);
    let routes = settings_pages::routes(routes);
    let routes = ops_pages::routes(routes);
    let routes = rates_pages::routes(routes);
    let routes = reads_pages::routes(routes);
    let routes = reports_pages::routes(routes);
    let routes = unsubscribe::routes(routes);
    let routes = customer::routes(routes);
    let routes = customer_pages::routes(routes);
    let routes = staff_pages::routes(routes);
    let routes = notification_pages::routes(routes);
    let routes = account_forms::routes(routes);
    let routes = deposit_refunds::routes(routes);
    let (router, mut specs) = routes.finish(state.clone());
    specs.push(RouteSpec {
        method: axum::http::Method::GET,
        path: openapi::PATH,
        access: RouteAccess::Public,
    });
    let doc = std::sync::Arc::new(openapi::document(&specs));
    let router = router.route(
        openapi::PATH,
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc.as_ref().clone()) }
        }),
    );
    let router = router.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        session::layer,
    ));
    let router = router.layer(axum::middleware::from_fn(i18n::remember));
    (middleware::wrap(router, state), specs)
}
