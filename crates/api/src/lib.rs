#![doc = include_str!("../README.md")]

mod assets;
mod audit_view;
mod auth;
mod branding;
mod customer;
mod customer_auth;
mod customer_pages;
mod error;
mod health;
mod i18n;
pub mod metrics;
mod middleware;
mod openapi;
mod operator;
mod operator_status;
mod pages;
mod payments;
mod portal;
mod privacy;
mod registry;
mod resources;
mod second_factor;
mod session;
mod signin;
mod signin_pages;
mod signup;
mod sso;
mod state;
mod web;
mod workspace;

pub use aqueduct_tenant::sso::ProviderSettings as SsoProvider;
pub use auth::{Caller, Operator};
pub use customer_auth::Customer;
pub use error::ApiError;
pub use registry::{RouteAccess, RouteSpec};
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
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
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
    let routes = customer::routes(routes);
    let routes = customer_pages::routes(routes);
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
