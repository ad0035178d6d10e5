//! CSV imports of meter reads, and saved column mappings.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_billing::customer_imports::{self, CustomerImportReport, CustomerMapping};
use aqueduct_billing::imports::{self, ImportOptions, ImportReport, ReadMapping};
use aqueduct_billing::mappings;
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::POST,
        "/api/v1/imports/reads",
        Role::Clerk,
        post(import_reads),
    )
    .tenant(
        Method::GET,
        "/api/v1/import-mappings",
        Role::Viewer,
        get(list_mappings),
    )
    .tenant(
        Method::POST,
        "/api/v1/import-mappings",
        Role::Clerk,
        post(save_mapping),
    )
    .tenant(
        Method::POST,
        "/api/v1/imports/customers",
        Role::Clerk,
        post(import_customers),
    )
    .tenant(
        Method::GET,
        "/api/v1/import-mappings/customers",
        Role::Viewer,
        get(list_customer_mappings),
    )
    .tenant(
        Method::POST,
        "/api/v1/import-mappings/customers",
        Role::Clerk,
        post(save_customer_mapping),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportParams {
    /// A preset (`aqueduct`, `badger_beacon`) or a saved mapping's name.
    mapping: Option<String>,
    /// Flag use above this many times the meter's average (default: the
    /// association's `high_usage_factor`, 3 unless set).
    high_use_factor: Option<i64>,
}

/// `POST /api/v1/imports/reads?mapping=badger_beacon` with the CSV file as
/// the body (`text/csv`). Answers 200 with the line-by-line report, even
/// when some rows were rejected.
async fn import_reads(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ImportParams>,
    body: Bytes,
) -> Result<Json<ImportReport>, ApiError> {
    if body.is_empty() {
        return Err(ApiError::Invalid("send the CSV file as the body".into()));
    }
    let tx = state.db().tenant(&caller.tenant).await?;
    let stored = aqueduct_notify::prefs::settings(&tx).await?;
    let options = ImportOptions {
        high_use_factor: p
            .high_use_factor
            .unwrap_or_else(|| aqueduct_notify::prefs::high_usage_factor(stored.as_ref()))
            .clamp(2, 100),
    };
    let mapping = mappings::reads_by_name(&tx, p.mapping.as_deref().unwrap_or("aqueduct")).await?;
    let report = imports::import_reads(&tx, state.clock(), &body, &mapping, &options).await?;
    tx.commit().await?;
    tracing::info!(
        rows = report.rows,
        imported = report.imported,
        errors = report.errors.len(),
        "reads imported"
    );
    Ok(Json(report))
}

#[derive(Serialize)]
struct MappingDto {
    name: String,
    preset: bool,
    mapping: ReadMapping,
}

async fn list_mappings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<MappingDto>>, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let saved = mappings::list_reads(&tx).await?;
    tx.commit().await?;
    let mut out: Vec<MappingDto> = ["aqueduct", "badger_beacon"]
        .into_iter()
        .filter_map(|n| {
            ReadMapping::preset(n).map(|mapping| MappingDto {
                name: n.into(),
                preset: true,
                mapping,
            })
        })
        .collect();
    for m in saved {
        let mapping = serde_json::from_str(&m.mapping)
            .map_err(|e| ApiError::Internal(format!("stored mapping {}: {e}", m.id)))?;
        out.push(MappingDto {
            name: m.name,
            preset: false,
            mapping,
        });
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveMapping {
    name: String,
    mapping: ReadMapping,
}

async fn save_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<SaveMapping>,
) -> Result<(StatusCode, Json<MappingDto>), ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    let saved = mappings::save_reads(&tx, state.clock(), &body.name, &body.mapping).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(MappingDto {
            name: saved.name,
            preset: false,
            mapping: body.mapping,
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerImportParams {
    /// `aqueduct` (the default) or a saved customers mapping's name.
    mapping: Option<String>,
}

/// `POST /api/v1/imports/customers?mapping=…` with the CSV file as the body
/// (`text/csv`): accounts, service locations and meters, one row per
/// account and meter. Answers 200 with the line-by-line report.
async fn import_customers(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<CustomerImportParams>,
    body: Bytes,
) -> Result<Json<CustomerImportReport>, ApiError> {
    if body.is_empty() {
        return Err(ApiError::Invalid("send the CSV file as the body".into()));
    }
    let tx = state.db().tenant(&caller.tenant).await?;
    let mapping =
        mappings::customers_by_name(&tx, p.mapping.as_deref().unwrap_or("aqueduct")).await?;
    let report = customer_imports::import_customers(&tx, state.clock(), &body, &mapping).await?;
    tx.commit().await?;
    tracing::info!(
        rows = report.rows,
        accounts = report.accounts_created,
        meters = report.meters_created,
        errors = report.errors.len(),
        "customers imported"
    );
    Ok(Json(report))
}

#[derive(Serialize)]
struct CustomerMappingDto {
    name: String,
    preset: bool,
    mapping: CustomerMapping,
}

async fn list_customer_mappings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<CustomerMappingDto>>, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let saved = mappings::list_customers(&tx).await?;
    tx.commit().await?;
    let mut out = vec![CustomerMappingDto {
        name: "aqueduct".into(),
        preset: true,
        mapping: CustomerMapping::aqueduct(),
    }];
    for m in saved {
        let mapping = serde_json::from_str(&m.mapping)
            .map_err(|e| ApiError::Internal(format!("stored mapping {}: {e}", m.id)))?;
        out.push(CustomerMappingDto {
            name: m.name,
            preset: false,
            mapping,
        });
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveCustomerMapping {
    name: String,
    mapping: CustomerMapping,
}

async fn save_customer_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<SaveCustomerMapping>,
) -> Result<(StatusCode, Json<CustomerMappingDto>), ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    let saved = mappings::save_customers(&tx, state.clock(), &body.name, &body.mapping).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(CustomerMappingDto {
            name: saved.name,
            preset: false,
            mapping: body.mapping,
        }),
    ))
}
