#![doc = include_str!("../README.md")]

mod auth;
mod error;
mod health;
mod middleware;
mod pages;
mod payments;
mod registry;
mod resources;
mod state;

pub use auth::Caller;
pub use error::ApiError;
pub use registry::{RouteAccess, RouteSpec};
pub use state::{AppState, Settings};

use axum::Router;

/// The whole HTTP application and the table of every route it serves
/// (the cross-tenant test walks that table).
pub fn app(state: AppState) -> (Router, Vec<RouteSpec>) {
    let routes = registry::Routes::new();
    let routes = health::routes(routes);
    let routes = resources::routes(routes);
    let routes = pages::routes(routes);
    let routes = payments::routes(routes);
    let (router, specs) = routes.finish(state.clone());
    (middleware::wrap(router, state), specs)
}
