//! Every route is added through [`Routes`], which records who may call it.
//! The recorded table drives the tenant-scoped permission check (one place,
//! not one per handler) and the generated cross-tenant test.

use crate::auth;
use crate::state::AppState;
use aqueduct_tenant::Role;
use axum::Router;
use axum::http::Method;
use axum::routing::MethodRouter;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteAccess {
    /// Anyone, no credentials (health, public pages).
    Public,
    /// Staff or an API key of the association, with at least this role.
    Tenant(Role),
    /// A signed-in platform operator (second factor done); never an API key.
    Operator,
    /// A signed-in customer of the association; every `{account_id}`,
    /// `{bill_id}` and `{payment_id}` in the path must belong to an account
    /// linked to that login (else 404, audited). Never an API key.
    Customer,
}

/// One route in the table.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: Method,
    /// Path template in axum syntax, e.g. `/api/v1/accounts/{account_id}`.
    pub path: &'static str,
    /// Who may call it.
    pub access: RouteAccess,
}

impl RouteSpec {
    /// Names of the path parameters, e.g. `["account_id"]`.
    pub fn params(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect()
    }
}

/// Router under construction plus its route table.
pub(crate) struct Routes {
    public: Router<AppState>,
    tenant: Router<AppState>,
    operator: Router<AppState>,
    customer: Router<AppState>,
    specs: Vec<RouteSpec>,
}

impl Routes {
    pub(crate) fn new() -> Self {
        Self {
            public: Router::new(),
            tenant: Router::new(),
            operator: Router::new(),
            customer: Router::new(),
            specs: Vec::new(),
        }
    }

    /// A route anyone may call.
    pub(crate) fn public(
        mut self,
        method: Method,
        path: &'static str,
        handler: MethodRouter<AppState>,
    ) -> Self {
        self.specs.push(RouteSpec {
            method,
            path,
            access: RouteAccess::Public,
        });
        self.public = self.public.route(path, handler);
        self
    }

    /// A route for callers of one association with at least `role`.
    pub(crate) fn tenant(
        mut self,
        method: Method,
        path: &'static str,
        role: Role,
        handler: MethodRouter<AppState>,
    ) -> Self {
        self.specs.push(RouteSpec {
            method,
            path,
            access: RouteAccess::Tenant(role),
        });
        let guarded = handler.layer(axum::middleware::from_fn(move |req, next| {
            auth::require_role(role, req, next)
        }));
        self.tenant = self.tenant.route(path, guarded);
        self
    }

    /// A route for platform operators only.
    pub(crate) fn operator(
        mut self,
        method: Method,
        path: &'static str,
        handler: MethodRouter<AppState>,
    ) -> Self {
        self.specs.push(RouteSpec {
            method,
            path,
            access: RouteAccess::Operator,
        });
        self.operator = self.operator.route(path, handler);
        self
    }

    /// A route for a signed-in customer, reaching only their own accounts.
    pub(crate) fn customer(
        mut self,
        method: Method,
        path: &'static str,
        handler: MethodRouter<AppState>,
    ) -> Self {
        self.specs.push(RouteSpec {
            method,
            path,
            access: RouteAccess::Customer,
        });
        self.customer = self.customer.route(path, handler);
        self
    }

    pub(crate) fn finish(self, state: AppState) -> (Router, Vec<RouteSpec>) {
        let tenant = self
            .tenant
            .route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                auth::authenticate,
            ));
        let operator = self
            .operator
            .route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                auth::require_operator,
            ));
        let customer = self
            .customer
            .route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                crate::customer_auth::require_customer,
            ));
        let router = self
            .public
            .merge(tenant)
            .merge(operator)
            .merge(customer)
            .with_state(state);
        (router, self.specs)
    }
}
