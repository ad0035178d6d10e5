#![doc = include_str!("../README.md")]

mod auth;
mod error;
mod health;
mod middleware;
mod operator;
mod pages;
mod registry;
mod resources;
mod session;
mod signin;
mod signin_pages;
mod state;

pub use auth::{Caller, Operator};
pub use error::ApiError;
pub use registry::{RouteAccess, RouteSpec};
pub use session::{COOKIE, CSRF_HEADER, DEV_COOKIE};
pub use state::{AppState, AuthSettings, Settings};

use axum::Router;

/// The whole HTTP application and the table of every route it serves
/// (the cross-tenant test walks that table).
pub fn app(state: AppState) -> (Router, Vec<RouteSpec>) {
    let routes = registry::Routes::new();
    let routes = health::routes(routes);
    let routes = resources::routes(routes);
    let routes = pages::routes(routes);
    let routes = signin::routes(routes);
    let routes = signin_pages::routes(routes);
    let routes = operator::routes(routes);
    let (router, specs) = routes.finish(state.clone());
    let router = router.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        session::layer,
    ));
    (middleware::wrap(router, state), specs)
}
