//! Payments pages: for staff in the workspace (`/app/payouts`, one payout
//! with its balance transactions and why it does not match, `/app/disputes`,
//! the autopay panel of an account with "turn off" and "keep autopay on
//! the new account"), and for a signed-in customer the autopay page of an
//! account (`/{slug}/account/{account_id}/autopay`) where they consent to
//! keep their saved method on a new account. Every form carries the CSRF
//! token and works without JavaScript.

use super::autopay::{keep_and_audit, turn_off_and_audit};
use crate::auth::Caller;
use crate::customer_auth::Customer;
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::registry::Routes;
use crate::resources::parse_id;
use crate::session::CurrentSession;
use crate::state::AppState;
use crate::web::{self, Chrome};
use crate::workspace::{chrome, form_value, usd};
use aqueduct_core::AccountId;
use aqueduct_payments::autopay::{self, AutopayView, MoveOffer, Via};
use aqueduct_payments::entity::{dispute, payout, payout_item};
use aqueduct_payments::{disputes, payouts};
use aqueduct_tenant::{Access, Role, TenantTx};
use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub(super) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/app/payouts", Role::Viewer, get(payout_list))
        .tenant(
            Method::GET,
            "/app/payouts/{payout_id}",
            Role::Viewer,
            get(payout_detail),
        )
        .tenant(
            Method::GET,
            "/app/disputes",
            Role::Viewer,
            get(dispute_list),
        )
        .tenant(
            Method::POST,
            "/app/accounts/{account_id}/autopay/off",
            Role::Clerk,
            post(autopay_off),
        )
        .tenant(
            Method::POST,
            "/app/accounts/{account_id}/autopay/keep",
            Role::Clerk,
            post(autopay_keep),
        )
        .customer(
            Method::GET,
            "/{slug}/account/{account_id}/autopay",
            get(customer_autopay),
        )
        .customer(
            Method::POST,
            "/{slug}/account/{account_id}/autopay",
            post(customer_keep),
        )
}

fn date_of(unix: Option<i64>) -> String {
    unix.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.date_naive().to_string())
        .unwrap_or_default()
}

/// "visa •••• 4242", "STRIPE TEST BANK •••• 6789": what Stripe shows, never more.
pub(crate) fn method_label(
    method_type: Option<&str>,
    brand: Option<&str>,
    last4: Option<&str>,
) -> String {
    let kind = match method_type {
        Some("us_bank_account") => "bank account",
        Some("card") => "card",
        _ => "payment method",
    };
    match (brand, last4) {
        (Some(b), Some(l)) => format!("{b} {kind} •••• {l}"),
        (None, Some(l)) => format!("{kind} •••• {l}"),
        (Some(b), None) => format!("{b} {kind}"),
        (None, None) => kind.to_owned(),
    }
}

// --- Payouts ---------------------------------------------------------------

struct PayoutRow {
    id: String,
    created: String,
    amount: String,
    status: String,
    arrival: String,
    reconciliation: String,
    mismatches: i32,
    failure: String,
}

impl From<payout::Model> for PayoutRow {
    fn from(p: payout::Model) -> Self {
        Self {
            id: p.id.to_string(),
            created: p.created_at.format("%Y-%m-%d").to_string(),
            amount: usd(p.amount_cents),
            status: p.status.replace('_', " "),
            arrival: date_of(p.arrival_date),
            reconciliation: p.reconciliation,
            mismatches: p.mismatches,
            failure: p.failure_message.unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "app_payouts.html")]
struct PayoutList {
    page: Chrome,
    rows: Vec<PayoutRow>,
}

async fn payout_list(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
) -> Result<Response, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = payouts::list(&tx).await?;
    tx.commit().await?;
    Ok(web::render(&PayoutList {
        page: chrome(&caller, s.as_ref(), "Payouts", "payments"),
        rows: rows.into_iter().take(200).map(PayoutRow::from).collect(),
    }))
}

struct ItemRow {
    kind: String,
    source: String,
    amount: String,
    fee: String,
    net: String,
    /// Where it leads in the workspace (a payment), if anywhere.
    link: Option<String>,
    ok: bool,
    note: String,
}

fn item_row(i: payout_item::Model) -> ItemRow {
    let what = match i.matched.as_str() {
        "payment" => "payment",
        "refund" => "refund",
        "dispute" => "dispute",
        "payout" => "payout",
        _ => "item",
    };
    let note = match (i.status.as_str(), i.expected_cents) {
        ("ok", _) => "Matches our records.".to_owned(),
        ("amount_mismatch", Some(0)) if what == "payment" || what == "refund" => format!(
            "Stripe has this {what} ({}) but our ledger never posted it: a missed webhook? The hourly sweep repairs it.",
            usd(i.amount_cents)
        ),
        ("amount_mismatch", Some(e)) => format!(
            "Stripe shows {} for this {what}; our records say {}.",
            usd(i.amount_cents),
            usd(e)
        ),
        _ => "Nothing of ours matches it (made outside Aqueduct, e.g. in Stripe's dashboard)."
            .to_owned(),
    };
    ItemRow {
        kind: i.kind.replace('_', " "),
        source: i.source_id.unwrap_or_default(),
        amount: usd(i.amount_cents),
        fee: usd(i.fee_cents),
        net: usd(i.net_cents),
        link: (i.matched == "payment")
            .then_some(i.matched_id)
            .flatten()
            .map(|id| format!("/app/payments/{id}")),
        ok: i.status == "ok",
        note,
    }
}

#[derive(Template)]
#[template(path = "app_payout.html")]
struct PayoutDetail {
    page: Chrome,
    p: PayoutRow,
    stripe_id: String,
    reconciled_at: String,
    items: Vec<ItemRow>,
    items_net: String,
    adds_up: bool,
}

async fn payout_detail(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Path(payout_id): Path<String>,
) -> Result<Response, ApiError> {
    let id: uuid::Uuid = parse_id(&payout_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let (po, items) = payouts::get(&tx, id).await?;
    tx.commit().await?;
    // What reached the bank must be the sum of what is inside (the payout's
    // own withdrawal aside).
    let net: i64 = items
        .iter()
        .filter(|i| !i.kind.starts_with("payout"))
        .map(|i| i.net_cents)
        .sum();
    let reconciled = po.reconciled_at.is_some();
    Ok(web::render(&PayoutDetail {
        page: chrome(&caller, s.as_ref(), "Payout", "payments"),
        stripe_id: po.stripe_payout_id.clone(),
        reconciled_at: po
            .reconciled_at
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default(),
        adds_up: !reconciled || net == po.amount_cents,
        items_net: usd(net),
        items: items.into_iter().map(item_row).collect(),
        p: PayoutRow::from(po),
    }))
}

// --- Disputes --------------------------------------------------------------

struct DisputeRow {
    opened: String,
    payment_id: String,
    amount: String,
    status: String,
    reason: String,
    due_by: String,
    hold: String,
}

#[derive(Template)]
#[template(path = "app_disputes.html")]
struct DisputeList {
    page: Chrome,
    rows: Vec<DisputeRow>,
}

fn dispute_row(d: dispute::Model) -> DisputeRow {
    let day = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d").to_string();
    let hold = match (d.hold_posted_at, d.released_at) {
        (Some(_), Some(r)) => format!("released {}", day(r)),
        (Some(h), None) => format!("held since {}", day(h)),
        _ => "none".to_owned(),
    };
    DisputeRow {
        opened: day(d.created_at),
        payment_id: d.payment_id.to_string(),
        amount: usd(d.amount_cents),
        status: d.status.replace('_', " "),
        reason: d.reason.unwrap_or_default().replace('_', " "),
        due_by: date_of(d.evidence_due_by),
        hold,
    }
}

async fn dispute_list(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
) -> Result<Response, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = disputes::list(&tx).await?;
    tx.commit().await?;
    Ok(web::render(&DisputeList {
        page: chrome(&caller, s.as_ref(), "Disputes", "payments"),
        rows: rows.into_iter().map(dispute_row).collect(),
    }))
}

// --- Autopay on the staff account page ------------------------------------

/// The autopay panel of the staff account page.
pub(crate) struct AutopayPanel {
    /// none | pending | active | off.
    pub(crate) status: String,
    /// "visa card •••• 4242".
    pub(crate) method: String,
    pub(crate) consented: String,
    pub(crate) consent_by: String,
    pub(crate) next_charge: String,
    pub(crate) last_failure: Option<String>,
    pub(crate) ended: Option<String>,
    pub(crate) can_act: bool,
    /// (from account id, its number, the method).
    pub(crate) offers: Vec<(String, String, String)>,
}

/// The autopay panel for account `id` (read in the page's transaction).
pub(crate) async fn autopay_panel(
    tx: &TenantTx,
    id: AccountId,
    today: chrono::NaiveDate,
    role: Role,
) -> Result<AutopayPanel, ApiError> {
    let v = autopay::view(tx, id, today).await?;
    let offers = autopay::move_offers(tx, id, Via::Staff).await?;
    Ok(panel_of(&v, &offers, role >= Role::Clerk))
}

fn panel_of(v: &AutopayView, offers: &[MoveOffer], can_act: bool) -> AutopayPanel {
    let ended = v.ended_at.map(|t| {
        let why = match v.ended_reason.as_deref() {
            Some("moved") => "moved to the customer's new account",
            _ => "turned off",
        };
        let detached = if v.detached_at.is_some() {
            "; the saved method is detached at Stripe"
        } else if v.ended_reason.as_deref() == Some("turned_off") {
            "; detaching the saved method at Stripe is pending"
        } else {
            ""
        };
        format!("Ended {} ({why}{detached}).", t.format("%Y-%m-%d"))
    });
    AutopayPanel {
        status: v.status.clone(),
        method: if v.method_type.is_some() {
            method_label(
                v.method_type.as_deref(),
                v.brand.as_deref(),
                v.last4.as_deref(),
            )
        } else {
            String::new()
        },
        consented: v
            .consented_at
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default(),
        consent_by: match v.consent_actor.as_deref() {
            Some(a) if a.starts_with("customer:") => "the customer, on their account page".into(),
            Some(a) => format!("staff ({a}), for the customer"),
            None if v.consented_at.is_some() => "the customer, on Stripe's page".into(),
            None => String::new(),
        },
        next_charge: v.next_charge_on.map(|d| d.to_string()).unwrap_or_default(),
        last_failure: v.last_failure.as_ref().map(|c| {
            format!(
                "{}: {} ({})",
                c.charge_on,
                c.failure_reason.clone().unwrap_or_default(),
                c.failure_code.clone().unwrap_or_default()
            )
        }),
        ended,
        can_act,
        offers: offers
            .iter()
            .map(|o| {
                (
                    o.from_account_id.to_string(),
                    o.from_account_number.clone(),
                    method_label(
                        o.method_type.as_deref(),
                        o.brand.as_deref(),
                        o.last4.as_deref(),
                    ),
                )
            })
            .collect(),
    }
}

/// "visa •••• 4242" for customers (no English words).
fn short_label(brand: Option<&str>, last4: Option<&str>) -> String {
    match (brand, last4) {
        (Some(b), Some(l)) => format!("{b} •••• {l}"),
        (None, Some(l)) => format!("•••• {l}"),
        (Some(b), None) => b.to_owned(),
        (None, None) => String::new(),
    }
}

/// Checks the account is the caller's (404 otherwise) before any body check.
async fn own_account(state: &AppState, caller: &Caller, id: AccountId) -> Result<(), ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    aqueduct_billing::accounts::get(&tx, id).await?;
    tx.commit().await?;
    Ok(())
}

/// "Turn autopay off" on the staff account page.
async fn autopay_off(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Response, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    own_account(&state, &caller, id).await?;
    turn_off_and_audit(&state, &caller, id).await?;
    Ok(Redirect::to(&format!("/app/accounts/{id}?done=autopay_off")).into_response())
}

/// "Keep autopay on this account" on the staff account page: the customer
/// agreed (the box says so); without the box ticked nothing moves.
async fn autopay_keep(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Path(account_id): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    own_account(&state, &caller, id).await?;
    let consent = form_value(&body, "consent").as_deref() == Some("yes");
    let from = form_value(&body, "from_account_id").and_then(|f| f.parse::<AccountId>().ok());
    let Some(from) = from else {
        let msg = "Choose the account whose autopay moves here.";
        return crate::workspace::account_page(
            &state,
            &caller,
            s.as_ref(),
            id,
            Some(msg.into()),
            None,
        )
        .await;
    };
    match keep_and_audit(
        &state,
        &caller.tenant,
        &caller.actor,
        id,
        from,
        consent,
        Via::Staff,
    )
    .await
    {
        Ok(()) => {
            Ok(Redirect::to(&format!("/app/accounts/{id}?done=autopay_moved")).into_response())
        }
        // The page again with the reason (a 4xx body would be replaced by
        // the error page, losing the form).
        Err(e @ (ApiError::Invalid(_) | ApiError::Conflict(_))) => {
            crate::workspace::account_page(
                &state,
                &caller,
                s.as_ref(),
                id,
                Some(e.to_string()),
                None,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

// --- The customer's autopay page ------------------------------------------

struct OfferView {
    from_id: String,
    from_number: String,
    method: String,
}

#[derive(Template)]
#[template(path = "customer_autopay.html")]
struct CustomerAutopay {
    page: Chrome,
    slug: String,
    id: AccountId,
    number: String,
    csrf: String,
    status: String,
    method: String,
    next_charge: String,
    offers: Vec<OfferView>,
    error: Option<String>,
    moved: bool,
}

#[derive(Deserialize)]
struct DoneQuery {
    moved: Option<String>,
}

async fn customer_view(
    state: &AppState,
    lang: Lang,
    c: &Customer,
    id: AccountId,
    error: Option<String>,
    moved: bool,
) -> Result<Response, ApiError> {
    let (_, b) = web::association(state, c.tenant.slug().as_str()).await?;
    let tx = state.db().tenant_with(&c.tenant, Access::Read).await?;
    let acct = aqueduct_billing::accounts::get(&tx, id).await?;
    let v = autopay::view(&tx, id, state.clock().now().date_naive()).await?;
    let offers = autopay::move_offers(&tx, id, Via::Customer(&c.accounts)).await?;
    tx.commit().await?;
    Ok(web::render(&CustomerAutopay {
        page: Chrome::association(lang, lang.t("cust.autopay.title"), &c.tenant, &b),
        slug: c.tenant.slug().to_string(),
        id,
        number: acct.account_number,
        csrf: format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            crate::session::CSRF_FIELD,
            crate::pages::escape(&c.session.csrf_token)
        ),
        method: short_label(v.brand.as_deref(), v.last4.as_deref()),
        status: v.status,
        next_charge: v.next_charge_on.map(|d| d.to_string()).unwrap_or_default(),
        offers: offers
            .iter()
            .map(|o| OfferView {
                from_id: o.from_account_id.to_string(),
                from_number: o.from_account_number.clone(),
                method: short_label(o.brand.as_deref(), o.last4.as_deref()),
            })
            .collect(),
        error,
        moved,
    }))
}

async fn customer_autopay(
    State(state): State<AppState>,
    lang: Lang,
    c: Customer,
    Path((_, account_id)): Path<(String, String)>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    customer_view(&state, lang, &c, id, None, q.moved.is_some()).await
}

/// The customer's consent: "keep autopay with the same card or bank
/// account on this account". Both accounts must be this login's.
async fn customer_keep(
    State(state): State<AppState>,
    lang: Lang,
    c: Customer,
    Path((slug, account_id)): Path<(String, String)>,
    body: String,
) -> Result<Response, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    let consent = form_value(&body, "consent").as_deref() == Some("yes");
    let from = form_value(&body, "from_account_id")
        .and_then(|f| f.parse::<AccountId>().ok())
        .filter(|f| c.accounts.contains(f));
    let again = |msg: String| customer_view(&state, lang, &c, id, Some(msg), false);
    // Refusals show the page again with the reason, nothing changed (a 4xx
    // body would be replaced by the error page, losing the form).
    let Some(from) = from else {
        return again(lang.t("cust.autopay.none").into()).await;
    };
    if !consent {
        return again(lang.t("cust.autopay.need_consent").into()).await;
    }
    match keep_and_audit(
        &state,
        &c.tenant,
        &c.actor,
        id,
        from,
        consent,
        Via::Customer(&c.accounts),
    )
    .await
    {
        Ok(()) => {
            Ok(Redirect::to(&format!("/{slug}/account/{id}/autopay?moved=1")).into_response())
        }
        Err(ApiError::Invalid(_) | ApiError::Conflict(_)) => {
            again(lang.t("cust.autopay.none").into()).await
        }
        Err(e) => Err(e),
    }
}
