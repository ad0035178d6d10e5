//! A customer's HTML pages at `/{slug}/…`: sign-in (password or emailed
//! link), sign-up, the accounts of the login, one account (balance, due
//! date, current bill, bill and payment history, 13-month usage chart with
//! a table alternative, high-usage notice), its settings and "download my
//! data". English and Spanish; every form works without JavaScript.

use crate::branding::Branding;
use crate::customer::{self, Linked, SettingsBody};
use crate::customer_auth::Customer;
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::portal::csrf_input;
use crate::registry::Routes;
use crate::session::{self, CurrentSession};
use crate::signin::{Ctx, with_cookie};
use crate::state::AppState;
use crate::web::{self, Chrome};
use aqueduct_core::{AccountId, Money, Secret};
use aqueduct_tenant::{Access, TenantCtx, TenantStatus, credentials};
use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.public(Method::GET, "/{slug}/signin", get(signin_page))
        .public(
            Method::POST,
            "/{slug}/signin",
            axum::routing::post(signin_post),
        )
        .public(
            Method::POST,
            "/{slug}/signin/link",
            axum::routing::post(link_post),
        )
        .public(Method::GET, "/{slug}/link", get(confirm_page))
        .public(
            Method::POST,
            "/{slug}/link",
            axum::routing::post(confirm_post),
        )
        .public(Method::GET, "/{slug}/signup", get(signup_page))
        .public(
            Method::POST,
            "/{slug}/signup",
            axum::routing::post(signup_post),
        )
        .public(
            Method::POST,
            "/{slug}/signout",
            axum::routing::post(signout_post),
        )
        .customer(Method::GET, "/{slug}/account", get(accounts_page))
        .customer(
            Method::POST,
            "/{slug}/account/link",
            axum::routing::post(link_account_post),
        )
        .customer(
            Method::GET,
            "/{slug}/account/{account_id}",
            get(account_page),
        )
        .customer(
            Method::GET,
            "/{slug}/account/{account_id}/bills/{bill_id}",
            get(bill_page),
        )
        .customer(
            Method::GET,
            "/{slug}/account/{account_id}/settings",
            get(settings_page),
        )
        .customer(
            Method::POST,
            "/{slug}/account/{account_id}/settings",
            axum::routing::post(settings_post),
        )
        .customer(
            Method::GET,
            "/{slug}/account/{account_id}/export",
            get(export),
        )
}

fn money(cents: i64) -> String {
    if cents < 0 {
        format!("-{}", Money::usd(-cents))
    } else {
        Money::usd(cents).to_string()
    }
}

#[derive(Template)]
#[template(path = "customer_signin.html")]
struct SignInPage {
    page: Chrome,
    slug: String,
    mode: &'static str,
    suspended: bool,
    csrf: String,
    error: Option<String>,
    info: Option<String>,
    email: String,
    token: String,
}

struct Shown<'a> {
    mode: &'static str,
    error: Option<String>,
    info: Option<String>,
    email: &'a str,
    token: &'a str,
}

fn signin_view(
    lang: Lang,
    tenant: &TenantCtx,
    b: &Branding,
    csrf: String,
    shown: Shown<'_>,
) -> Response {
    let title = match shown.mode {
        "signup" => lang.t("cust.signup.title"),
        "confirm" => lang.t("cust.confirm.title"),
        _ => lang.t("cust.signin.title"),
    };
    web::render(&SignInPage {
        page: Chrome::association(lang, title, tenant, b),
        slug: tenant.slug().to_string(),
        mode: shown.mode,
        suspended: tenant.status() == TenantStatus::Suspended,
        csrf,
        error: shown.error,
        info: shown.info,
        email: shown.email.to_owned(),
        token: shown.token.to_owned(),
    })
}

/// The message a flow's error shows on a page (with its status).
fn page_error(lang: Lang, e: &ApiError) -> Option<(StatusCode, String)> {
    let key = match e {
        ApiError::BadCredentials => "cust.error.credentials",
        ApiError::TooManyRequests(_) => "cust.error.throttled",
        ApiError::TenantUnavailable => "suspended",
        ApiError::Invalid(_) => "cust.error.invalid",
        _ => return None,
    };
    let status = match e {
        ApiError::BadCredentials => StatusCode::UNAUTHORIZED,
        ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
        ApiError::TenantUnavailable => StatusCode::FORBIDDEN,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    Some((status, lang.t(key).to_owned()))
}

async fn signin_page(
    State(state): State<AppState>,
    lang: Lang,
    Path(slug): Path<String>,
    s: Option<Extension<CurrentSession>>,
) -> Result<Response, ApiError> {
    let (tenant, b) = web::association(&state, &slug).await?;
    let shown = Shown {
        mode: "signin",
        error: None,
        info: None,
        email: "",
        token: "",
    };
    Ok(signin_view(
        lang,
        &tenant,
        &b,
        csrf_input(s.as_ref()),
        shown,
    ))
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn signin_post(
    State(state): State<AppState>,
    lang: Lang,
    ctx: Ctx,
    Path(slug): Path<String>,
    s: Option<Extension<CurrentSession>>,
    Form(form): Form<SignInForm>,
) -> Result<Response, ApiError> {
    let (tenant, b) = web::association(&state, &slug).await?;
    let password = Secret::new(form.password);
    match customer::password_flow(&state, &ctx, &slug, &form.email, &password).await {
        Ok((token, _)) => Ok(with_cookie(
            Redirect::to(&format!("/{slug}/account")).into_response(),
            session::set_cookie(&state, &token),
        )),
        Err(e) => {
            let Some((status, msg)) = page_error(lang, &e) else {
                return Err(e);
            };
            let shown = Shown {
                mode: "signin",
                error: Some(msg),
                info: None,
                email: &form.email,
                token: "",
            };
            let page = signin_view(lang, &tenant, &b, csrf_input(s.as_ref()), shown);
            Ok((status, page).into_response())
        }
    }
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
}

async fn email_flow(
    state: &AppState,
    lang: Lang,
    ctx: &Ctx,
    slug: &str,
    s: Option<&Extension<CurrentSession>>,
    email: &str,
    create: bool,
) -> Result<Response, ApiError> {
    let (tenant, b) = web::association(state, slug).await?;
    let mode = if create { "signup" } else { "signin" };
    let result = customer::link_flow(state, ctx, lang, slug, email, create).await;
    let (status, error, info) = match result {
        Ok(()) => (
            StatusCode::OK,
            None,
            Some(lang.t("cust.link.sent").to_owned()),
        ),
        Err(ApiError::Invalid(_)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(lang.t("cust.error.email").to_owned()),
            None,
        ),
        Err(e) => match page_error(lang, &e) {
            Some((status, msg)) => (status, Some(msg), None),
            None => return Err(e),
        },
    };
    let shown = Shown {
        mode,
        error,
        info,
        email: "",
        token: "",
    };
    Ok((status, signin_view(lang, &tenant, &b, csrf_input(s), shown)).into_response())
}

async fn link_post(
    State(state): State<AppState>,
    lang: Lang,
    ctx: Ctx,
    Path(slug): Path<String>,
    s: Option<Extension<CurrentSession>>,
    Form(form): Form<EmailForm>,
) -> Result<Response, ApiError> {
    email_flow(&state, lang, &ctx, &slug, s.as_ref(), &form.email, false).await
}

async fn signup_page(
    State(state): State<AppState>,
    lang: Lang,
    Path(slug): Path<String>,
    s: Option<Extension<CurrentSession>>,
) -> Result<Response, ApiError> {
    let (tenant, b) = web::association(&state, &slug).await?;
    let shown = Shown {
        mode: "signup",
        error: None,
        info: None,
        email: "",
        token: "",
    };
    Ok(signin_view(
        lang,
        &tenant,
        &b,
        csrf_input(s.as_ref()),
        shown,
    ))
}

async fn signup_post(
    State(state): State<AppState>,
    lang: Lang,
    ctx: Ctx,
    Path(slug): Path<String>,
    s: Option<Extension<CurrentSession>>,
    Form(form): Form<EmailForm>,
) -> Result<Response, ApiError> {
    email_flow(&state, lang, &ctx, &slug, s.as_ref(), &form.email, true).await
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The emailed link lands here: a button, so that opening the link (or a
/// mail scanner fetching it) does not use it up; only the POST does.
async fn confirm_page(
    State(state): State<AppState>,
    lang: Lang,
    Path(slug): Path<String>,
    s: Option<Extension<CurrentSession>>,
    Query(q): Query<TokenQuery>,
) -> Result<Response, ApiError> {
    let (tenant, b) = web::association(&state, &slug).await?;
    let token: String = q
        .token
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(64)
        .collect();
    let shown = Shown {
        mode: "confirm",
        error: None,
        info: None,
        email: "",
        token: &token,
    };
    Ok(signin_view(
        lang,
        &tenant,
        &b,
        csrf_input(s.as_ref()),
        shown,
    ))
}

async fn confirm_post(
    State(state): State<AppState>,
    lang: Lang,
    ctx: Ctx,
    Path(slug): Path<String>,
    s: Option<Extension<CurrentSession>>,
    Form(form): Form<TokenQuery>,
) -> Result<Response, ApiError> {
    let (tenant, b) = web::association(&state, &slug).await?;
    let token = Secret::new(form.token);
    match customer::confirm_link_flow(&state, &ctx, &slug, &token).await {
        Ok((cookie, _)) => Ok(with_cookie(
            Redirect::to(&format!("/{slug}/account")).into_response(),
            session::set_cookie(&state, &cookie),
        )),
        Err(e) => {
            let Some((status, _)) = page_error(lang, &e) else {
                return Err(e);
            };
            let msg = if matches!(e, ApiError::Invalid(_)) {
                lang.t("cust.error.link").to_owned()
            } else {
                page_error(lang, &e).map(|(_, m)| m).unwrap_or_default()
            };
            let shown = Shown {
                mode: "signin",
                error: Some(msg),
                info: None,
                email: "",
                token: "",
            };
            let page = signin_view(lang, &tenant, &b, csrf_input(s.as_ref()), shown);
            Ok((status, page).into_response())
        }
    }
}

async fn signout_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    crate::signin::end_session(&state, &ctx).await?;
    Ok(with_cookie(
        Redirect::to(&format!("/{slug}")).into_response(),
        session::clear_cookie(&state),
    ))
}

fn customer_csrf(c: &Customer) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        session::CSRF_FIELD,
        crate::pages::escape(&c.session.csrf_token)
    )
}

struct AccountRow {
    id: AccountId,
    number: String,
    holder: String,
    balance: String,
    due_on: String,
}

#[derive(Template)]
#[template(path = "customer_accounts.html")]
struct AccountsPage {
    page: Chrome,
    slug: String,
    csrf: String,
    email: String,
    error: Option<String>,
    accounts: Vec<AccountRow>,
}

async fn accounts_view(
    state: &AppState,
    lang: Lang,
    c: &Customer,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let (_, b) = web::association(state, c.tenant.slug().as_str()).await?;
    let accounts = customer::accounts_of(state, c)
        .await?
        .into_iter()
        .map(|a| AccountRow {
            id: a.account_id,
            number: a.account_number,
            holder: a.holder_name,
            balance: money(a.balance_cents),
            due_on: a.due_on.map(|d| d.to_string()).unwrap_or_default(),
        })
        .collect();
    let email = credentials::by_id(state.db(), c.user)
        .await?
        .map(|p| p.email)
        .unwrap_or_default();
    Ok(web::render(&AccountsPage {
        page: Chrome::association(lang, lang.t("cust.accounts.title"), &c.tenant, &b),
        slug: c.tenant.slug().to_string(),
        csrf: customer_csrf(c),
        email,
        error,
        accounts,
    }))
}

async fn accounts_page(
    State(state): State<AppState>,
    lang: Lang,
    c: Customer,
) -> Result<Response, ApiError> {
    accounts_view(&state, lang, &c, None).await
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(default)]
    account_number: String,
    #[serde(default)]
    zip: String,
}

async fn link_account_post(
    State(state): State<AppState>,
    lang: Lang,
    ctx: Ctx,
    c: Customer,
    Form(form): Form<LinkForm>,
) -> Result<Response, ApiError> {
    let slug = c.tenant.slug().to_string();
    match customer::link_by_proof(&state, &ctx, &c, &form.account_number, &form.zip).await? {
        Linked::Yes(id) => Ok(Redirect::to(&format!("/{slug}/account/{id}")).into_response()),
        Linked::NoMatch => {
            let page = accounts_view(&state, lang, &c, Some(lang.t("home.no_match").into()));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page.await?).into_response())
        }
        Linked::Throttled => {
            let page = accounts_view(&state, lang, &c, Some(lang.t("home.throttled").into()));
            Ok((StatusCode::TOO_MANY_REQUESTS, page.await?).into_response())
        }
    }
}

struct BillRow {
    id: String,
    number: i64,
    period: String,
    due_on: String,
    total: String,
}

struct PaymentRow {
    id: String,
    date: String,
    amount: String,
    status: String,
}

#[derive(Template)]
#[template(path = "customer_account.html")]
struct AccountPage {
    page: Chrome,
    slug: String,
    id: AccountId,
    info: Option<String>,
    number: String,
    holder: String,
    balance: String,
    due_on: String,
    paperless: bool,
    high_usage: bool,
    current_bill: Option<String>,
    chart: String,
    usage: Vec<(String, String)>,
    bills: Vec<BillRow>,
    payments: Vec<PaymentRow>,
    autopay_offer: bool,
}

#[derive(Deserialize)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

async fn account_page(
    State(state): State<AppState>,
    lang: Lang,
    c: Customer,
    Path((_, account_id)): Path<(String, String)>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, ApiError> {
    let id: AccountId = crate::resources::parse_id(&account_id)?;
    // One round trip on PostgreSQL for everything the page shows.
    let customer::AccountPage {
        view: a,
        bills,
        payments,
        usage,
        branding: b,
        autopay_offer,
    } = customer::account_page(&state, &c, id).await?;
    let history: Vec<_> = usage
        .iter()
        // A true-up bill after an over-estimate has negative use: no bar.
        .map(|u| (u.period_end, u.usage_units.max(0)))
        .collect();
    let unit = usage
        .first()
        .map(|u| u.usage_unit.clone())
        .unwrap_or_default();
    let chart = crate::resources::bill_document::chart_labelled(
        &history,
        &unit,
        lang.t("cust.usage.title"),
    );
    Ok(web::render(&AccountPage {
        page: Chrome::association(lang, lang.t("bill.account"), &c.tenant, &b),
        slug: c.tenant.slug().to_string(),
        id,
        info: q.saved.map(|_| lang.t("cust.saved").to_owned()),
        number: a.account_number,
        holder: a.holder_name,
        balance: money(a.balance_cents),
        due_on: a.due_on.map(|d| d.to_string()).unwrap_or_default(),
        paperless: a.paperless,
        high_usage: a.high_usage,
        current_bill: a.current_bill.map(|b| b.bill_id.to_string()),
        chart,
        usage: usage
            .iter()
            .map(|u| {
                (
                    u.period_end.format("%b %Y").to_string(),
                    format!("{} {}", u.usage_units, u.usage_unit),
                )
            })
            .collect(),
        bills: bills
            .iter()
            .map(|b| BillRow {
                id: b.bill_id.to_string(),
                number: b.number,
                period: format!("{} – {}", b.period_start, b.period_end),
                due_on: b.due_on.to_string(),
                total: money(b.total_cents),
            })
            .collect(),
        payments: payments
            .iter()
            .map(|p| PaymentRow {
                id: p.payment_id.to_string(),
                date: p.created_at.date_naive().to_string(),
                amount: money(p.amount_cents),
                status: p.status.clone(),
            })
            .collect(),
        autopay_offer,
    }))
}

async fn bill_page(
    State(state): State<AppState>,
    c: Customer,
    Path((_, _, bill_id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    Ok(customer::bill_html(&state, &c, &bill_id)
        .await?
        .into_response())
}

#[derive(Template)]
#[template(path = "customer_settings.html")]
struct SettingsPage {
    page: Chrome,
    slug: String,
    id: AccountId,
    csrf: String,
    error: Option<String>,
    paperless: bool,
    email: String,
    phone: String,
    language: String,
    /// (kind, on)
    optional: Vec<(String, bool)>,
}

async fn settings_view(
    state: &AppState,
    lang: Lang,
    c: &Customer,
    id: AccountId,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let (_, b) = web::association(state, c.tenant.slug().as_str()).await?;
    let tx = state.db().tenant_with(&c.tenant, Access::Read).await?;
    let a = customer::account_view(&tx, id).await?;
    let prefs = aqueduct_notify::prefs::get(&tx, id).await?;
    tx.commit().await?;
    Ok(web::render(&SettingsPage {
        page: Chrome::association(lang, lang.t("cust.settings.title"), &c.tenant, &b),
        slug: c.tenant.slug().to_string(),
        id,
        csrf: customer_csrf(c),
        error,
        paperless: a.paperless,
        email: a.email.unwrap_or_default(),
        phone: a.phone.unwrap_or_default(),
        language: prefs.locale.clone().unwrap_or_default(),
        optional: prefs
            .optional
            .iter()
            .map(|k| (k.clone(), !prefs.disabled.contains(k)))
            .collect(),
    }))
}

async fn settings_page(
    State(state): State<AppState>,
    lang: Lang,
    c: Customer,
    Path((_, account_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id: AccountId = crate::resources::parse_id(&account_id)?;
    settings_view(&state, lang, &c, id, None).await
}

async fn settings_post(
    State(state): State<AppState>,
    lang: Lang,
    ctx: Ctx,
    c: Customer,
    Path((_, account_id)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let id: AccountId = crate::resources::parse_id(&account_id)?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let optional: Vec<String> = aqueduct_notify::prefs::optional_kinds()
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    let off = optional
        .into_iter()
        .filter(|k| field(&format!("notify_{k}")).is_none())
        .collect();
    let body = SettingsBody {
        paperless: field("paperless").map(|v| v == "on"),
        email: field("email"),
        phone: field("phone"),
        language: field("language"),
        notifications_off: Some(off),
    };
    match customer::apply_settings(&state, &ctx, &c, id, &body).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/{}/account/{id}?saved=1", c.tenant.slug())).into_response())
        }
        Err(ApiError::Invalid(msg)) => {
            let page = settings_view(&state, lang, &c, id, Some(msg)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e),
    }
}

async fn export(
    State(state): State<AppState>,
    c: Customer,
    Path((_, account_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id: AccountId = crate::resources::parse_id(&account_id)?;
    customer::export_zip(&state, &c, id).await
}
