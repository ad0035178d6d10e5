//! Additions to the staff account page (`/app/accounts/{account_id}`):
//! credits and adjustments with a required reason (the same ledger posting
//! as `POST /api/v1/accounts/{id}/ledger`), payment plans (the same code as
//! `…/payment-plans`: the past-due balance split in monthly installments,
//! shown with where the plan stands) and the account's recent
//! notifications with their delivery status (issue 8: mail that failed for
//! good is shown on the account).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::middleware::RequestId;
use crate::notification_pages::{NoteRow, account_numbers};
use crate::registry::Routes;
use crate::resources::parse_id;
use crate::session::CurrentSession;
use crate::state::AppState;
use crate::workspace::{account_page, form_value, usd};
use aqueduct_billing::ledger::{self, EntryKind, NewEntry};
use aqueduct_billing::payment_plans;
use aqueduct_core::{AccountId, Money};
use aqueduct_notify::outbox;
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::{Access, Role, TenantTx};
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use chrono::NaiveDate;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::POST,
        "/app/accounts/{account_id}/adjustments",
        Role::Clerk,
        post(adjust),
    )
    .tenant(
        Method::POST,
        "/app/accounts/{account_id}/payment-plan",
        Role::Clerk,
        post(plan_create),
    )
    .tenant(
        Method::POST,
        "/app/accounts/{account_id}/payment-plan/cancel",
        Role::Clerk,
        post(plan_cancel),
    )
    .tenant(
        Method::POST,
        "/app/accounts/{account_id}/details",
        Role::Clerk,
        post(details),
    )
}

/// Contact details and notes (the same change as `PATCH
/// /api/v1/accounts/{id}`): a refused value shows the page again with why.
async fn details(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    request_id: Option<Extension<RequestId>>,
    Path(account_id): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    // `change` checks in its own transaction that the account is visible
    // (another association's or a restricted one is 404).
    let changes = aqueduct_billing::accounts::AccountChanges {
        holder_name: Some(form_value(&body, "holder_name").unwrap_or_default()),
        co_holder_name: Some(form_value(&body, "co_holder_name").unwrap_or_default()),
        email: Some(form_value(&body, "email").unwrap_or_default()),
        phone: Some(form_value(&body, "phone").unwrap_or_default()),
        paperless: Some(form_value(&body, "paperless").is_some_and(|v| v == "on")),
        notes: Some(form_value(&body, "notes").unwrap_or_default()),
    };
    let rid = request_id.map(|Extension(r)| r.0);
    match crate::resources::accounts::change(&state, &caller, rid, id, changes).await {
        Ok(_) => Ok(Redirect::to(&format!("/app/accounts/{id}?done=details")).into_response()),
        Err(ApiError::Invalid(msg) | ApiError::Conflict(msg)) => {
            account_page(&state, &caller, s.as_ref(), id, Some(msg), None).await
        }
        Err(e) => Err(e),
    }
}

/// A payment plan as the account page shows it.
pub(crate) struct PlanRow {
    pub state: &'static str,
    pub total: String,
    pub paid: String,
    pub due_so_far: String,
    pub starts_on: String,
    /// (number, due on, amount).
    pub installments: Vec<(i32, String, String)>,
}

/// What the account page adds: plans, whether one is open, the latest
/// notifications and how many of them failed for good.
pub(crate) struct Extras {
    pub plans: Vec<PlanRow>,
    pub plan_open: bool,
    pub notifications: Vec<NoteRow>,
    pub failed_for_good: usize,
    /// The default first due date of a new plan (a month from today).
    pub plan_first: String,
}

/// How many notifications the account page lists.
const RECENT: u64 = 10;

pub(crate) async fn load(
    tx: &TenantTx,
    id: AccountId,
    today: NaiveDate,
) -> Result<Extras, ApiError> {
    let plans = payment_plans::for_account(tx, id, today).await?;
    let recent = outbox::list(tx, Some(id), None, RECENT).await?;
    let numbers = account_numbers(tx, &recent).await?;
    let notifications: Vec<NoteRow> = recent
        .into_iter()
        .map(|n| NoteRow::new(n, &numbers))
        .collect();
    Ok(Extras {
        plan_open: plans.iter().any(|p| matches!(p.state, "kept" | "broken")),
        plans: plans
            .into_iter()
            .map(|p| PlanRow {
                state: p.state,
                total: usd(p.total_cents),
                paid: usd(p.paid_cents),
                due_so_far: usd(p.due_so_far_cents),
                starts_on: p.starts_on.to_string(),
                installments: p
                    .installments
                    .iter()
                    .map(|i| (i.number, i.due_on.to_string(), usd(i.amount_cents)))
                    .collect(),
            })
            .collect(),
        failed_for_good: notifications.iter().filter(|n| n.failed_for_good).count(),
        notifications,
        plan_first: today
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(today)
            .to_string(),
    })
}

/// 404 for an account of another association, or one hidden from staff
/// by an erasure request (as the account page), before any form field is
/// read.
async fn own_account(state: &AppState, caller: &Caller, id: AccountId) -> Result<(), ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    aqueduct_retention::erasure::visible_account(&tx, id)
        .await
        .map_err(crate::privacy::retention_error)?
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(())
}

fn valid_attempt(a: &str) -> bool {
    a.len() == 32 && a.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Longest reason kept (the ledger memo).
const REASON_MAX: usize = 500;

/// A credit (lowers the balance) or an adjustment (raises it), in dollars,
/// with a reason that becomes the entry's memo. `attempt` makes a double
/// submit post once.
async fn adjust(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    request_id: Option<Extension<RequestId>>,
    Path(account_id): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    own_account(&state, &caller, id).await?;
    let again = |msg: &str| account_page(&state, &caller, s.as_ref(), id, Some(msg.into()), None);
    let kind = match form_value(&body, "kind").as_deref() {
        Some("credit") => EntryKind::Credit,
        Some("adjustment") => EntryKind::Adjustment,
        _ => return again("Choose a credit or a charge adjustment.").await,
    };
    let Some(cents) = form_value(&body, "amount")
        .and_then(|v| crate::portal::parse_dollars(v.trim()))
        .filter(|c| *c > 0)
    else {
        return again("Enter the amount in dollars, e.g. 12.50.").await;
    };
    let reason = form_value(&body, "reason")
        .map(|r| r.trim().chars().take(REASON_MAX).collect::<String>())
        .unwrap_or_default();
    if reason.is_empty() {
        return again("Give the reason: it is kept with the entry and shown in the ledger.").await;
    }
    let attempt = form_value(&body, "attempt").unwrap_or_default();
    if !valid_attempt(&attempt) {
        return again("The form expired; try again.").await;
    }
    let tx = state.db().tenant(&caller.tenant).await?;
    let posted = ledger::post(
        &tx,
        state.clock(),
        NewEntry {
            account: id,
            kind,
            amount: Money::usd(cents),
            effective_on: state.clock().now().date_naive(),
            external_id: Some(format!("manual:app-{attempt}")),
            bill: None,
            memo: reason,
        },
    )
    .await;
    let posted = match posted {
        Ok(p) => p,
        Err(e) => {
            tx.rollback().await?;
            let msg = crate::staff_pages::shown(ApiError::from(e))?;
            return again(&msg).await;
        }
    };
    if posted.created {
        audit::record_in(
            &tx,
            state.clock(),
            AuditEntry {
                tenant: None,
                actor: caller.actor.clone(),
                action: format!("ledger.{}", kind.as_str()),
                target: Some(format!("account:{id}")),
                outcome: Outcome::Success,
                request_id: request_id.map(|Extension(r)| r.0),
                ip: None,
                details: Some(serde_json::json!({
                    "entry_id": posted.entry.id.to_string(),
                    "amount_cents": cents,
                })),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/app/accounts/{id}?done=adjusted")).into_response())
}

/// A plan over the balance: `installments` (2–24) monthly, the first due
/// on `first_due_on`.
async fn plan_create(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Path(account_id): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    own_account(&state, &caller, id).await?;
    let again = |msg: String| account_page(&state, &caller, s.as_ref(), id, Some(msg), None);
    let count = form_value(&body, "installments").and_then(|v| v.trim().parse::<i32>().ok());
    let first = form_value(&body, "first_due_on")
        .and_then(|v| NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok());
    let (Some(count), Some(first)) = (count, first) else {
        return again(
            "Give the number of installments (2 to 24) and the first due date (YYYY-MM-DD).".into(),
        )
        .await;
    };
    let tx = state.db().tenant(&caller.tenant).await?;
    match payment_plans::create(&tx, state.clock(), id, count, first).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/app/accounts/{id}?done=plan")).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let msg = crate::staff_pages::shown(ApiError::from(e))?;
            again(format!("No plan made: {msg}.")).await
        }
    }
}

async fn plan_cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Response, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    own_account(&state, &caller, id).await?;
    let tx = state.db().tenant(&caller.tenant).await?;
    payment_plans::cancel(&tx, state.clock(), id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/app/accounts/{id}?done=plan_cancelled")).into_response())
}
