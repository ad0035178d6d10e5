//! Deposit refunds payable (`aqueduct_billing::deposit_refunds`): the list
//! of refunds owed to customers after move-outs, and recording how each
//! was paid — as JSON (`GET /api/v1/deposit-refunds`, `POST
//! /api/v1/deposit-refunds/{refund_id}/payments`) and as the staff page
//! `/app/deposits/refunds`. Clerks and up; every payment is audited.
//!
//! The path id is looked up before the body is read, so another
//! association's refund answers 404 whatever the body says.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::middleware::RequestId;
use crate::registry::Routes;
use crate::resources::parse_id;
use crate::session::CurrentSession;
use crate::state::AppState;
use crate::web;
use crate::workspace::{chrome, csrf_input, form_value, usd};
use aqueduct_billing::deposit_refunds::{self, Disbursement, Listing, Method, Recorded, Refund};
use aqueduct_billing::entity::deposit_refund_payment;
use aqueduct_core::{AccountId, LedgerEntryId};
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::{Access, Role, TenantTx};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method as HttpMethod, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(
        HttpMethod::GET,
        "/api/v1/deposit-refunds",
        Role::Clerk,
        get(list_json),
    )
    .tenant(
        HttpMethod::POST,
        "/api/v1/deposit-refunds/{refund_id}/payments",
        Role::Clerk,
        post(pay_json),
    )
    .tenant(
        HttpMethod::GET,
        "/app/deposits/refunds",
        Role::Clerk,
        get(page),
    )
    .tenant(
        HttpMethod::POST,
        "/app/deposits/refunds/{refund_id}/pay",
        Role::Clerk,
        post(pay_form),
    )
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    done: Option<String>,
}

#[derive(Serialize)]
struct PaymentDto {
    payment_id: String,
    refund_id: String,
    account_id: String,
    ledger_entry_id: String,
    amount_cents: i64,
    method: String,
    check_number: Option<String>,
    reference: Option<String>,
    applied_to_account_id: Option<String>,
    paid_on: String,
    recorded_by: String,
    created_at: String,
}

impl From<deposit_refund_payment::Model> for PaymentDto {
    fn from(p: deposit_refund_payment::Model) -> Self {
        PaymentDto {
            payment_id: p.id.to_string(),
            refund_id: p.refund_entry_id.to_string(),
            account_id: p.account_id.to_string(),
            ledger_entry_id: p.ledger_entry_id.to_string(),
            amount_cents: p.amount_cents,
            method: p.method,
            check_number: p.check_number,
            reference: p.reference,
            applied_to_account_id: p.applied_to_account_id.map(|u| u.to_string()),
            paid_on: p.paid_on.to_string(),
            recorded_by: p.recorded_by,
            created_at: p.created_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize)]
struct RefundDto {
    refund_id: String,
    account_id: String,
    account_number: String,
    holder_name: String,
    account_status: String,
    refunded_on: String,
    refund_cents: i64,
    owed_cents: i64,
    /// `owed`, `paid` (a disbursement recorded) or `settled` (nothing left
    /// owed: later charges on the account used the credit).
    status: &'static str,
    payment: Option<PaymentDto>,
}

fn status_of(r: &Refund) -> &'static str {
    match (&r.payment, r.owed_cents) {
        (Some(_), _) => "paid",
        (None, 0) => "settled",
        (None, _) => "owed",
    }
}

impl From<Refund> for RefundDto {
    fn from(r: Refund) -> Self {
        RefundDto {
            status: status_of(&r),
            refund_id: r.refund_id.to_string(),
            account_id: r.account_id.to_string(),
            account_number: r.account_number,
            holder_name: r.holder_name,
            account_status: r.account_status,
            refunded_on: r.refunded_on.to_string(),
            refund_cents: r.refund_cents,
            owed_cents: r.owed_cents,
            payment: r.payment.map(PaymentDto::from),
        }
    }
}

/// `GET /api/v1/deposit-refunds?status=owed|paid|all` (owed by default).
async fn list_json(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<RefundDto>>, ApiError> {
    let which = Listing::parse(q.status.as_deref())?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let list = deposit_refunds::list(&tx, which).await?;
    tx.commit().await?;
    Ok(Json(list.into_iter().map(RefundDto::from).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayBody {
    /// check | ach | cash | other | applied
    method: String,
    check_number: Option<String>,
    paid_on: NaiveDate,
    amount_cents: Option<i64>,
    reference: Option<String>,
    /// With `applied`: the account whose balance takes the credit.
    to_account_id: Option<String>,
}

/// Records the payment and its audit entry in `tx` (committed by the
/// caller when this succeeds).
async fn record(
    tx: &TenantTx,
    state: &AppState,
    caller: &Caller,
    request_id: Option<String>,
    refund: LedgerEntryId,
    d: Disbursement,
) -> Result<Recorded, ApiError> {
    let method = d.method.as_str();
    let check = match &d.method {
        Method::Check(n) => Some(n.clone()),
        _ => None,
    };
    let done = deposit_refunds::pay(tx, state.clock(), refund, d).await?;
    if done.created {
        audit::record_in(
            tx,
            state.clock(),
            AuditEntry {
                tenant: None,
                actor: caller.actor.clone(),
                action: "deposit_refund.paid".into(),
                target: Some(format!("account:{}", done.payment.account_id)),
                outcome: Outcome::Success,
                request_id,
                ip: None,
                details: Some(serde_json::json!({
                    "refund_id": refund.to_string(),
                    "amount_cents": done.payment.amount_cents,
                    "method": method,
                    "check_number": check,
                    "paid_on": done.payment.paid_on.to_string(),
                })),
            },
        )
        .await?;
    }
    Ok(done)
}

/// `POST /api/v1/deposit-refunds/{refund_id}/payments`: 201 with the
/// payment; the same `Idempotency-Key` (or, without one, the same check
/// number) again answers 200 with the first.
async fn pay_json(
    State(state): State<AppState>,
    caller: Caller,
    request_id: Option<Extension<RequestId>>,
    Path(refund_id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<(StatusCode, Json<PaymentDto>), ApiError> {
    let id: LedgerEntryId = parse_id(&refund_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    deposit_refunds::refund_entry(&tx, id).await?;
    let b: PayBody =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Invalid(e.to_string()))?;
    let to = match b.to_account_id.as_deref() {
        Some(raw) => {
            let a: AccountId = raw
                .parse()
                .map_err(|_| ApiError::Invalid("to_account_id is not an id".into()))?;
            Some(a)
        }
        None => None,
    };
    let d = Disbursement {
        method: Method::parse(&b.method, b.check_number.as_deref(), to)?,
        paid_on: b.paid_on,
        amount_cents: b.amount_cents,
        reference: b.reference,
        key: headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(|k| format!("api:{k}")),
        recorded_by: caller.actor.clone(),
    };
    let done = record(
        &tx,
        &state,
        &caller,
        request_id.map(|Extension(r)| r.0),
        id,
        d,
    )
    .await?;
    tx.commit().await?;
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(done.payment.into())))
}

/// One row of the staff page.
struct Row {
    id: String,
    account_id: String,
    account_number: String,
    holder_name: String,
    account_status: String,
    refunded_on: String,
    refund: String,
    owed: String,
    status: &'static str,
    paid: String,
}

#[derive(Template)]
#[template(path = "app_deposit_refunds.html")]
struct Page {
    page: web::Chrome,
    csrf: String,
    attempt: String,
    today: String,
    status: &'static str,
    rows: Vec<Row>,
    owed_total: String,
    notice: Option<String>,
    error: Option<String>,
}

fn paid_text(p: &deposit_refund_payment::Model) -> String {
    let how = match (p.method.as_str(), &p.check_number) {
        ("check", Some(n)) => format!("check {n}"),
        ("ach", _) => "bank transfer".into(),
        ("applied", _) => "applied to another account".into(),
        (m, _) => m.to_owned(),
    };
    format!("{} by {how} on {}", usd(p.amount_cents), p.paid_on)
}

async fn render(
    state: &AppState,
    caller: &Caller,
    s: Option<&Extension<CurrentSession>>,
    which: Listing,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let list = deposit_refunds::list(&tx, which).await?;
    tx.commit().await?;
    let owed_total: i64 = list.iter().map(|r| r.owed_cents).sum();
    let rows = list
        .into_iter()
        .map(|r| Row {
            status: status_of(&r),
            id: r.refund_id.to_string(),
            account_id: r.account_id.to_string(),
            account_number: r.account_number,
            holder_name: r.holder_name,
            account_status: r.account_status,
            refunded_on: r.refunded_on.to_string(),
            refund: usd(r.refund_cents),
            owed: usd(r.owed_cents),
            paid: r.payment.as_ref().map(paid_text).unwrap_or_default(),
        })
        .collect();
    let status = match which {
        Listing::Owed => "owed",
        Listing::Paid => "paid",
        Listing::All => "all",
    };
    let mut res = web::render(&Page {
        page: chrome(caller, s, "Deposit refunds", "reports"),
        csrf: csrf_input(s),
        attempt: uuid::Uuid::new_v4().simple().to_string(),
        today: state.clock().now().date_naive().to_string(),
        status,
        rows,
        owed_total: usd(owed_total),
        notice,
        error: error.clone(),
    });
    if error.is_some() {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// `GET /app/deposits/refunds`: the refunds owed (or paid, or all), each
/// owed one with a form to record its payment.
async fn page(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let which = Listing::parse(q.status.as_deref())?;
    let notice = (q.done.as_deref() == Some("paid")).then(|| "Payment recorded.".to_owned());
    render(&state, &caller, s.as_ref(), which, notice, None).await
}

/// `POST /app/deposits/refunds/{refund_id}/pay`: records the payment (the
/// form's `attempt` makes a double submit record it once) and returns to
/// the list; a refused payment shows the list again with why.
async fn pay_form(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    request_id: Option<Extension<RequestId>>,
    Path(refund_id): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let id: LedgerEntryId = parse_id(&refund_id)?;
    {
        let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
        deposit_refunds::refund_entry(&tx, id).await?;
        tx.commit().await?;
    }
    let again = |msg: String| render(&state, &caller, s.as_ref(), Listing::Owed, None, Some(msg));
    let attempt = form_value(&body, "attempt").unwrap_or_default();
    if attempt.len() != 32 || !attempt.bytes().all(|b| b.is_ascii_hexdigit()) {
        return again("The form expired; try again.".into()).await;
    }
    let Some(paid_on) = form_value(&body, "paid_on").and_then(|d| d.trim().parse().ok()) else {
        return again("Enter the day it was paid.".into()).await;
    };
    let method = form_value(&body, "method").unwrap_or_default();
    let check = form_value(&body, "check_number");
    let method = match Method::parse(&method, check.as_deref(), None) {
        Ok(m) => m,
        Err(e) => return again(e.to_string()).await,
    };
    let d = Disbursement {
        method,
        paid_on,
        amount_cents: None,
        reference: form_value(&body, "reference"),
        key: Some(format!("app:{attempt}:{id}")),
        recorded_by: caller.actor.clone(),
    };
    let tx = state.db().tenant(&caller.tenant).await?;
    match record(
        &tx,
        &state,
        &caller,
        request_id.map(|Extension(r)| r.0),
        id,
        d,
    )
    .await
    {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to("/app/deposits/refunds?done=paid").into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let msg = crate::staff_pages::shown(e)?;
            again(msg).await
        }
    }
}
