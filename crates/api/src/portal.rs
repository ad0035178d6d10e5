//! The customer portal of an association, at `/{slug}/…`: find a bill by
//! account number + service ZIP (no login), pay it through Stripe-hosted
//! Checkout, the receipt, contact details, privacy policy and security
//! statement. English and Spanish; every form works without JavaScript.
//! No card or bank field is ever rendered here.

use crate::branding::Branding;
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::registry::Routes;
use crate::session::{self, CurrentSession};
use crate::state::AppState;
use crate::web::{self, Chrome};
use aqueduct_core::{AccountId, Money, PaymentId};
use aqueduct_payments::PaymentsError;
use aqueduct_payments::checkout::{self, PayRequest, status};
use aqueduct_tenant::throttle::{self, Limit};
use aqueduct_tenant::{Access, TenantCtx, TenantStatus};
use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

/// Failed look-ups per client address.
const FIND_IP: Limit = Limit {
    max: 20,
    window: chrono::Duration::minutes(15),
};
/// Failed look-ups per account number (guessing its ZIP).
const FIND_ACCOUNT: Limit = Limit {
    max: 8,
    window: chrono::Duration::minutes(15),
};

pub(crate) fn routes(r: Routes) -> Routes {
    r.public(Method::GET, "/{slug}", get(home))
        .public(Method::POST, "/{slug}/find", post(find))
        .public(Method::POST, "/{slug}/pay", post(pay))
        .public(Method::POST, "/{slug}/autopay", post(autopay_start))
        .public(Method::GET, "/{slug}/pay/{payment_id}", get(receipt))
        .public(Method::GET, "/{slug}/pay/{payment_id}/done", get(receipt))
        .public(Method::GET, "/{slug}/contact", get(contact))
        .public(Method::GET, "/{slug}/privacy", get(privacy))
        .public(Method::GET, "/{slug}/security", get(security))
        .public(Method::GET, "/{slug}/theme.css", get(theme))
}

pub(crate) fn csrf_input(s: Option<&Extension<CurrentSession>>) -> String {
    s.map_or_else(String::new, |Extension(CurrentSession(s))| {
        format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            session::CSRF_FIELD,
            crate::pages::escape(&s.csrf_token)
        )
    })
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    page: Chrome,
    slug: String,
    suspended: bool,
    csrf: String,
    error: Option<&'static str>,
    account_number: String,
    zip: String,
}

fn home_page(
    lang: Lang,
    tenant: &TenantCtx,
    b: &Branding,
    csrf: String,
    error: Option<&'static str>,
    form: Option<&FindForm>,
) -> Response {
    web::render(&Home {
        page: Chrome::association(lang, lang.t("home.title"), tenant, b),
        slug: tenant.slug().to_string(),
        suspended: tenant.status() == TenantStatus::Suspended,
        csrf,
        error,
        account_number: form.map(|f| f.account_number.clone()).unwrap_or_default(),
        zip: form.map(|f| f.zip.clone()).unwrap_or_default(),
    })
}

async fn home(
    State(state): State<AppState>,
    lang: Lang,
    Path(slug): Path<String>,
    s: Option<Extension<CurrentSession>>,
) -> Result<Response, ApiError> {
    let (tenant, b) = web::association(&state, &slug).await?;
    Ok(home_page(
        lang,
        &tenant,
        &b,
        csrf_input(s.as_ref()),
        None,
        None,
    ))
}

#[derive(Deserialize)]
struct FindForm {
    #[serde(default)]
    account_number: String,
    #[serde(default)]
    zip: String,
}

#[derive(Template)]
#[template(path = "bill.html")]
struct Bill {
    page: Chrome,
    slug: String,
    csrf: String,
    error: Option<&'static str>,
    account_number: String,
    zip: String,
    amount_due: String,
    nothing_due: bool,
    attempt: String,
    other_amount: String,
}

pub(crate) enum Found {
    Account(AccountId, String, Money),
    NoMatch,
    Throttled,
}

/// The account these two facts prove, with one answer for every failure
/// (unknown number, wrong ZIP, malformed input) and failures throttled.
pub(crate) async fn lookup(
    state: &AppState,
    tenant: &TenantCtx,
    ip: &str,
    number: &str,
    zip: &str,
) -> Result<Found, ApiError> {
    let ip_key = throttle::ip_key("portal_find", ip);
    let acct_key = format!(
        "portal_find:acct:{}:{}",
        tenant.id(),
        number.trim().chars().take(32).collect::<String>()
    );
    for (key, limit) in [(&ip_key, FIND_IP), (&acct_key, FIND_ACCOUNT)] {
        if throttle::blocked_for(state.db(), state.clock(), key, limit)
            .await?
            .is_some()
        {
            return Ok(Found::Throttled);
        }
    }
    let tx = state.db().tenant_with(tenant, Access::Read).await?;
    let found = aqueduct_billing::locations::match_account_and_zip(&tx, number, zip).await?;
    let result = match found {
        Some(a) => {
            let id = AccountId::from_uuid(a.id);
            let due = aqueduct_payments::ledger::amount_due(&tx, id).await?;
            Found::Account(id, a.account_number, due)
        }
        None => Found::NoMatch,
    };
    tx.commit().await?;
    if matches!(result, Found::NoMatch) {
        throttle::hit(state.db(), state.clock(), &ip_key, FIND_IP).await?;
        throttle::hit(state.db(), state.clock(), &acct_key, FIND_ACCOUNT).await?;
    }
    Ok(result)
}

#[allow(clippy::too_many_arguments)]
fn bill_page(
    lang: Lang,
    tenant: &TenantCtx,
    b: &Branding,
    csrf: String,
    number: String,
    zip: String,
    due: Money,
    error: Option<&'static str>,
    other_amount: String,
) -> Response {
    web::render(&Bill {
        page: Chrome::association(lang, lang.t("bill.title"), tenant, b),
        slug: tenant.slug().to_string(),
        csrf,
        error,
        account_number: number,
        zip,
        amount_due: Money::usd(due.cents.max(0)).to_string(),
        nothing_due: due.cents <= 0,
        attempt: uuid::Uuid::new_v4().simple().to_string(),
        other_amount,
    })
}

async fn find(
    State(state): State<AppState>,
    lang: Lang,
    Path(slug): Path<String>,
    s: Option<Extension<CurrentSession>>,
    ext: axum::http::Extensions,
    Form(form): Form<FindForm>,
) -> Result<Response, ApiError> {
    let (tenant, b) = web::association(&state, &slug).await?;
    let csrf = csrf_input(s.as_ref());
    if tenant.status() != TenantStatus::Active {
        return Ok(home_page(lang, &tenant, &b, csrf, None, None));
    }
    let ip = session::client_ip(&ext);
    match lookup(&state, &tenant, &ip, &form.account_number, &form.zip).await? {
        Found::Account(_, number, due) => Ok(bill_page(
            lang,
            &tenant,
            &b,
            csrf,
            number,
            form.zip.trim().to_owned(),
            due,
            None,
            String::new(),
        )),
        Found::NoMatch => Ok(home_page(
            lang,
            &tenant,
            &b,
            csrf,
            Some(lang.t("home.no_match")),
            Some(&form),
        )),
        Found::Throttled => Ok((
            StatusCode::TOO_MANY_REQUESTS,
            home_page(
                lang,
                &tenant,
                &b,
                csrf,
                Some(lang.t("home.throttled")),
                Some(&form),
            ),
        )
            .into_response()),
    }
}

#[derive(Deserialize)]
struct PayForm {
    #[serde(default)]
    account_number: String,
    #[serde(default)]
    zip: String,
    #[serde(default)]
    attempt: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    other_amount: String,
}

/// Dollars as a person types them ("25", "25.5", "$1,234.56") in cents.
pub(crate) fn parse_dollars(raw: &str) -> Option<i64> {
    let s: String = raw
        .trim()
        .trim_start_matches('$')
        .chars()
        .filter(|c| *c != ',')
        .collect();
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    if whole.is_empty() && frac.is_empty()
        || whole.len() > 9
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let dollars: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    dollars.checked_mul(100)?.checked_add(cents)
}

/// The association and the account a form's number + ZIP prove, for
/// the actions taken from the bill page (pay, autopay).
struct Proven {
    tenant: TenantCtx,
    b: Branding,
    csrf: String,
    account: AccountId,
    number: String,
    due: Money,
}

/// Finds the account of a bill-page action, or the home page to answer
/// with instead: the association is not taking payments, or the number
/// and ZIP prove nothing (throttled attempts get the same answer).
async fn proven_account(
    state: &AppState,
    lang: Lang,
    slug: &str,
    s: Option<&Extension<CurrentSession>>,
    ext: &axum::http::Extensions,
    account_number: &str,
    zip: &str,
) -> Result<Result<Proven, Response>, ApiError> {
    let (tenant, b) = web::association(state, slug).await?;
    let csrf = csrf_input(s);
    if tenant.status() != TenantStatus::Active {
        return Ok(Err(home_page(lang, &tenant, &b, csrf, None, None)));
    }
    let ip = session::client_ip(ext);
    match lookup(state, &tenant, &ip, account_number, zip).await? {
        Found::Account(account, number, due) => Ok(Ok(Proven {
            tenant,
            b,
            csrf,
            account,
            number,
            due,
        })),
        Found::NoMatch | Found::Throttled => {
            let find = FindForm {
                account_number: account_number.to_owned(),
                zip: zip.to_owned(),
            };
            Ok(Err(home_page(
                lang,
                &tenant,
                &b,
                csrf,
                Some(lang.t("home.no_match")),
                Some(&find),
            )))
        }
    }
}

async fn pay(
    State(state): State<AppState>,
    lang: Lang,
    Path(slug): Path<String>,
    s: Option<Extension<CurrentSession>>,
    ext: axum::http::Extensions,
    Form(form): Form<PayForm>,
) -> Result<Response, ApiError> {
    let found = proven_account(
        &state,
        lang,
        &slug,
        s.as_ref(),
        &ext,
        &form.account_number,
        &form.zip,
    )
    .await?;
    let Proven {
        tenant,
        b,
        csrf,
        account,
        number,
        due,
    } = match found {
        Ok(p) => p,
        Err(page) => return Ok(page),
    };
    let again = |error: &'static str| {
        bill_page(
            lang,
            &tenant,
            &b,
            csrf.clone(),
            number.clone(),
            form.zip.trim().to_owned(),
            due,
            Some(lang.t(error)),
            form.other_amount.clone(),
        )
    };
    let amount = if form.amount == "full" && due.cents > 0 {
        None
    } else {
        match parse_dollars(&form.other_amount) {
            Some(c) if (checkout::MIN_CENTS..=checkout::MAX_CENTS).contains(&c) => {
                Some(Money::usd(c))
            }
            _ => return Ok(again("pay.bad_amount")),
        }
    };
    let attempt = form.attempt.trim();
    if attempt.len() != 32 || !attempt.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(again("pay.failed"));
    }
    let Some(stripe) = state.stripe() else {
        return Ok(again("home.unavailable"));
    };
    let started = checkout::start(
        state.db(),
        &tenant,
        state.clock(),
        stripe,
        PayRequest {
            account,
            amount,
            idempotency_key: format!("portal-{attempt}"),
        },
    )
    .await;
    match started {
        Ok(redirect) => Ok(Redirect::to(&redirect.url).into_response()),
        Err(PaymentsError::Invalid(_)) => Ok(again("pay.bad_amount")),
        Err(PaymentsError::PaymentsDisabled(_) | PaymentsError::NotConfigured) => {
            Ok(again("home.unavailable"))
        }
        Err(e) => {
            tracing::warn!(error = %e, "portal payment could not start");
            Ok(again("pay.failed"))
        }
    }
}

/// Autopay from the bill page: the account is found by number + ZIP (as
/// for paying), then Stripe's setup page saves a card or bank account.
async fn autopay_start(
    State(state): State<AppState>,
    lang: Lang,
    Path(slug): Path<String>,
    s: Option<Extension<CurrentSession>>,
    ext: axum::http::Extensions,
    Form(form): Form<FindForm>,
) -> Result<Response, ApiError> {
    let found = proven_account(
        &state,
        lang,
        &slug,
        s.as_ref(),
        &ext,
        &form.account_number,
        &form.zip,
    )
    .await?;
    let Proven {
        tenant,
        b,
        csrf,
        account,
        number,
        due,
    } = match found {
        Ok(p) => p,
        Err(page) => return Ok(page),
    };
    let again = |error: &'static str| {
        bill_page(
            lang,
            &tenant,
            &b,
            csrf.clone(),
            number.clone(),
            form.zip.trim().to_owned(),
            due,
            Some(lang.t(error)),
            String::new(),
        )
    };
    let Some(stripe) = state.stripe() else {
        return Ok(again("home.unavailable"));
    };
    match aqueduct_payments::autopay::start(state.db(), &tenant, state.clock(), stripe, account)
        .await
    {
        Ok(link) => Ok(Redirect::to(&link.url).into_response()),
        Err(PaymentsError::PaymentsDisabled(_) | PaymentsError::NotConfigured) => {
            Ok(again("home.unavailable"))
        }
        Err(e) => {
            tracing::warn!(error = %e, "portal autopay could not start");
            Ok(again("autopay.failed"))
        }
    }
}

/// The receipt is reached by its URL alone (Stripe sends the payer back to
/// it), so it shows only the last characters of the account number.
fn masked(number: &str) -> String {
    let keep = number.chars().count().min(3);
    let tail: String = number.chars().skip(number.chars().count() - keep).collect();
    format!("••••{tail}")
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct Receipt {
    page: Chrome,
    slug: String,
    status: &'static str,
    status_key: &'static str,
    amount: String,
    reference: String,
    account_number: String,
    balance: String,
}

/// The receipt (Checkout's success and cancel links both come here): paid
/// only once Stripe's webhook said so; bank payments show "processing".
async fn receipt(
    State(state): State<AppState>,
    lang: Lang,
    Path(params): Path<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (tenant, b) = web::association(&state, &get("slug")).await?;
    let id: PaymentId = crate::resources::parse_id(&get("payment_id"))?;
    let tx = state.db().tenant_with(&tenant, Access::Read).await?;
    let p = checkout::get(&tx, id).await?;
    let account = AccountId::from_uuid(p.account_id);
    let acct = aqueduct_billing::accounts::get(&tx, account).await?;
    let due = aqueduct_payments::ledger::amount_due(&tx, account).await?;
    tx.commit().await?;
    let (status, key, refresh) = match p.status.as_str() {
        status::SUCCEEDED => ("paid", "receipt.paid", 0),
        status::PROCESSING => ("processing", "receipt.processing", 5),
        status::FAILED => ("failed", "receipt.failed", 0),
        _ => ("pending", "receipt.pending", 3),
    };
    let mut page = Chrome::association(lang, lang.t("receipt.title"), &tenant, &b);
    page.refresh_seconds = refresh;
    Ok(web::render(&Receipt {
        page,
        slug: tenant.slug().to_string(),
        status,
        status_key: key,
        amount: Money::usd(p.amount_cents).to_string(),
        reference: id.to_string(),
        account_number: masked(&acct.account_number),
        balance: due.to_string(),
    }))
}

#[derive(Template)]
#[template(path = "contact.html")]
struct Contact {
    page: Chrome,
    name: String,
    has_any: bool,
    phone: Option<String>,
    email: Option<String>,
    address: Option<String>,
}

async fn contact(
    State(state): State<AppState>,
    lang: Lang,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let (tenant, b) = web::association(&state, &slug).await?;
    Ok(web::render(&Contact {
        page: Chrome::association(lang, lang.t("contact.title"), &tenant, &b),
        name: tenant.name().to_owned(),
        has_any: b.contact_phone.is_some()
            || b.contact_email.is_some()
            || b.contact_address.is_some(),
        phone: b.contact_phone.clone(),
        email: b.contact_email.clone(),
        address: b.contact_address.clone(),
    }))
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct Privacy {
    page: Chrome,
    slug: String,
    name: String,
}

async fn privacy(
    State(state): State<AppState>,
    lang: Lang,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let (tenant, b) = web::association(&state, &slug).await?;
    Ok(web::render(&Privacy {
        page: Chrome::association(lang, lang.t("privacy.title"), &tenant, &b),
        slug: tenant.slug().to_string(),
        name: tenant.name().to_owned(),
    }))
}

#[derive(Template)]
#[template(path = "security.html")]
struct Security {
    page: Chrome,
    slug: String,
}

async fn security(
    State(state): State<AppState>,
    lang: Lang,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let (tenant, b) = web::association(&state, &slug).await?;
    Ok(web::render(&Security {
        page: Chrome::association(lang, lang.t("security.title"), &tenant, &b),
        slug: tenant.slug().to_string(),
    }))
}

/// The association's colour as a stylesheet (inline styles are refused by
/// the CSP). The page links it with the colour in the query, so it is
/// cached for long and changes with the colour.
async fn theme(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let colour = match web::association(&state, &slug).await {
        Ok((_, b)) => b.colour.unwrap_or_else(|| "#17324d".into()),
        Err(e) => return e.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        format!(":root {{ --brand: {colour}; }}\n"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::parse_dollars;

    #[test]
    fn dollars() {
        assert_eq!(parse_dollars("25"), Some(2500));
        assert_eq!(parse_dollars("$1,234.5"), Some(123_450));
        assert_eq!(parse_dollars(" 0.99 "), Some(99));
        assert_eq!(parse_dollars(".5"), Some(50));
        for bad in ["", ".", "1.234", "-5", "abc", "1e3", "12345678901"] {
            assert_eq!(parse_dollars(bad), None, "{bad}");
        }
    }
}
