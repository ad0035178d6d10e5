//! Move-out, move-in, transfer, deposits, meter change-out, occupancy
//! history and the estimated-read rule.
//!
//! Every write looks up the ids of its path before it reads its body, so
//! another association's id answers 404 whatever the body says.

use super::accounts::{AccountDto, CreateAccount};
use super::bill_runs::{BillDto, bill_dto};
use super::ledger::EntryDto;
use super::meters::MeterDto;
use super::parse_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_billing::accounts::{self, AccountNumber, NewAccount};
use aqueduct_billing::bills::EstimateRule;
use aqueduct_billing::entity::account_closure;
use aqueduct_billing::lifecycle::{
    self, ChangeOut, Closed, DepositView, MoveIn, MoveOut, Occupant, Transfer,
};
use aqueduct_billing::{estimates, ledger, locations, meters, rates};
use aqueduct_core::{AccountId, LocationId, MeterId, RateScheduleId};
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{get, post, put};
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::POST,
        "/api/v1/accounts/{account_id}/move-out",
        Role::Clerk,
        post(move_out),
    )
    .tenant(
        Method::POST,
        "/api/v1/locations/{location_id}/move-in",
        Role::Clerk,
        post(move_in),
    )
    .tenant(
        Method::POST,
        "/api/v1/accounts/{account_id}/transfer",
        Role::Clerk,
        post(transfer),
    )
    .tenant(
        Method::POST,
        "/api/v1/meters/{meter_id}/change-out",
        Role::Clerk,
        post(change_out),
    )
    .tenant(
        Method::GET,
        "/api/v1/accounts/{account_id}/deposits",
        Role::Viewer,
        get(deposits),
    )
    .tenant(
        Method::POST,
        "/api/v1/accounts/{account_id}/deposits",
        Role::Clerk,
        post(add_deposit),
    )
    .tenant(
        Method::GET,
        "/api/v1/locations/{location_id}/occupancies",
        Role::Viewer,
        get(occupancies),
    )
    .tenant(
        Method::GET,
        "/api/v1/estimate-settings",
        Role::Viewer,
        get(show_estimates),
    )
    .tenant(
        Method::PUT,
        "/api/v1/estimate-settings",
        Role::Admin,
        put(set_estimates),
    )
}

fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::Invalid(e.to_string()))
}

/// The body of a move-out (and the `out` part of a transfer).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveOutBody {
    read_on: NaiveDate,
    value: i64,
    meter_id: Option<String>,
    schedule_id: Option<String>,
    due_on: Option<NaiveDate>,
}

fn move_out_req(b: MoveOutBody) -> Result<MoveOut, ApiError> {
    let id = |raw: Option<String>, what: &str| -> Result<Option<uuid::Uuid>, ApiError> {
        raw.map(|s| {
            s.parse::<uuid::Uuid>()
                .map_err(|_| ApiError::Invalid(format!("{what} is not an id")))
        })
        .transpose()
    };
    Ok(MoveOut {
        read_on: b.read_on,
        value: b.value,
        meter: id(b.meter_id, "meter_id")?.map(MeterId::from_uuid),
        schedule: id(b.schedule_id, "schedule_id")?.map(RateScheduleId::from_uuid),
        due_on: b.due_on,
    })
}

#[derive(Serialize)]
struct ClosureDto {
    account_id: String,
    kind: String,
    closed_on: String,
    location_id: String,
    meter_id: String,
    final_value: i64,
    final_bill: Option<BillDto>,
    deposit_applied_cents: i64,
    deposit_refunded_cents: i64,
    transferred_to: Option<String>,
}

fn closure_dto(
    c: account_closure::Model,
    bill: Option<aqueduct_billing::entity::bill::Model>,
) -> ClosureDto {
    ClosureDto {
        account_id: c.account_id.to_string(),
        kind: c.kind,
        closed_on: c.closed_on.to_string(),
        location_id: c.location_id.to_string(),
        meter_id: c.meter_id.to_string(),
        final_value: c.final_value,
        final_bill: bill.map(|b| bill_dto(b, false)),
        deposit_applied_cents: c.deposit_applied_cents,
        deposit_refunded_cents: c.deposit_refunded_cents,
        transferred_to: c.transferred_to.map(|u| u.to_string()),
    }
}

fn created(c: &Closed) -> StatusCode {
    if c.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// Schedules named in a body must be the caller's (404 otherwise, like a
/// path id).
async fn check_schedule(tx: &aqueduct_tenant::TenantTx, req: &MoveOut) -> Result<(), ApiError> {
    if let Some(s) = req.schedule {
        rates::get(tx, s).await?;
    }
    Ok(())
}

/// `POST /api/v1/accounts/{id}/move-out`: 201 with the closure and final
/// bill; the same request again answers 200 with the same bill.
async fn move_out(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<ClosureDto>), ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    accounts::get(&tx, id).await?;
    let req = move_out_req(body(&bytes)?)?;
    check_schedule(&tx, &req).await?;
    let closed = lifecycle::move_out(&tx, state.clock(), id, req).await?;
    tx.commit().await?;
    let status = created(&closed);
    Ok((status, Json(closure_dto(closed.closure, closed.bill))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveInBody {
    /// A new account…
    account: Option<CreateAccount>,
    /// …or an active account served nowhere.
    account_id: Option<String>,
    moved_in_on: NaiveDate,
    read_value: Option<i64>,
    deposit_cents: Option<i64>,
}

#[derive(Serialize)]
struct MoveInDto {
    account: AccountDto,
    location_id: String,
    starts_on: String,
}

async fn move_in(
    State(state): State<AppState>,
    caller: Caller,
    Path(location_id): Path<String>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<MoveInDto>), ApiError> {
    let id: LocationId = parse_id(&location_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    locations::get(&tx, id).await?;
    let b: MoveInBody = body(&bytes)?;
    let occupant = match (b.account, b.account_id) {
        (Some(new), None) => Occupant::New(Box::new(NewAccount::try_from(new)?)),
        (None, Some(raw)) => {
            let a: AccountId = raw
                .parse()
                .map_err(|_| ApiError::Invalid("account_id is not an id".into()))?;
            accounts::get(&tx, a).await?;
            Occupant::Existing(a)
        }
        _ => {
            return Err(ApiError::Invalid(
                "give either account (a new account) or account_id".into(),
            ));
        }
    };
    let (account, occ) = lifecycle::move_in(
        &tx,
        state.clock(),
        id,
        MoveIn {
            occupant,
            on: b.moved_in_on,
            read: b.read_value,
            deposit_cents: b.deposit_cents,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(MoveInDto {
            account: account.into(),
            location_id: occ.location_id.to_string(),
            starts_on: occ.starts_on.to_string(),
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    /// The final read at the old location.
    move_out: MoveOutBody,
    to_location_id: String,
    new_account_number: String,
    moved_in_on: NaiveDate,
    read_value: Option<i64>,
    #[serde(default = "yes")]
    carry_balance: bool,
}

fn yes() -> bool {
    true
}

#[derive(Serialize)]
struct TransferDto {
    closure: ClosureDto,
    account: AccountDto,
}

async fn transfer(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<TransferDto>), ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    accounts::get(&tx, id).await?;
    let b: TransferBody = body(&bytes)?;
    let to: LocationId = b
        .to_location_id
        .parse()
        .map_err(|_| ApiError::Invalid("to_location_id is not an id".into()))?;
    locations::get(&tx, to).await?;
    let out = move_out_req(b.move_out)?;
    check_schedule(&tx, &out).await?;
    let done = lifecycle::transfer(
        &tx,
        state.clock(),
        id,
        Transfer {
            out,
            to,
            new_number: AccountNumber::parse(&b.new_account_number)?,
            on: b.moved_in_on,
            read: b.read_value,
            carry_balance: b.carry_balance,
        },
    )
    .await?;
    tx.commit().await?;
    let status = created(&done.closed);
    Ok((
        status,
        Json(TransferDto {
            closure: closure_dto(done.closed.closure, done.closed.bill),
            account: done.account.into(),
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeOutBody {
    changed_on: NaiveDate,
    old_final_value: i64,
    new_serial: String,
    new_initial_value: i64,
    size: Option<String>,
    unit: Option<String>,
    register_digits: Option<i16>,
    multiplier: Option<i32>,
}

#[derive(Serialize)]
struct ChangeOutDto {
    old_meter_id: String,
    changed_on: String,
    old_final_value: i64,
    new_initial_value: i64,
    new_meter: MeterDto,
}

async fn change_out(
    State(state): State<AppState>,
    caller: Caller,
    Path(meter_id): Path<String>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<ChangeOutDto>), ApiError> {
    let id: MeterId = parse_id(&meter_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    meters::get(&tx, id).await?;
    let b: ChangeOutBody = body(&bytes)?;
    let (change, new, was_new) = lifecycle::change_out(
        &tx,
        state.clock(),
        id,
        ChangeOut {
            on: b.changed_on,
            old_final: b.old_final_value,
            serial: b.new_serial,
            size: b.size,
            unit: b.unit,
            register_digits: b.register_digits,
            multiplier: b.multiplier,
            new_initial: b.new_initial_value,
        },
    )
    .await?;
    tx.commit().await?;
    let status = if was_new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(ChangeOutDto {
            old_meter_id: change.old_meter_id.to_string(),
            changed_on: change.changed_on.to_string(),
            old_final_value: change.old_final_value,
            new_initial_value: change.new_initial_value,
            new_meter: new.into(),
        }),
    ))
}

#[derive(Serialize)]
struct DepositsDto {
    #[serde(flatten)]
    totals: DepositView,
    entries: Vec<EntryDto>,
}

async fn deposits(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<DepositsDto>, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    accounts::get(&tx, id).await?;
    let entries = ledger::for_account(&tx, id).await?;
    tx.commit().await?;
    Ok(Json(DepositsDto {
        totals: lifecycle::deposit_view(&entries),
        entries: lifecycle::deposit_entries(entries)
            .into_iter()
            .map(EntryDto::from)
            .collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DepositBody {
    amount_cents: i64,
    received_on: Option<NaiveDate>,
}

/// `POST /api/v1/accounts/{id}/deposits`: a deposit received. The
/// `Idempotency-Key` header makes a retry post once (without one, each
/// request is a new deposit).
async fn add_deposit(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<(StatusCode, Json<EntryDto>), ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    accounts::get(&tx, id).await?;
    let b: DepositBody = body(&bytes)?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| format!("{id}:{k}"))
        .unwrap_or_else(|| format!("{id}:{}", uuid::Uuid::now_v7()));
    let on = b
        .received_on
        .unwrap_or_else(|| state.clock().now().date_naive());
    let posted = lifecycle::post_deposit(&tx, state.clock(), id, b.amount_cents, on, &key).await?;
    tx.commit().await?;
    let status = if posted.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(posted.entry.into())))
}

#[derive(Serialize)]
struct OccupancyDto {
    account_id: String,
    account_number: String,
    starts_on: String,
    ends_on: Option<String>,
}

async fn occupancies(
    State(state): State<AppState>,
    caller: Caller,
    Path(location_id): Path<String>,
) -> Result<Json<Vec<OccupancyDto>>, ApiError> {
    let id: LocationId = parse_id(&location_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let list = lifecycle::occupancy_history(&tx, id).await?;
    let mut out = Vec::with_capacity(list.len());
    for o in list {
        let a = accounts::get(&tx, AccountId::from_uuid(o.account_id)).await?;
        out.push(OccupancyDto {
            account_id: o.account_id.to_string(),
            account_number: a.account_number,
            starts_on: o.starts_on.to_string(),
            ends_on: o.ends_on.map(|d| d.to_string()),
        });
    }
    tx.commit().await?;
    Ok(Json(out))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EstimateDto {
    /// `average` or `last_year`.
    method: String,
    /// Periods averaged (average only).
    periods: Option<i32>,
}

fn estimate_dto(rule: EstimateRule) -> EstimateDto {
    match rule {
        EstimateRule::Average { periods } => EstimateDto {
            method: "average".into(),
            periods: i32::try_from(periods).ok(),
        },
        EstimateRule::LastYear => EstimateDto {
            method: "last_year".into(),
            periods: None,
        },
    }
}

async fn show_estimates(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<EstimateDto>, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rule = estimates::rule(&tx).await?;
    tx.commit().await?;
    Ok(Json(estimate_dto(rule)))
}

async fn set_estimates(
    State(state): State<AppState>,
    caller: Caller,
    bytes: Bytes,
) -> Result<Json<EstimateDto>, ApiError> {
    let b: EstimateDto = body(&bytes)?;
    let rule = estimates::parse_rule(&b.method, b.periods)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    estimates::set_rule(&tx, state.clock(), rule).await?;
    tx.commit().await?;
    Ok(Json(estimate_dto(rule)))
}
