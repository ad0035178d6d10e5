//! Customer logins of an association: password sign-in, one-time sign-in
//! links by email, sign-up (verified by such a link), staff invitations,
//! linking accounts by account number + service ZIP, and the JSON API of a
//! customer's own accounts under `/api/v1/customer/…`. The HTML pages in
//! [`crate::customer_pages`] share the flows here.
//!
//! A customer is a person (a row of `users`); a customer session is bound
//! to one association (`sessions.customer_tenant`) and reaches only the
//! accounts linked to that person there (see [`crate::customer_auth`]).

use crate::auth::Caller;
use crate::customer_auth::Customer;
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::portal::{self, Found};
use crate::registry::Routes;
use crate::session;
use crate::signin::{Ctx, with_cookie};
use crate::state::AppState;
use aqueduct_billing::accounts::{self, CustomerChanges};
use aqueduct_billing::bills;
use aqueduct_billing::entity::{account, bill, bill_void};
use aqueduct_core::TenantId;
use aqueduct_core::{AccountId, BillId, PaymentId, Secret, UserId};
use aqueduct_tenant::audit::{self, Outcome};
use aqueduct_tenant::credentials::{self, TokenPurpose};
use aqueduct_tenant::customers::{self, Via};
use aqueduct_tenant::mailer::Mail;
use aqueduct_tenant::sessions::{self, Session};
use aqueduct_tenant::signin::{self, SignIn};
use aqueduct_tenant::throttle::{self, RESET_ACCOUNT, RESET_IP};
use aqueduct_tenant::{Access, ReadBatch, Role, TenantCtx, TenantTx, directory, scoped, users};
use axum::extract::{Json, Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

pub(crate) fn routes(r: Routes) -> Routes {
    r.public(Method::POST, "/api/v1/customer/sign-in", post(sign_in_json))
        .public(
            Method::POST,
            "/api/v1/customer/sign-in-link",
            post(request_link_json),
        )
        .public(
            Method::POST,
            "/api/v1/customer/sign-in-link/confirm",
            post(confirm_link_json),
        )
        .public(Method::POST, "/api/v1/customer/sign-up", post(sign_up_json))
        .tenant(
            Method::POST,
            "/api/v1/accounts/{account_id}/customer-invitations",
            Role::Clerk,
            post(invite),
        )
        .customer(Method::GET, "/api/v1/customer/session", get(session_json))
        .customer(Method::GET, "/api/v1/customer/accounts", get(list_json))
        .customer(Method::POST, "/api/v1/customer/accounts", post(link_json))
        .customer(
            Method::GET,
            "/api/v1/customer/accounts/{account_id}",
            get(account_json),
        )
        .customer(
            Method::GET,
            "/api/v1/customer/accounts/{account_id}/bills",
            get(bills_json),
        )
        .customer(
            Method::GET,
            "/api/v1/customer/accounts/{account_id}/bills/{bill_id}/document",
            get(bill_document),
        )
        .customer(
            Method::GET,
            "/api/v1/customer/accounts/{account_id}/payments",
            get(payments_json),
        )
        .customer(
            Method::GET,
            "/api/v1/customer/accounts/{account_id}/payments/{payment_id}",
            get(payment_json),
        )
        .customer(
            Method::GET,
            "/api/v1/customer/accounts/{account_id}/usage",
            get(usage_json),
        )
        .customer(
            Method::PUT,
            "/api/v1/customer/accounts/{account_id}/settings",
            put(settings_json),
        )
        .customer(
            Method::GET,
            "/api/v1/customer/accounts/{account_id}/export",
            get(export),
        )
}

// ---------------------------------------------------------------- flows

/// The association at `slug` a customer may sign in to: 404 when unknown
/// or closed, refused (audited) when suspended.
pub(crate) async fn usable_association(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
) -> Result<TenantCtx, ApiError> {
    let tenant = directory::by_slug(state.db(), slug)
        .await?
        .filter(|t| t.status() != aqueduct_tenant::TenantStatus::Closed)
        .ok_or(ApiError::NotFound)?;
    if !tenant.status().allows_use() {
        let mut e = ctx.entry("anonymous".into(), "customer.sign_in", Outcome::Denied);
        e.tenant = Some(tenant.id());
        e.details = Some(serde_json::json!({ "reason": "tenant_unavailable" }));
        audit::record_now(state.db(), state.clock(), e).await?;
        return Err(ApiError::TenantUnavailable);
    }
    Ok(tenant)
}

/// Starts a fresh customer session in `tenant` (any session the request
/// had is ended: the id always changes at sign-in) and audits it in the
/// association's log.
async fn start(
    state: &AppState,
    ctx: &Ctx,
    tenant: &TenantCtx,
    user: UserId,
    method: &str,
) -> Result<(Secret, Session), ApiError> {
    if let Some(old) = &ctx.session {
        sessions::end(state.db(), &old.id_hash).await?;
    }
    let created = sessions::create_customer(
        state.db(),
        state.clock(),
        state.auth().sessions,
        user,
        tenant.id(),
    )
    .await?;
    let mut e = ctx.entry(
        format!("customer:{user}"),
        "customer.sign_in",
        Outcome::Success,
    );
    e.tenant = Some(tenant.id());
    e.details = Some(serde_json::json!({ "method": method }));
    audit::record_now(state.db(), state.clock(), e).await?;
    Ok(created)
}

/// Email + password (throttled, one answer for every failure).
pub(crate) async fn password_flow(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
    email: &str,
    password: &Secret,
) -> Result<(Secret, Session), ApiError> {
    let tenant = usable_association(state, ctx, slug).await?;
    let person =
        match signin::with_password(state.db(), state.clock(), email, password, &ctx.origin())
            .await?
        {
            SignIn::Accepted(p) => p,
            SignIn::Refused => return Err(ApiError::BadCredentials),
            SignIn::Throttled(secs) => return Err(ApiError::TooManyRequests(secs)),
        };
    start(state, ctx, &tenant, person.id, "password").await
}

/// The one answer to a sign-in link or sign-up request.
pub(crate) const LINK_SENT: &str =
    "If that email can sign in here, we sent it a sign-in link. It works once, within 15 minutes.";

/// Mails a one-time sign-in link to `email` if it belongs to an enabled
/// person (with `create`, a sign-up: the person is created first, and the
/// link verifies the address). Answers the same either way; throttled per
/// address and per email.
pub(crate) async fn link_flow(
    state: &AppState,
    ctx: &Ctx,
    lang: Lang,
    slug: &str,
    email: &str,
    create: bool,
) -> Result<(), ApiError> {
    let tenant = usable_association(state, ctx, slug).await?;
    let ip_key = throttle::ip_key("customer_link", &ctx.ip);
    let acct_key = throttle::account_key("customer_link", email);
    for (key, limit) in [(&ip_key, RESET_IP), (&acct_key, RESET_ACCOUNT)] {
        if let Some(secs) = throttle::blocked_for(state.db(), state.clock(), key, limit).await? {
            return Err(ApiError::TooManyRequests(secs));
        }
    }
    throttle::hit(state.db(), state.clock(), &ip_key, RESET_IP).await?;
    throttle::hit(state.db(), state.clock(), &acct_key, RESET_ACCOUNT).await?;
    let email = users::normalize_email(email)?;
    let person = if create {
        let (id, _) = users::ensure_person(state.db(), state.clock(), &email).await?;
        credentials::by_id(state.db(), id).await?
    } else {
        credentials::by_email(state.db(), &email).await?
    }
    .filter(|p| !p.disabled);
    let actor = person
        .as_ref()
        .map_or_else(|| "anonymous".to_owned(), |p| format!("customer:{}", p.id));
    if let Some(p) = person {
        let token = credentials::issue_token(
            state.db(),
            state.clock(),
            p.id,
            TokenPurpose::SignInLink,
            Some(tenant.id()),
        )
        .await?;
        send_link(state, lang, &tenant, &p.email, &token, false).await;
    }
    let action = if create {
        "customer.sign_up"
    } else {
        "customer.sign_in_link"
    };
    let mut e = ctx.entry(actor, action, Outcome::Success);
    e.tenant = Some(tenant.id());
    audit::record_now(state.db(), state.clock(), e).await?;
    Ok(())
}

async fn send_link(
    state: &AppState,
    lang: Lang,
    tenant: &TenantCtx,
    to: &str,
    token: &Secret,
    invitation: bool,
) {
    let link = format!(
        "{}/{}/link?token={}",
        state.settings().public_url.trim_end_matches('/'),
        tenant.slug(),
        token.expose()
    );
    let name = tenant.name();
    let (subject, body) = match (lang, invitation) {
        (Lang::En, false) => (
            format!("Your sign-in link for {name}"),
            format!(
                "To sign in to your {name} water account, open this link within 15 minutes \
                 (it works once):\n{link}\n\nIf you did not ask for it, ignore this message.\n"
            ),
        ),
        (Lang::Es, false) => (
            format!("Su enlace para entrar en {name}"),
            format!(
                "Para entrar en su cuenta de agua de {name}, abra este enlace en los próximos \
                 15 minutos (sirve una sola vez):\n{link}\n\nSi no lo pidió, ignore este mensaje.\n"
            ),
        ),
        (Lang::En, true) => (
            format!("{name} invites you to see your water account online"),
            format!(
                "{name} added your water account to an online sign-in for this email address. \
                 To sign in, open this link within 3 days (it works once):\n{link}\n\n\
                 If you did not expect this, ignore this message.\n"
            ),
        ),
        (Lang::Es, true) => (
            format!("{name} le invita a ver su cuenta de agua en línea"),
            format!(
                "{name} agregó su cuenta de agua a un acceso en línea para este correo. \
                 Para entrar, abra este enlace en los próximos 3 días (sirve una sola vez):\n\
                 {link}\n\nSi no lo esperaba, ignore este mensaje.\n"
            ),
        ),
    };
    let mail = Mail {
        to: to.to_owned(),
        subject,
        body,
    };
    if let Err(e) = state.mailer().send(mail).await {
        tracing::warn!(error = %e, "customer sign-in link not sent");
    }
}

/// Uses a sign-in link (single use, before it expires) and signs in.
pub(crate) async fn confirm_link_flow(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
    token: &Secret,
) -> Result<(Secret, Session), ApiError> {
    let tenant = usable_association(state, ctx, slug).await?;
    match credentials::redeem_sign_in_link(state.db(), state.clock(), token, tenant.id()).await? {
        Some(user) => start(state, ctx, &tenant, user, "link").await,
        None => {
            let mut e = ctx.entry("anonymous".into(), "customer.sign_in", Outcome::Failure);
            e.tenant = Some(tenant.id());
            e.details = Some(serde_json::json!({ "method": "link", "reason": "bad_link" }));
            audit::record_now(state.db(), state.clock(), e).await?;
            Err(ApiError::Invalid(
                "This sign-in link is invalid, used or expired. Ask for a new one.".into(),
            ))
        }
    }
}

/// How linking an account by account number + ZIP ended.
pub(crate) enum Linked {
    /// Linked (or already was).
    Yes(AccountId),
    /// The number and ZIP do not match an account (one answer for all).
    NoMatch,
    /// Too many failures.
    Throttled,
}

/// Links the account that account number + service ZIP prove (the guest
/// pay look-up, with its throttling) to the customer.
pub(crate) async fn link_by_proof(
    state: &AppState,
    ctx: &Ctx,
    c: &Customer,
    number: &str,
    zip: &str,
) -> Result<Linked, ApiError> {
    let found = portal::lookup(state, &c.tenant, &ctx.ip, number, zip).await?;
    let id = match found {
        Found::Account(id, _, _) => id,
        Found::NoMatch | Found::Throttled => {
            let mut e = ctx.entry(c.actor.clone(), "customer.link_account", Outcome::Failure);
            let throttled = matches!(found, Found::Throttled);
            e.details = Some(serde_json::json!({ "throttled": throttled }));
            let tx = state.db().tenant(&c.tenant).await?;
            audit::record_in(&tx, state.clock(), e).await?;
            tx.commit().await?;
            return Ok(if throttled {
                Linked::Throttled
            } else {
                Linked::NoMatch
            });
        }
    };
    let tx = state.db().tenant(&c.tenant).await?;
    customers::link(&tx, state.clock(), c.user, id, Via::Proof, &c.actor).await?;
    let mut e = ctx.entry(c.actor.clone(), "customer.link_account", Outcome::Success);
    e.target = Some(format!("account:{id}"));
    audit::record_in(&tx, state.clock(), e).await?;
    tx.commit().await?;
    Ok(Linked::Yes(id))
}

// ---------------------------------------------------------- what we show

/// One account as its customer sees it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AccountView {
    pub account_id: AccountId,
    pub account_number: String,
    pub holder_name: String,
    /// Amount due now, in cents (negative: a credit).
    pub balance_cents: i64,
    /// Due date of the latest bill.
    pub due_on: Option<chrono::NaiveDate>,
    /// The latest bill.
    pub current_bill: Option<BillView>,
    pub paperless: bool,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The latest bill's use is well above the account's usual use.
    pub high_usage: bool,
}

/// One bill.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BillView {
    pub bill_id: BillId,
    pub number: i64,
    pub period_start: chrono::NaiveDate,
    pub period_end: chrono::NaiveDate,
    pub due_on: chrono::NaiveDate,
    pub total_cents: i64,
    pub usage_units: i64,
    pub usage_unit: String,
}

impl From<&bill::Model> for BillView {
    fn from(b: &bill::Model) -> Self {
        Self {
            bill_id: BillId::from_uuid(b.id),
            number: b.number,
            period_start: b.period_start,
            period_end: b.period_end,
            due_on: b.due_on,
            total_cents: b.total_cents,
            usage_units: b.usage_units,
            usage_unit: b.usage_unit.clone(),
        }
    }
}

/// One payment, as a receipt.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PaymentView {
    pub payment_id: PaymentId,
    pub amount_cents: i64,
    pub status: String,
    pub method: Option<String>,
    pub refunded_cents: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub posted_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<&aqueduct_payments::entity::payment::Model> for PaymentView {
    fn from(p: &aqueduct_payments::entity::payment::Model) -> Self {
        Self {
            payment_id: PaymentId::from_uuid(p.id),
            amount_cents: p.amount_cents,
            status: p.status.clone(),
            method: p.method.clone(),
            refunded_cents: p.refunded_cents,
            created_at: p.created_at,
            posted_at: p.posted_at,
        }
    }
}

/// One month of use (one bill).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct UsageView {
    pub period_end: chrono::NaiveDate,
    pub usage_units: i64,
    pub usage_unit: String,
}

/// Bills newest first (voided revisions left out), at most 13.
async fn recent_bills(tx: &TenantTx, id: AccountId) -> Result<Vec<bill::Model>, ApiError> {
    let all = bills::for_account(tx, id).await?;
    let voided = voided_of(tx, id).await?;
    Ok(recent(&all, &voided))
}

/// The ids of the account's voided bills.
async fn voided_of(tx: &TenantTx, id: AccountId) -> Result<HashSet<uuid::Uuid>, ApiError> {
    Ok(scoped::<bill_void::Entity>(tx)
        .filter(bill_void::Column::BillId.in_subquery(bills_of_account(tx.tenant_id(), id)))
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|v| v.bill_id)
        .collect())
}

/// `SELECT id FROM bills WHERE tenant_id = … AND account_id = …`.
fn bills_of_account(tenant: TenantId, id: AccountId) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(bill::Column::Id)
        .from(bill::Entity)
        .and_where(bill::Column::TenantId.eq(tenant.uuid()))
        .and_where(bill::Column::AccountId.eq(id.uuid()))
        .to_owned()
}

/// The first 13 of `newest_first` that were not voided.
fn recent(newest_first: &[bill::Model], voided: &HashSet<uuid::Uuid>) -> Vec<bill::Model> {
    newest_first
        .iter()
        .filter(|b| !voided.contains(&b.id))
        .take(13)
        .cloned()
        .collect()
}

/// The latest bill's use against the average of the bills before it,
/// by the association's possible-leak rule (the bill run's `high_usage`
/// mail uses the same one).
fn high_usage(newest_first: &[bill::Model], factor: i64) -> bool {
    let Some((latest, before)) = newest_first.split_first() else {
        return false;
    };
    let Ok(n) = i64::try_from(before.len()) else {
        return false;
    };
    if n == 0 {
        return false;
    }
    let usual = before.iter().map(|b| b.usage_units.max(0)).sum::<i64>() / n;
    aqueduct_notify::prefs::is_high_usage(latest.usage_units, usual, factor)
}

/// The view of account `a` from what was read about it.
fn view_of(
    a: account::Model,
    balance_cents: i64,
    recent: &[bill::Model],
    settings: Option<&aqueduct_notify::entity::setting::Model>,
) -> AccountView {
    AccountView {
        account_id: AccountId::from_uuid(a.id),
        account_number: a.account_number,
        holder_name: a.holder_name,
        balance_cents,
        due_on: recent.first().map(|b| b.due_on),
        current_bill: recent.first().map(BillView::from),
        paperless: a.paperless,
        email: a.email,
        phone: a.phone,
        high_usage: high_usage(recent, aqueduct_notify::prefs::high_usage_factor(settings)),
    }
}

/// Up to 13 bills of use, oldest first, from the recent bills.
fn usage_from(recent: &[bill::Model]) -> Vec<UsageView> {
    recent
        .iter()
        .rev()
        .map(|b| UsageView {
            period_end: b.period_end,
            usage_units: b.usage_units,
            usage_unit: b.usage_unit.clone(),
        })
        .collect()
}

pub(crate) async fn account_view(tx: &TenantTx, id: AccountId) -> Result<AccountView, ApiError> {
    let a = accounts::get(tx, id).await?;
    let due = aqueduct_payments::ledger::amount_due(tx, id).await?;
    let recent = recent_bills(tx, id).await?;
    let settings = aqueduct_notify::prefs::settings(tx).await?;
    Ok(view_of(a, due.cents, &recent, settings.as_ref()))
}

pub(crate) async fn bills_of(tx: &TenantTx, id: AccountId) -> Result<Vec<BillView>, ApiError> {
    Ok(bills::for_account(tx, id)
        .await?
        .iter()
        .map(BillView::from)
        .collect())
}

pub(crate) async fn payments_of(
    tx: &TenantTx,
    id: AccountId,
) -> Result<Vec<PaymentView>, ApiError> {
    Ok(aqueduct_payments::checkout::for_account(tx, id)
        .await?
        .iter()
        .map(PaymentView::from)
        .collect())
}

/// Up to 13 bills of use, oldest first.
pub(crate) async fn usage_of(tx: &TenantTx, id: AccountId) -> Result<Vec<UsageView>, ApiError> {
    Ok(usage_from(&recent_bills(tx, id).await?))
}

/// Everything the customer's account page shows.
pub(crate) struct AccountPage {
    pub view: AccountView,
    pub bills: Vec<BillView>,
    pub payments: Vec<PaymentView>,
    pub usage: Vec<UsageView>,
    pub branding: crate::branding::Branding,
    /// Autopay on one of the customer's closed accounts can move here.
    pub autopay_offer: bool,
}

/// The account page's data for account `id` of customer `c`, read in one
/// round trip on PostgreSQL (`Db::read_batch`): the same reads as
/// [`account_view`], [`bills_of`], [`payments_of`], [`usage_of`], the
/// branding and the autopay offer, each from one query.
pub(crate) async fn account_page(
    state: &AppState,
    c: &Customer,
    id: AccountId,
) -> Result<AccountPage, ApiError> {
    use aqueduct_billing::entity::ledger_entry;
    use aqueduct_payments::entity::{autopay_mandate, payment};
    // The customer's accounts (the route's check put `id` among them): the
    // one shown, and the closed ones autopay could move from.
    let linked: Vec<uuid::Uuid> = c.accounts.iter().map(|a| a.uuid()).collect();
    let mut batch = ReadBatch::new(&c.tenant);
    let accounts_slot =
        batch.add(account::Entity::find().filter(account::Column::Id.is_in(linked.clone())));
    let entries_slot = batch.add(
        ledger_entry::Entity::find()
            .filter(ledger_entry::Column::AccountId.eq(id.uuid()))
            .order_by_asc(ledger_entry::Column::Id),
    );
    let bills_slot = batch.add(
        bill::Entity::find()
            .filter(bill::Column::AccountId.eq(id.uuid()))
            .order_by_desc(bill::Column::Number),
    );
    let voids_slot =
        batch
            .add(bill_void::Entity::find().filter(
                bill_void::Column::BillId.in_subquery(bills_of_account(c.tenant.id(), id)),
            ));
    let payments_slot = batch.add(
        payment::Entity::find()
            .filter(payment::Column::AccountId.eq(id.uuid()))
            .order_by_desc(payment::Column::Id),
    );
    let settings_slot = batch.add(aqueduct_notify::entity::setting::Entity::find());
    let mandates_slot = batch.add(
        autopay_mandate::Entity::find().filter(autopay_mandate::Column::AccountId.is_in(linked)),
    );
    let branding_slots = crate::branding::add_to(&mut batch);
    let mut rows = state.db().read_batch(batch).await?;

    let mut accounts = rows.models(accounts_slot)?;
    let Some(at) = accounts.iter().position(|a| a.id == id.uuid()) else {
        return Err(ApiError::NotFound);
    };
    let a = accounts.swap_remove(at);
    let entries = rows.models(entries_slot)?;
    let all_bills = rows.models(bills_slot)?;
    let voided: HashSet<uuid::Uuid> = rows
        .models(voids_slot)?
        .into_iter()
        .map(|v| v.bill_id)
        .collect();
    let recent = recent(&all_bills, &voided);
    let settings = rows.first(settings_slot)?;
    let mandates = rows.models(mandates_slot)?;
    let branding = crate::branding::from_batch(&mut rows, branding_slots, &c.tenant)?;

    let own = mandates.iter().find(|m| m.account_id == a.id);
    let autopay_offer = aqueduct_payments::autopay::may_receive(&a, own)
        && mandates.iter().any(|m| {
            accounts
                .iter()
                .find(|from| from.id == m.account_id)
                .and_then(|from| aqueduct_payments::autopay::offer_of(m, from))
                .is_some()
        });
    let balance = aqueduct_billing::aging::receivable(&entries);
    Ok(AccountPage {
        bills: all_bills.iter().map(BillView::from).collect(),
        payments: rows
            .models(payments_slot)?
            .iter()
            .map(PaymentView::from)
            .collect(),
        usage: usage_from(&recent),
        view: view_of(a, balance, &recent, settings.as_ref()),
        branding,
        autopay_offer,
    })
}

/// The customer's own settings for one account.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsBody {
    pub paperless: Option<bool>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// `en` or `es` for messages; empty: the association's default.
    pub language: Option<String>,
    /// Non-essential notification kinds turned off.
    pub notifications_off: Option<Vec<String>>,
}

/// Applies settings (audited); answers the account and its preferences.
pub(crate) async fn apply_settings(
    state: &AppState,
    ctx: &Ctx,
    c: &Customer,
    id: AccountId,
    body: &SettingsBody,
) -> Result<(AccountView, aqueduct_notify::prefs::Preferences), ApiError> {
    let tx = state.db().tenant(&c.tenant).await?;
    accounts::apply_customer_changes(
        &tx,
        state.clock(),
        id,
        &CustomerChanges {
            paperless: body.paperless,
            email: body.email.clone(),
            phone: body.phone.clone(),
        },
    )
    .await?;
    let current = aqueduct_notify::prefs::get(&tx, id).await?;
    let locale = match body.language.as_deref().map(str::trim) {
        None => current.locale.clone(),
        Some("") => None,
        Some(l) => Some(l.to_owned()),
    };
    let off = body
        .notifications_off
        .clone()
        .unwrap_or(current.disabled.clone());
    let prefs =
        aqueduct_notify::prefs::set(&tx, state.clock(), id, locale.as_deref(), &off).await?;
    let mut e = ctx.entry(c.actor.clone(), "customer.settings", Outcome::Success);
    e.target = Some(format!("account:{id}"));
    e.details = Some(serde_json::json!({
        "paperless": body.paperless,
        "email_changed": body.email.is_some(),
        "phone_changed": body.phone.is_some(),
        "language": body.language,
    }));
    audit::record_in(&tx, state.clock(), e).await?;
    let view = account_view(&tx, id).await?;
    tx.commit().await?;
    Ok((view, prefs))
}

/// The customer's data for one account as a zip (audited by the export).
pub(crate) async fn export_zip(
    state: &AppState,
    c: &Customer,
    id: AccountId,
) -> Result<Response, ApiError> {
    let tx = state.db().tenant(&c.tenant).await?;
    let mut export = aqueduct_retention::export::account(&tx, state.clock(), &c.actor, id)
        .await
        .map_err(crate::privacy::retention_error)?;
    tx.commit().await?;
    let person = credentials::by_id(state.db(), c.user)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    export.json["customer_login"] = serde_json::json!({
        "email": person.email,
        "linked_accounts": c.accounts,
    });
    let bytes =
        aqueduct_retention::export::zip(&export).map_err(crate::privacy::retention_error)?;
    Ok(crate::privacy::zip_response(
        bytes,
        &format!("my-water-account-{id}.zip"),
    ))
}

// ------------------------------------------------------------ JSON API

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInBody {
    slug: String,
    email: String,
    password: Secret,
}

#[derive(Debug, Serialize)]
struct SessionJson {
    email: String,
    association: String,
    accounts: Vec<AccountId>,
    csrf_token: String,
    expires_at: chrono::DateTime<chrono::Utc>,
}

async fn session_view(
    state: &AppState,
    s: &Session,
    tenant: &TenantCtx,
) -> Result<SessionJson, ApiError> {
    let person = credentials::by_id(state.db(), s.user)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let tx = state.db().tenant_with(tenant, Access::Read).await?;
    let accounts = customers::accounts_of(&tx, s.user).await?;
    tx.commit().await?;
    Ok(SessionJson {
        email: person.email,
        association: tenant.slug().to_string(),
        accounts,
        csrf_token: s.csrf_token.clone(),
        expires_at: s.expires_at,
    })
}

async fn signed_in_response(
    state: &AppState,
    slug: &str,
    (token, s): (Secret, Session),
) -> Result<Response, ApiError> {
    let tenant = directory::by_slug(state.db(), slug)
        .await?
        .ok_or(ApiError::NotFound)?;
    let v = session_view(state, &s, &tenant).await?;
    Ok(with_cookie(
        Json(v).into_response(),
        session::set_cookie(state, &token),
    ))
}

async fn sign_in_json(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<SignInBody>,
) -> Result<Response, ApiError> {
    let started = password_flow(&state, &ctx, &body.slug, &body.email, &body.password).await?;
    signed_in_response(&state, &body.slug, started).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkRequest {
    slug: String,
    email: String,
}

async fn request_link_json(
    State(state): State<AppState>,
    ctx: Ctx,
    lang: Lang,
    Json(body): Json<LinkRequest>,
) -> Result<Response, ApiError> {
    link_flow(&state, &ctx, lang, &body.slug, &body.email, false).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "message": LINK_SENT })),
    )
        .into_response())
}

async fn sign_up_json(
    State(state): State<AppState>,
    ctx: Ctx,
    lang: Lang,
    Json(body): Json<LinkRequest>,
) -> Result<Response, ApiError> {
    link_flow(&state, &ctx, lang, &body.slug, &body.email, true).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "message": LINK_SENT })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmLink {
    slug: String,
    token: Secret,
}

async fn confirm_link_json(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<ConfirmLink>,
) -> Result<Response, ApiError> {
    let started = confirm_link_flow(&state, &ctx, &body.slug, &body.token).await?;
    signed_in_response(&state, &body.slug, started).await
}

/// `POST /api/v1/accounts/{account_id}/customer-invitations` (clerk+):
/// links the account to the login of `email` (created when new) and mails
/// it a sign-in link valid for 3 days.
async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    lang: Lang,
    Path(account_id): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, ApiError> {
    let id: AccountId = crate::resources::parse_id(&account_id)?;
    // The account first: another association's id is 404 whatever the body.
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    accounts::get(&tx, id).await?;
    tx.commit().await?;
    let email = body
        .get("email")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| ApiError::Invalid("email is required".into()))?;
    let email = users::normalize_email(email)?;
    // Outside the association's transaction (SQLite has one writer).
    let (user, _) = users::ensure_person(state.db(), state.clock(), &email).await?;
    let tx = state.db().tenant(&caller.tenant).await?;
    customers::link(&tx, state.clock(), user, id, Via::Invitation, &caller.actor).await?;
    let mut e = ctx.entry(caller.actor.clone(), "customer.invited", Outcome::Success);
    e.target = Some(format!("account:{id}"));
    e.details = Some(serde_json::json!({ "customer": format!("customer:{user}") }));
    audit::record_in(&tx, state.clock(), e).await?;
    tx.commit().await?;
    let token = credentials::issue_token(
        state.db(),
        state.clock(),
        user,
        TokenPurpose::CustomerInvite,
        Some(caller.tenant.id()),
    )
    .await?;
    send_link(&state, lang, &caller.tenant, &email, &token, true).await;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "account_id": id, "email": email, "linked": true })),
    )
        .into_response())
}

async fn session_json(
    State(state): State<AppState>,
    c: Customer,
) -> Result<Json<SessionJson>, ApiError> {
    Ok(Json(session_view(&state, &c.session, &c.tenant).await?))
}

pub(crate) async fn accounts_of(
    state: &AppState,
    c: &Customer,
) -> Result<Vec<AccountView>, ApiError> {
    let tx = state.db().tenant_with(&c.tenant, Access::Read).await?;
    let mut out = Vec::with_capacity(c.accounts.len());
    for id in &c.accounts {
        out.push(account_view(&tx, *id).await?);
    }
    tx.commit().await?;
    Ok(out)
}

async fn list_json(
    State(state): State<AppState>,
    c: Customer,
) -> Result<Json<Vec<AccountView>>, ApiError> {
    Ok(Json(accounts_of(&state, &c).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    account_number: String,
    zip: String,
}

async fn link_json(
    State(state): State<AppState>,
    c: Customer,
    ctx: Ctx,
    Json(body): Json<LinkBody>,
) -> Result<Response, ApiError> {
    match link_by_proof(&state, &ctx, &c, &body.account_number, &body.zip).await? {
        Linked::Yes(id) => {
            let tx = state.db().tenant_with(&c.tenant, Access::Read).await?;
            let v = account_view(&tx, id).await?;
            tx.commit().await?;
            Ok((StatusCode::CREATED, Json(v)).into_response())
        }
        Linked::NoMatch => Err(ApiError::Invalid(
            "That account number and service ZIP code do not match an account.".into(),
        )),
        Linked::Throttled => Err(ApiError::TooManyRequests(15 * 60)),
    }
}

/// The account id of a checked path (the customer check already proved
/// it is one of the customer's).
fn id_of(raw: &str) -> Result<AccountId, ApiError> {
    crate::resources::parse_id(raw)
}

async fn account_json(
    State(state): State<AppState>,
    c: Customer,
    Path(account_id): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    let tx = state.db().tenant_with(&c.tenant, Access::Read).await?;
    let v = account_view(&tx, id_of(&account_id)?).await?;
    tx.commit().await?;
    Ok(Json(v))
}

async fn bills_json(
    State(state): State<AppState>,
    c: Customer,
    Path(account_id): Path<String>,
) -> Result<Json<Vec<BillView>>, ApiError> {
    let tx = state.db().tenant_with(&c.tenant, Access::Read).await?;
    let v = bills_of(&tx, id_of(&account_id)?).await?;
    tx.commit().await?;
    Ok(Json(v))
}

/// The bill document (the same print-ready HTML staff see).
pub(crate) async fn bill_html(
    state: &AppState,
    c: &Customer,
    bill_id: &str,
) -> Result<axum::response::Html<String>, ApiError> {
    let id: BillId = crate::resources::parse_id(bill_id)?;
    let tx = state.db().tenant_with(&c.tenant, Access::Read).await?;
    let s = aqueduct_billing::statement::for_bill(&tx, id).await?;
    let logo = crate::resources::bill_document::logo_html(&tx, &c.tenant).await?;
    tx.commit().await?;
    Ok(crate::resources::bill_document::page(
        state,
        &c.tenant,
        &s,
        logo.as_deref(),
    ))
}

async fn bill_document(
    State(state): State<AppState>,
    c: Customer,
    Path((_, bill_id)): Path<(String, String)>,
) -> Result<axum::response::Html<String>, ApiError> {
    bill_html(&state, &c, &bill_id).await
}

async fn payments_json(
    State(state): State<AppState>,
    c: Customer,
    Path(account_id): Path<String>,
) -> Result<Json<Vec<PaymentView>>, ApiError> {
    let tx = state.db().tenant_with(&c.tenant, Access::Read).await?;
    let v = payments_of(&tx, id_of(&account_id)?).await?;
    tx.commit().await?;
    Ok(Json(v))
}

async fn payment_json(
    State(state): State<AppState>,
    c: Customer,
    Path((_, payment_id)): Path<(String, String)>,
) -> Result<Json<PaymentView>, ApiError> {
    let id: PaymentId = crate::resources::parse_id(&payment_id)?;
    let tx = state.db().tenant_with(&c.tenant, Access::Read).await?;
    let p = aqueduct_payments::checkout::get(&tx, id).await?;
    tx.commit().await?;
    Ok(Json(PaymentView::from(&p)))
}

async fn usage_json(
    State(state): State<AppState>,
    c: Customer,
    Path(account_id): Path<String>,
) -> Result<Json<Vec<UsageView>>, ApiError> {
    let tx = state.db().tenant_with(&c.tenant, Access::Read).await?;
    let v = usage_of(&tx, id_of(&account_id)?).await?;
    tx.commit().await?;
    Ok(Json(v))
}

async fn settings_json(
    State(state): State<AppState>,
    c: Customer,
    ctx: Ctx,
    Path(account_id): Path<String>,
    Json(body): Json<SettingsBody>,
) -> Result<Response, ApiError> {
    let (account, prefs) = apply_settings(&state, &ctx, &c, id_of(&account_id)?, &body).await?;
    Ok(Json(serde_json::json!({ "account": account, "notifications": prefs })).into_response())
}

async fn export(
    State(state): State<AppState>,
    c: Customer,
    Path(account_id): Path<String>,
) -> Result<Response, ApiError> {
    export_zip(&state, &c, id_of(&account_id)?).await
}
