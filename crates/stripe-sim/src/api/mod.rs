//! The router: `/v1` (Stripe's API), the hosted pages, and `/_sim` control routes.

pub(crate) mod accounts;
pub(crate) mod checkout;
mod money;
mod payments;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;

use crate::ctx::{Ctx, guard};
use crate::error::ApiError;
use crate::store::{Store, paginate};
use crate::{Shared, control, pages};

/// Every route the sim serves.
pub fn router(shared: Arc<Shared>) -> Router {
    let v1 = Router::new()
        .route("/accounts", post(accounts::create).get(accounts::list))
        .route(
            "/accounts/{id}",
            get(accounts::retrieve).post(accounts::update),
        )
        .route("/accounts/{id}/login_links", post(accounts::login_link))
        .route("/account", get(accounts::retrieve_own))
        .route("/account_links", post(accounts::account_link))
        .route(
            "/customers",
            post(payments::create_customer).get(payments::list_customers),
        )
        .route(
            "/customers/{id}",
            get(payments::retrieve_customer).post(payments::update_customer),
        )
        .route(
            "/customers/{id}/payment_methods",
            get(payments::customer_payment_methods),
        )
        .route("/payment_methods", get(payments::list_payment_methods))
        .route(
            "/payment_methods/{id}",
            get(payments::retrieve_payment_method),
        )
        .route(
            "/payment_methods/{id}/detach",
            post(payments::detach_payment_method),
        )
        .route("/setup_intents/{id}", get(payments::retrieve_setup_intent))
        .route(
            "/payment_intents",
            post(payments::create_intent).get(payments::list_intents),
        )
        .route(
            "/payment_intents/{id}",
            get(payments::retrieve_intent).post(payments::update_intent),
        )
        .route(
            "/payment_intents/{id}/confirm",
            post(payments::confirm_intent),
        )
        .route(
            "/payment_intents/{id}/cancel",
            post(payments::cancel_intent),
        )
        .route("/charges", get(money::list_charges))
        .route("/charges/{id}", get(money::retrieve_charge))
        .route(
            "/refunds",
            post(money::create_refund).get(money::list_refunds),
        )
        .route("/refunds/{id}", get(money::retrieve_refund))
        .route("/disputes", get(money::list_disputes))
        .route("/disputes/{id}", get(money::retrieve_dispute))
        .route("/payouts", get(money::list_payouts))
        .route("/payouts/{id}", get(money::retrieve_payout))
        .route("/balance", get(money::balance))
        .route(
            "/balance_transactions",
            get(money::list_balance_transactions),
        )
        .route(
            "/balance_transactions/{id}",
            get(money::retrieve_balance_transaction),
        )
        .route("/events", get(money::list_events))
        .route("/events/{id}", get(money::retrieve_event))
        .route(
            "/checkout/sessions",
            post(checkout::create).get(checkout::list),
        )
        .route("/checkout/sessions/{id}", get(checkout::retrieve))
        .route("/checkout/sessions/{id}/expire", post(checkout::expire))
        .fallback(unknown)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            guard,
        ));
    Router::new()
        .nest("/v1", v1)
        .merge(pages::router())
        .nest("/_sim", control::router())
        .with_state(shared)
}

async fn unknown(req: Request) -> Response {
    ApiError {
        status: StatusCode::NOT_FOUND,
        ..ApiError::invalid(
            None,
            format!(
                "Unrecognized request URL ({}: {}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/. (This is aqueduct-stripe-sim: the route is not simulated.)",
                req.method(),
                req.uri().path()
            ),
            None,
        )
    }
    .into_response()
}

/// Retrieves one object of a kind for the request's account, with `expand[]`.
pub fn retrieve(
    shared: &Shared,
    ctx: &Ctx,
    object: &str,
    id: &str,
    noun: &str,
    param: &str,
) -> Result<axum::Json<Value>, ApiError> {
    shared.with_store(|s| {
        let mut v = s.get(ctx.owner(), object, id, noun, param)?;
        s.expand(&mut v, &ctx.expand());
        Ok(axum::Json(v))
    })
}

/// Lists a kind for the request's account, filtered, paged and expanded.
pub fn list(
    shared: &Shared,
    ctx: &Ctx,
    object: &str,
    url: &str,
    filter: impl Fn(&Store, &Value) -> bool,
) -> Result<axum::Json<Value>, ApiError> {
    shared.with_store(|s| {
        let items: Vec<Value> = s
            .all(ctx.owner(), object)
            .into_iter()
            .filter(|v| filter(s, v))
            .collect();
        let mut page = paginate(items, &ctx.params, url)?;
        s.expand(&mut page, &ctx.expand());
        Ok(axum::Json(page))
    })
}

/// `true` when the filter parameter `key` is absent or equals the object's `field`.
pub fn matches(ctx: &Ctx, key: &str, v: &Value, field: &str) -> bool {
    ctx.str(key).is_none_or(|want| v[field] == want.as_str())
}
