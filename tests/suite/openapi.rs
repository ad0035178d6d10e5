//! The OpenAPI document lists every registered API route with its method,
//! path parameters and who may call it.

use crate::db_test;
use crate::support::TestApp;
use aqueduct_api::RouteAccess;

db_test!(openapi_lists_every_registered_api_route, |db| {
    let app = TestApp::new(db).await;
    let res = app
        .request(http::Method::GET, "/api/openapi.json", None, None)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let doc = res.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let api: Vec<_> = app
        .routes
        .iter()
        .filter(|r| r.path.starts_with("/api/v1"))
        .collect();
    assert!(api.len() > 20, "only {} API routes?", api.len());
    for spec in api {
        let op = &doc["paths"][spec.path][spec.method.as_str().to_lowercase()];
        assert!(op.is_object(), "{} {} missing", spec.method, spec.path);
        let names: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, spec.params(), "{}", spec.path);
        let security = op["security"].to_string();
        match spec.access {
            RouteAccess::Public => {
                assert_eq!(op["x-aqueduct-access"], "public");
                assert_eq!(security, "[]");
            }
            RouteAccess::Tenant(role) => {
                assert_eq!(op["x-aqueduct-access"], format!("tenant:{role}"));
                assert!(security.contains("apiKey") && security.contains("session"));
            }
            RouteAccess::Operator => {
                assert_eq!(op["x-aqueduct-access"], "operator");
                assert!(security.contains("session") && !security.contains("apiKey"));
            }
            RouteAccess::Customer => {
                assert_eq!(op["x-aqueduct-access"], "customer");
                assert!(security.contains("session") && !security.contains("apiKey"));
            }
        }
    }
    // Pages are not API routes.
    assert!(doc["paths"]["/login"].is_null());
    assert!(doc["components"]["securitySchemes"]["apiKey"].is_object());
});
