//! The OpenAPI 3.1 document at `GET /api/openapi.json`, generated from the
//! route table: every `/api/…` route with its method, path parameters and
//! who may call it (security scheme plus `x-aqueduct-access`). Request and
//! answer shapes are described in `docs/api.md`.

use crate::registry::{RouteAccess, RouteSpec};
use serde_json::{Map, Value, json};

/// Path of the document.
pub const PATH: &str = "/api/openapi.json";

fn access_name(a: RouteAccess) -> String {
    match a {
        RouteAccess::Public => "public".into(),
        RouteAccess::Tenant(role) => format!("tenant:{}", role.as_str()),
        RouteAccess::Operator => "operator".into(),
        RouteAccess::Customer => "customer".into(),
    }
}

fn operation(spec: &RouteSpec) -> Value {
    let params: Vec<Value> = spec
        .params()
        .into_iter()
        .map(|p| {
            json!({
                "name": p,
                "in": "path",
                "required": true,
                "schema": { "type": "string" },
            })
        })
        .collect();
    let security = match spec.access {
        RouteAccess::Public => json!([]),
        RouteAccess::Tenant(_) => json!([{ "apiKey": [] }, { "session": [] }]),
        RouteAccess::Operator | RouteAccess::Customer => json!([{ "session": [] }]),
    };
    let op_id = format!(
        "{}{}",
        spec.method.as_str().to_lowercase(),
        spec.path
            .split(['/', '-', '{', '}'])
            .filter(|s| !s.is_empty())
            .map(|s| {
                let mut c = s.chars();
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            })
            .collect::<String>()
    );
    let mut responses = Map::new();
    responses.insert(
        "default".into(),
        json!({ "description": "See docs/api.md; errors use {error: {code, message, request_id}}." }),
    );
    json!({
        "operationId": op_id,
        "parameters": params,
        "security": security,
        "x-aqueduct-access": access_name(spec.access),
        "responses": responses,
    })
}

/// The document for `specs` (routes outside `/api/` are left out).
pub fn document(specs: &[RouteSpec]) -> Value {
    let mut paths = Map::new();
    for spec in specs.iter().filter(|s| s.path.starts_with("/api/")) {
        let entry = paths
            .entry(spec.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(spec.method.as_str().to_lowercase(), operation(spec));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Aqueduct API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Billing and online payments for small water associations. Shapes and error codes: docs/api.md.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A per-association API key (admins create them); carries a role.",
                },
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": crate::session::COOKIE,
                    "description": "A signed-in person's session; state-changing requests also need X-CSRF-Token.",
                },
            },
        },
    })
}
