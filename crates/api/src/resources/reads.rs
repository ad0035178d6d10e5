//! Meter reads: a batch endpoint for meter-reading systems and the read
//! history of a meter.

use super::parse_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_billing::reads::{self, NewRead, ReadSource, ReadWithUse, Recorded};
use aqueduct_billing::{BillingError, meters};
use aqueduct_core::MeterId;
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

/// Most reads accepted in one request.
const MAX_BATCH: usize = 5000;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::POST,
        "/api/v1/reads",
        Role::Clerk,
        post(create_batch),
    )
    .tenant(
        Method::GET,
        "/api/v1/meters/{meter_id}/reads",
        Role::Viewer,
        get(for_meter),
    )
}

/// One read in a batch: the meter by id or by serial.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadDto {
    meter_id: Option<String>,
    meter_serial: Option<String>,
    read_on: chrono::NaiveDate,
    value: i64,
    #[serde(default)]
    estimated: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    reads: Vec<ReadDto>,
}

#[derive(Serialize)]
struct ItemResult {
    index: usize,
    #[serde(flatten)]
    outcome: Outcome,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Outcome {
    Recorded(Recorded),
    Error {
        status: &'static str,
        reason: String,
    },
}

#[derive(Serialize, Default)]
struct BatchReport {
    created: usize,
    duplicates: usize,
    conflicts: usize,
    errors: usize,
    results: Vec<ItemResult>,
}

async fn create_batch(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<Batch>,
) -> Result<Json<BatchReport>, ApiError> {
    if body.reads.is_empty() || body.reads.len() > MAX_BATCH {
        return Err(ApiError::Invalid(format!(
            "send 1 to {MAX_BATCH} reads per request"
        )));
    }
    let tx = state.db().tenant(&caller.tenant).await?;
    let mut report = BatchReport::default();
    for (index, item) in body.reads.into_iter().enumerate() {
        let meter = match (&item.meter_id, &item.meter_serial) {
            (Some(id), None) => match id.parse::<MeterId>() {
                Ok(id) => match meters::get(&tx, id).await {
                    Ok(m) => Some(m),
                    Err(BillingError::NotFound) => None,
                    Err(e) => return Err(e.into()),
                },
                Err(_) => None,
            },
            (None, Some(serial)) => meters::by_serial(&tx, serial).await?,
            _ => {
                report.errors += 1;
                report.results.push(ItemResult {
                    index,
                    outcome: Outcome::Error {
                        status: "error",
                        reason: "give exactly one of meter_id and meter_serial".into(),
                    },
                });
                continue;
            }
        };
        let Some(meter) = meter else {
            report.errors += 1;
            report.results.push(ItemResult {
                index,
                outcome: Outcome::Error {
                    status: "error",
                    reason: "unknown meter".into(),
                },
            });
            continue;
        };
        let read = NewRead {
            read_on: item.read_on,
            value: item.value,
            estimated: item.estimated,
            source: ReadSource::Api,
        };
        let outcome = match reads::record(&tx, state.clock(), &meter, read).await {
            Ok(r) => {
                match r {
                    Recorded::Created { .. } => report.created += 1,
                    Recorded::Duplicate { .. } => report.duplicates += 1,
                    Recorded::Conflict { .. } => report.conflicts += 1,
                }
                Outcome::Recorded(r)
            }
            Err(BillingError::Invalid(reason)) => {
                report.errors += 1;
                Outcome::Error {
                    status: "error",
                    reason,
                }
            }
            Err(e) => return Err(e.into()),
        };
        report.results.push(ItemResult { index, outcome });
    }
    tx.commit().await?;
    Ok(Json(report))
}

async fn for_meter(
    State(state): State<AppState>,
    caller: Caller,
    Path(meter_id): Path<String>,
) -> Result<Json<Vec<ReadWithUse>>, ApiError> {
    let id = parse_id(&meter_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let list = reads::for_meter(&tx, id).await?;
    tx.commit().await?;
    Ok(Json(list))
}
