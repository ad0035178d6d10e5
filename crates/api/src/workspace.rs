//! The association workspace at `/app/…` for staff (session or API key;
//! every route is a tenant route in the registry, so the cross-tenant
//! harness covers it): dashboard, accounts, payments with refunds, bill
//! runs. Forms carry the session's CSRF token; they work without
//! JavaScript.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::middleware::RequestId;
use crate::pages::escape;
use crate::registry::Routes;
use crate::resources::parse_id;
use crate::session::{self, CurrentSession};
use crate::state::AppState;
use crate::web::{self, Chrome, StaffChrome};
use aqueduct_billing::entity::bill_run;
use aqueduct_billing::{accounts, aging, bills, ledger, meters, reads};
use aqueduct_core::{AccountId, MeterId, Money, PaymentId};
use aqueduct_payments::checkout::{self, status};
use aqueduct_payments::entity::payment;
use aqueduct_payments::refunds::{self, RefundRequest};
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::{Access, Role, scoped};
use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Datelike;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/app", Role::Viewer, get(dashboard))
        .tenant(
            Method::GET,
            "/app/accounts",
            Role::Viewer,
            get(account_list),
        )
        .tenant(
            Method::GET,
            "/app/accounts/{account_id}",
            Role::Viewer,
            get(account_detail),
        )
        .tenant(
            Method::POST,
            "/app/accounts/{account_id}/move-out",
            Role::Clerk,
            post(account_move_out),
        )
        .tenant(
            Method::POST,
            "/app/accounts/{account_id}/deposits",
            Role::Clerk,
            post(account_deposit),
        )
        .tenant(
            Method::GET,
            "/app/payments",
            Role::Viewer,
            get(payment_list),
        )
        .tenant(
            Method::GET,
            "/app/payments/{payment_id}",
            Role::Viewer,
            get(payment_detail),
        )
        .tenant(
            Method::POST,
            "/app/payments/{payment_id}/refund",
            Role::Admin,
            post(refund),
        )
        .tenant(Method::GET, "/app/bill-runs", Role::Viewer, get(run_list))
        .tenant(
            Method::POST,
            "/app/bill-runs",
            Role::Admin,
            post(run_create),
        )
        .tenant(
            Method::GET,
            "/app/bill-runs/{run_id}",
            Role::Viewer,
            get(run_detail),
        )
        .tenant(
            Method::POST,
            "/app/bill-runs/{run_id}/finalize",
            Role::Admin,
            post(run_finalize),
        )
}

pub(crate) fn chrome(
    caller: &Caller,
    s: Option<&Extension<CurrentSession>>,
    title: &str,
    section: &'static str,
) -> Chrome {
    Chrome {
        staff: Some(StaffChrome {
            tenant_name: caller.tenant.name().to_owned(),
            csrf: csrf_input(s),
            section,
        }),
        ..Chrome::plain(Lang::En, title)
    }
}

pub(crate) fn csrf_input(s: Option<&Extension<CurrentSession>>) -> String {
    s.map_or_else(String::new, |Extension(CurrentSession(s))| {
        format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            session::CSRF_FIELD,
            escape(&s.csrf_token)
        )
    })
}

pub(crate) fn usd(cents: i64) -> String {
    Money::usd(cents).to_string()
}

#[derive(Template)]
#[template(path = "app_dashboard.html")]
struct Dashboard {
    page: Chrome,
    receivable: String,
    current: String,
    days_30: String,
    days_60: String,
    days_90: String,
    today_count: usize,
    today_total: String,
    month_count: usize,
    month_total: String,
    last_run: Option<RunRow>,
    accounts: u64,
    onboarding: Option<crate::setup::Checklist>,
    csrf: String,
    live: bool,
    /// The next payout to the bank, if one is scheduled.
    next_payout: Option<NextPayout>,
    /// Read exceptions not yet resolved (the rows of `/app/reads/exceptions`).
    read_exceptions: usize,
    /// Unfinalized bill runs with the accounts their preview cannot bill.
    run_exceptions: Vec<RunExceptions>,
}

/// The dashboard's next payout.
struct NextPayout {
    id: String,
    amount: String,
    /// Expected arrival (UTC date), or "" when Stripe gave none.
    arrival: String,
    status: String,
}

/// An unfinalized bill run and how many exceptions its preview lists.
struct RunExceptions {
    id: String,
    period: String,
    count: usize,
}

#[derive(Deserialize)]
struct DashboardQuery {
    live: Option<String>,
}

struct RunRow {
    id: String,
    period: String,
    due_on: String,
    status: String,
    created: String,
}

impl From<bill_run::Model> for RunRow {
    fn from(r: bill_run::Model) -> Self {
        Self {
            id: r.id.to_string(),
            period: format!("{} – {}", r.period_start, r.period_end),
            due_on: r.due_on.to_string(),
            status: r.status,
            created: r.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }
}

async fn dashboard(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, ApiError> {
    let onboarding = crate::setup::checklist(&state, &caller).await?;
    let now = state.clock().now();
    let today = now.date_naive();
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    // Aggregated by the database: the ledger is never loaded here.
    let a = aging::totals(&tx, today).await?;
    let month_start = today.with_day0(0).unwrap_or(today);
    let since = month_start
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    let paid: Vec<payment::Model> = scoped::<payment::Entity>(&tx)
        .filter(payment::Column::Status.eq(status::SUCCEEDED))
        .filter(payment::Column::CreatedAt.gte(since))
        .all(tx.conn())
        .await?;
    let last_run = scoped::<bill_run::Entity>(&tx)
        .order_by_desc(bill_run::Column::CreatedAt)
        .one(tx.conn())
        .await?;
    let count = accounts::count(&tx).await?;
    let next_payout = aqueduct_payments::payouts::next(&tx)
        .await?
        .map(|p| NextPayout {
            id: p.id.to_string(),
            amount: usd(p.amount_cents),
            arrival: p
                .arrival_date
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                .map(|d| d.date_naive().to_string())
                .unwrap_or_default(),
            status: p.status.replace('_', " "),
        });
    let read_exceptions = crate::reads_pages::open_exceptions(&tx, today).await?.len();
    // Runs not finalized yet: their preview's exceptions are what the run
    // page lists (a finalized run's are history, not waiting).
    let open_runs = scoped::<bill_run::Entity>(&tx)
        .filter(bill_run::Column::Status.ne("finalized"))
        .order_by_asc(bill_run::Column::PeriodStart)
        .all(tx.conn())
        .await?;
    let mut run_exceptions = Vec::new();
    for r in open_runs {
        let id = aqueduct_core::BillRunId::from_uuid(r.id);
        let preview = aqueduct_billing::bill_runs::preview(&tx, id, false).await?;
        if !preview.exceptions.is_empty() {
            run_exceptions.push(RunExceptions {
                id: r.id.to_string(),
                period: format!("{} – {}", r.period_start, r.period_end),
                count: preview.exceptions.len(),
            });
        }
    }
    tx.commit().await?;
    let today_rows: Vec<_> = paid
        .iter()
        .filter(|p| p.created_at.date_naive() == today)
        .collect();
    Ok(web::render(&Dashboard {
        page: chrome(&caller, s.as_ref(), "Dashboard", "dashboard"),
        receivable: usd(a.total),
        current: usd(a.current),
        days_30: usd(a.days_30),
        days_60: usd(a.days_60),
        days_90: usd(a.days_90_plus),
        today_count: today_rows.len(),
        today_total: usd(today_rows.iter().map(|p| p.amount_cents).sum()),
        month_count: paid.len(),
        month_total: usd(paid.iter().map(|p| p.amount_cents).sum()),
        last_run: last_run.map(RunRow::from),
        accounts: count,
        onboarding,
        csrf: csrf_input(s.as_ref()),
        live: q.live.is_some(),
        next_payout,
        read_exceptions,
        run_exceptions,
    }))
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

#[derive(Template)]
#[template(path = "app_accounts.html")]
struct AccountList {
    page: Chrome,
    q: String,
    rows: Vec<AccountRow>,
}

struct AccountRow {
    id: String,
    number: String,
    holder: String,
    status: String,
}

async fn account_list(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Query(q): Query<SearchQuery>,
) -> Result<Response, ApiError> {
    let search = q.q.unwrap_or_default();
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = accounts::list(
        &tx,
        &accounts::AccountQuery {
            search: Some(search.clone()),
            after: None,
            limit: 50,
        },
    )
    .await?;
    // Restricted by an erasure request inside the retention period: hidden
    // from staff (the legal and audit views still reach it).
    let hidden = aqueduct_retention::erasure::hidden_accounts(&tx)
        .await
        .map_err(crate::privacy::retention_error)?;
    tx.commit().await?;
    Ok(web::render(&AccountList {
        page: chrome(&caller, s.as_ref(), "Accounts", "accounts"),
        q: search,
        rows: rows
            .into_iter()
            .filter(|a| !hidden.contains(&AccountId::from_uuid(a.id)))
            .map(|a| AccountRow {
                id: a.id.to_string(),
                number: a.account_number,
                holder: a.holder_name,
                status: a.status,
            })
            .collect(),
    }))
}

#[derive(Template)]
#[template(path = "app_account.html")]
struct AccountDetail {
    page: Chrome,
    number: String,
    holder: String,
    status: String,
    balance: String,
    entries: Vec<[String; 4]>,
    bills: Vec<[String; 4]>,
    payments: Vec<PaymentRow>,
    meters: Vec<MeterView>,
    id: String,
    open: bool,
    deposit: String,
    closed_note: Option<String>,
    error: Option<String>,
    notice: Option<String>,
    csrf: String,
    today: String,
    attempt: String,
    /// Clerks and admins see the forms that change the account.
    can_edit: bool,
    extras: crate::account_forms::Extras,
    autopay: crate::payments::pages::AutopayPanel,
    /// Contact details and notes, as the edit form shows them.
    details: Details,
}

/// The account's editable details.
struct Details {
    co_holder: String,
    email: String,
    phone: String,
    paperless: bool,
    notes: String,
}

struct MeterView {
    serial: String,
    size: String,
    unit: String,
    reads: Vec<[String; 3]>,
}

#[derive(Deserialize)]
struct AccountFlash {
    done: Option<String>,
}

async fn account_detail(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Path(account_id): Path<String>,
    Query(flash): Query<AccountFlash>,
) -> Result<Response, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    let notice = match flash.done.as_deref() {
        Some("move_out") => {
            Some("Moved out: the final bill is issued and the account closed.".into())
        }
        Some("deposit") => Some("Deposit recorded.".into()),
        Some("adjusted") => Some("Posted to the ledger.".into()),
        Some("details") => Some("Details saved.".into()),
        Some("plan") => Some("Payment plan made.".into()),
        Some("plan_cancelled") => Some("Payment plan cancelled.".into()),
        Some("resent") => Some("Notification queued to be sent again.".into()),
        Some("already_sent") => Some("Not resent: it was already sent.".into()),
        Some("autopay_off") => {
            Some("Autopay is off; the saved method is detached at Stripe.".into())
        }
        Some("autopay_moved") => {
            Some("Autopay kept on this account with the customer's saved method.".into())
        }
        _ => None,
    };
    account_page(&state, &caller, s.as_ref(), id, None, notice).await
}

pub(crate) async fn account_page(
    state: &AppState,
    caller: &Caller,
    s: Option<&Extension<CurrentSession>>,
    id: AccountId,
    error: Option<String>,
    notice: Option<String>,
) -> Result<Response, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    // Restricted by an erasure request inside the retention period: 404.
    aqueduct_retention::erasure::visible_account(&tx, id)
        .await
        .map_err(crate::privacy::retention_error)?
        .ok_or(ApiError::NotFound)?;
    let a = accounts::get(&tx, id).await?;
    let balance = ledger::balance(&tx, id).await?;
    let entries = ledger::for_account(&tx, id).await?;
    let account_bills = bills::for_account(&tx, id).await?;
    let pays = checkout::for_account(&tx, id).await?;
    let closure = aqueduct_billing::lifecycle::closure(&tx, id).await?;
    let extras = crate::account_forms::load(&tx, id, state.clock().now().date_naive()).await?;
    let autopay = crate::payments::pages::autopay_panel(
        &tx,
        id,
        state.clock().now().date_naive(),
        caller.role,
    )
    .await?;
    let mut meter_views = Vec::new();
    for m in meters::for_account(&tx, id).await? {
        let rs = reads::for_meter(&tx, MeterId::from_uuid(m.id)).await?;
        meter_views.push(MeterView {
            serial: m.serial,
            size: m.size,
            unit: m.unit,
            reads: rs
                .iter()
                .rev()
                .take(13)
                .map(|r| {
                    [
                        r.read_on.to_string(),
                        r.value.to_string(),
                        if r.estimated { "estimated" } else { "actual" }.to_owned(),
                    ]
                })
                .collect(),
        });
    }
    tx.commit().await?;
    let deposit = usd(aqueduct_billing::ledger::deposit_held(&entries));
    let open = a.status != "closed";
    let closed_note = closure.map(|c| {
        format!(
            "Closed on {} ({}), final read {}; deposit applied {}, refunded {}.",
            c.closed_on,
            c.kind.replace('_', "-"),
            c.final_value,
            usd(c.deposit_applied_cents),
            usd(c.deposit_refunded_cents)
        )
    });
    Ok(web::render(&AccountDetail {
        page: chrome(
            caller,
            s,
            &format!("Account {}", a.account_number),
            "accounts",
        ),
        number: a.account_number,
        details: Details {
            co_holder: a.co_holder_name.clone().unwrap_or_default(),
            email: a.email.clone().unwrap_or_default(),
            phone: a.phone.clone().unwrap_or_default(),
            paperless: a.paperless,
            notes: a.notes.clone().unwrap_or_default(),
        },
        holder: a.holder_name,
        status: a.status,
        balance: balance.to_string(),
        entries: entries
            .iter()
            .rev()
            .take(50)
            .map(|e| {
                [
                    e.effective_on.to_string(),
                    e.kind.clone(),
                    e.memo.clone(),
                    usd(e.amount_cents),
                ]
            })
            .collect(),
        bills: account_bills
            .iter()
            .map(|b| {
                [
                    b.number.to_string(),
                    format!("{} – {}", b.period_start, b.period_end),
                    format!("{} {}", b.usage_units, b.usage_unit),
                    usd(b.total_cents),
                ]
            })
            .collect(),
        payments: pays.into_iter().map(PaymentRow::from).collect(),
        meters: meter_views,
        id: id.to_string(),
        open,
        deposit,
        closed_note,
        error,
        notice,
        csrf: csrf_input(s),
        today: state.clock().now().date_naive().to_string(),
        attempt: uuid::Uuid::new_v4().simple().to_string(),
        can_edit: caller.role >= Role::Clerk,
        extras,
        autopay,
    }))
}

/// The move-out form: final read date and value.
async fn account_move_out(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Path(account_id): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    {
        let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
        accounts::get(&tx, id).await?;
        tx.commit().await?;
    }
    let field = |n: &str| form_value(&body, n).unwrap_or_default();
    let read_on = chrono::NaiveDate::parse_from_str(field("read_on").trim(), "%Y-%m-%d").ok();
    let value = field("value").trim().parse::<i64>().ok();
    let (Some(read_on), Some(value)) = (read_on, value) else {
        let msg = "Give the final read's date (YYYY-MM-DD) and register value (whole number).";
        return account_page(&state, &caller, s.as_ref(), id, Some(msg.into()), None).await;
    };
    let tx = state.db().tenant(&caller.tenant).await?;
    let done = aqueduct_billing::lifecycle::move_out(
        &tx,
        state.clock(),
        id,
        aqueduct_billing::lifecycle::MoveOut {
            read_on,
            value,
            meter: None,
            schedule: None,
            due_on: None,
        },
    )
    .await;
    match done {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/app/accounts/{id}?done=move_out")).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let msg = ApiError::from(e).to_string();
            account_page(&state, &caller, s.as_ref(), id, Some(msg), None).await
        }
    }
}

/// The deposit form: an amount in dollars; `attempt` makes a double
/// submit post once.
async fn account_deposit(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Path(account_id): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    {
        let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
        accounts::get(&tx, id).await?;
        tx.commit().await?;
    }
    let amount = form_value(&body, "amount")
        .and_then(|v| crate::portal::parse_dollars(v.trim()))
        .filter(|c| *c > 0);
    let attempt = form_value(&body, "attempt").unwrap_or_default();
    let Some(cents) = amount else {
        let msg = "Enter the deposit in dollars, e.g. 75.00.";
        return account_page(&state, &caller, s.as_ref(), id, Some(msg.into()), None).await;
    };
    if attempt.len() != 32 || !attempt.bytes().all(|b| b.is_ascii_hexdigit()) {
        let msg = "The form expired; try again.";
        return account_page(&state, &caller, s.as_ref(), id, Some(msg.into()), None).await;
    }
    let tx = state.db().tenant(&caller.tenant).await?;
    let today = state.clock().now().date_naive();
    let done = aqueduct_billing::lifecycle::post_deposit(
        &tx,
        state.clock(),
        id,
        cents,
        today,
        &format!("app-{attempt}"),
    )
    .await;
    match done {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/app/accounts/{id}?done=deposit")).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let msg = ApiError::from(e).to_string();
            account_page(&state, &caller, s.as_ref(), id, Some(msg), None).await
        }
    }
}

struct PaymentRow {
    id: String,
    created: String,
    amount: String,
    status: String,
    method: String,
    refunded: String,
}

impl From<payment::Model> for PaymentRow {
    fn from(p: payment::Model) -> Self {
        Self {
            id: p.id.to_string(),
            created: p.created_at.format("%Y-%m-%d %H:%M").to_string(),
            amount: usd(p.amount_cents),
            status: p.status,
            method: p.method.unwrap_or_default(),
            refunded: if p.refunded_cents > 0 {
                usd(p.refunded_cents)
            } else {
                String::new()
            },
        }
    }
}

#[derive(Template)]
#[template(path = "app_payments.html")]
struct PaymentList {
    page: Chrome,
    rows: Vec<PaymentRow>,
}

async fn payment_list(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
) -> Result<Response, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = scoped::<payment::Entity>(&tx)
        .order_by_desc(payment::Column::CreatedAt)
        .limit(100)
        .all(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(web::render(&PaymentList {
        page: chrome(&caller, s.as_ref(), "Payments", "payments"),
        rows: rows.into_iter().map(PaymentRow::from).collect(),
    }))
}

#[derive(Template)]
#[template(path = "app_payment.html")]
struct PaymentDetail {
    page: Chrome,
    p: PaymentRow,
    account_id: String,
    account_number: String,
    refundable: String,
    can_refund: bool,
    refunds: Vec<[String; 4]>,
    csrf: String,
    error: Option<String>,
    done: bool,
    attempt: String,
}

#[derive(Deserialize)]
struct DetailQuery {
    refunded: Option<String>,
}

async fn payment_detail(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Path(payment_id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Result<Response, ApiError> {
    let id: PaymentId = parse_id(&payment_id)?;
    payment_page(&state, &caller, s.as_ref(), id, None, q.refunded.is_some()).await
}

async fn payment_page(
    state: &AppState,
    caller: &Caller,
    s: Option<&Extension<CurrentSession>>,
    id: PaymentId,
    error: Option<String>,
    done: bool,
) -> Result<Response, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let p = checkout::get(&tx, id).await?;
    let acct = accounts::get(&tx, AccountId::from_uuid(p.account_id)).await?;
    let rs = refunds::for_payment(&tx, id).await?;
    tx.commit().await?;
    let left = p
        .captured_cents
        .max(p.amount_cents * i64::from(p.status == status::SUCCEEDED))
        - p.refunded_cents;
    let can_refund = p.status == status::SUCCEEDED && left > 0 && caller.role >= Role::Admin;
    Ok(web::render(&PaymentDetail {
        page: chrome(caller, s, "Payment", "payments"),
        account_id: p.account_id.to_string(),
        account_number: acct.account_number,
        refundable: usd(left.max(0)),
        can_refund,
        refunds: rs
            .iter()
            .map(|r| {
                [
                    r.created_at.format("%Y-%m-%d %H:%M").to_string(),
                    usd(r.amount_cents),
                    r.status.clone(),
                    r.reason.clone().unwrap_or_default(),
                ]
            })
            .collect(),
        p: PaymentRow::from(p),
        csrf: csrf_input(s),
        error,
        done,
        attempt: uuid::Uuid::new_v4().simple().to_string(),
    }))
}

/// Decodes one `application/x-www-form-urlencoded` value.
pub(crate) fn form_value(body: &str, name: &str) -> Option<String> {
    let raw = body
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)?
        .1;
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The refund form: the same refund code as `POST /api/v1/payments/{id}/refunds`.
/// The body is read as text (not a typed form) so a foreign id is answered
/// 404 before any body checks.
async fn refund(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    request_id: Option<Extension<RequestId>>,
    Path(payment_id): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let id: PaymentId = parse_id(&payment_id)?;
    {
        let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
        checkout::get(&tx, id).await?;
        tx.commit().await?;
    }
    let again =
        |msg: &str| payment_page(&state, &caller, s.as_ref(), id, Some(msg.to_owned()), false);
    let amount =
        match form_value(&body, "amount").as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => match crate::portal::parse_dollars(v) {
                Some(c) if c > 0 => Some(Money::usd(c)),
                _ => return again(
                    "Enter the amount to refund in dollars, e.g. 12.50, or leave it empty for all.",
                )
                .await,
            },
        };
    let reason = form_value(&body, "reason")
        .map(|r| r.trim().chars().take(500).collect::<String>())
        .filter(|r| !r.is_empty());
    let Some(reason) = reason else {
        return again("Give a reason for the refund.").await;
    };
    let attempt = form_value(&body, "attempt").unwrap_or_default();
    if attempt.len() != 32 || !attempt.bytes().all(|b| b.is_ascii_hexdigit()) {
        return again("The form expired; try again.").await;
    }
    let Some(stripe) = state.stripe() else {
        return again("Payments are not configured on this server.").await;
    };
    let created = refunds::create(
        state.db(),
        &caller.tenant,
        state.clock(),
        stripe,
        RefundRequest {
            payment: id,
            amount,
            reason: Some(reason),
            idempotency_key: format!("app-refund-{attempt}"),
            requested_by: caller.actor.clone(),
        },
    )
    .await;
    let r = match created {
        Ok(r) => r,
        Err(e) => {
            let msg = ApiError::from(e).to_string();
            return again(&msg).await;
        }
    };
    let tx = state.db().tenant(&caller.tenant).await?;
    audit::record_in(
        &tx,
        state.clock(),
        AuditEntry {
            tenant: None,
            actor: caller.actor.clone(),
            action: "payment.refund".into(),
            target: Some(format!("payment:{id}")),
            outcome: Outcome::Success,
            request_id: request_id.map(|Extension(r)| r.0),
            ip: None,
            details: Some(serde_json::json!({
                "refund_id": r.id.to_string(),
                "amount_cents": r.amount_cents,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/app/payments/{id}?refunded=1")).into_response())
}

#[derive(Template)]
#[template(path = "app_runs.html")]
struct RunList {
    page: Chrome,
    rows: Vec<RunRow>,
    can_create: bool,
    schedules: Vec<(String, String)>,
    error: Option<String>,
    csrf: String,
}

async fn run_list_page(
    state: &AppState,
    caller: &Caller,
    s: Option<&Extension<CurrentSession>>,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = scoped::<bill_run::Entity>(&tx)
        .order_by_desc(bill_run::Column::CreatedAt)
        .limit(50)
        .all(tx.conn())
        .await?;
    let schedules = aqueduct_billing::rates::list(&tx).await?;
    tx.commit().await?;
    Ok(web::render(&RunList {
        page: chrome(caller, s, "Bill runs", "runs"),
        csrf: csrf_input(s),
        rows: rows.into_iter().map(RunRow::from).collect(),
        can_create: caller.role >= Role::Admin,
        schedules: schedules
            .into_iter()
            .map(|r| (r.id.to_string(), r.name))
            .collect(),
        error,
    }))
}

async fn run_list(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
) -> Result<Response, ApiError> {
    run_list_page(&state, &caller, s.as_ref(), None).await
}

/// "New bill run": the same `bill_runs::create` as `POST /api/v1/bill-runs`.
async fn run_create(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    body: String,
) -> Result<Response, ApiError> {
    let field = |n: &str| form_value(&body, n).unwrap_or_default();
    let date = |n: &str| chrono::NaiveDate::parse_from_str(field(n).trim(), "%Y-%m-%d").ok();
    let (Ok(schedule), Some(period_start), Some(period_end), Some(due_on)) = (
        field("schedule_id").parse(),
        date("period_start"),
        date("period_end"),
        date("due_on"),
    ) else {
        return run_list_page(
            &state,
            &caller,
            s.as_ref(),
            Some("Choose a rate schedule and give the three dates (YYYY-MM-DD).".into()),
        )
        .await;
    };
    let tx = state.db().tenant(&caller.tenant).await?;
    let created = aqueduct_billing::bill_runs::create(
        &tx,
        state.clock(),
        aqueduct_billing::bill_runs::NewRun {
            schedule,
            period_start,
            period_end,
            due_on,
        },
    )
    .await;
    match created {
        Ok(run) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/app/bill-runs/{}", run.id)).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let msg = ApiError::from(e).to_string();
            run_list_page(&state, &caller, s.as_ref(), Some(msg)).await
        }
    }
}

#[derive(Template)]
#[template(path = "app_run.html")]
struct RunDetail {
    page: Chrome,
    id: String,
    run: RunRow,
    bills: usize,
    issued: u64,
    total: String,
    exceptions: Vec<[String; 3]>,
    working: bool,
    can_finalize: bool,
    csrf: String,
    attempt: String,
}

/// One run: the preview (bills, total, exceptions) and, while it is being
/// finalized, a progress bar that refreshes itself.
async fn run_detail(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Path(run_id): Path<String>,
) -> Result<Response, ApiError> {
    use aqueduct_billing::entity::bill;
    use sea_orm::PaginatorTrait;
    let id: aqueduct_core::BillRunId = parse_id(&run_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let run = aqueduct_billing::bill_runs::get(&tx, id).await?;
    let preview = aqueduct_billing::bill_runs::preview(&tx, id, false).await?;
    let issued = scoped::<bill::Entity>(&tx)
        .filter(bill::Column::BillRunId.eq(run.id))
        .count(tx.conn())
        .await?;
    tx.commit().await?;
    let working = run.status == "finalizing";
    let mut page = chrome(&caller, s.as_ref(), "Bill run", "runs");
    if working {
        page.refresh_seconds = 2;
    }
    Ok(web::render(&RunDetail {
        page,
        id: run.id.to_string(),
        can_finalize: caller.role >= Role::Admin && run.status != "finalized",
        run: RunRow::from(run),
        bills: preview.bills.len(),
        issued,
        total: usd(preview.total_cents),
        exceptions: preview
            .exceptions
            .iter()
            .take(100)
            .map(|e| {
                [
                    e.account_number.clone(),
                    e.kind.to_owned(),
                    e.detail.clone(),
                ]
            })
            .collect(),
        working,
        csrf: csrf_input(s.as_ref()),
        attempt: uuid::Uuid::new_v4().simple().to_string(),
    }))
}

/// Finalize: marks the run `finalizing` and enqueues a durable
/// [`aqueduct_billing::finalize_job`] job in one transaction; a worker
/// finalizes it in small batches while the run page shows the progress.
/// A restart loses nothing: the job is picked up again and resumes.
async fn run_finalize(
    State(state): State<AppState>,
    caller: Caller,
    Path(run_id): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let id: aqueduct_core::BillRunId = parse_id(&run_id)?;
    let attempt = form_value(&body, "attempt")
        .filter(|a| a.len() == 32 && a.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let tx = state.db().tenant(&caller.tenant).await?;
    aqueduct_billing::finalize_job::enqueue(&tx, state.clock(), id, &attempt).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/app/bill-runs/{id}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::form_value;

    #[test]
    fn form_values_decode() {
        assert_eq!(
            form_value("a=1&reason=Double+charge%21&x=", "reason").as_deref(),
            Some("Double charge!")
        );
        assert_eq!(form_value("a=1", "reason"), None);
        assert_eq!(form_value("reason=%zz", "reason"), None);
        assert_eq!(form_value("reason=50%", "reason").as_deref(), Some("50%"));
    }
}
