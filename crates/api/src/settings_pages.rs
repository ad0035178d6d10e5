//! Workspace settings at `/app/settings…` (admins): the association's
//! profile, colours and notice banner (`branding::save`, as
//! `PUT /api/v1/branding`), the logo upload (`branding::logo::store`, as
//! `PUT /api/v1/branding/logo`, a multipart form), the late-fee rule (`late_fees::set_rule`, as
//! `PUT /api/v1/late-fee-rule`), convenience fees
//! (`fees::set_convenience_fees`), links to staff, API keys and
//! notification settings (`staff_pages`, `notification_pages`), and the audit log
//! (`audit::search_in`, as `GET /api/v1/audit`).

use crate::auth::Caller;
use crate::branding::{self, Branding, logo};
use crate::error::ApiError;
use crate::multipart;
use crate::portal::parse_dollars;
use crate::registry::Routes;
use crate::session::CurrentSession;
use crate::state::AppState;
use crate::web;
use crate::workspace::{chrome, csrf_input, form_value, usd};
use aqueduct_billing::late_fees::{self, Rule};
use aqueduct_payments::fees::{self, ConvenienceFees, FeeRate};
use aqueduct_tenant::audit::{self, AuditEntry, AuditFilter, Outcome};
use aqueduct_tenant::{Access, Role};
use askama::Template;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/app/settings", Role::Admin, get(index))
        .tenant(
            Method::GET,
            "/app/settings/branding",
            Role::Admin,
            get(branding_page),
        )
        .tenant(
            Method::POST,
            "/app/settings/branding",
            Role::Admin,
            post(branding_save),
        )
        .tenant(
            Method::POST,
            "/app/settings/branding/logo",
            Role::Admin,
            post(logo_upload),
        )
        .tenant(
            Method::POST,
            "/app/settings/branding/logo/remove",
            Role::Admin,
            post(logo_remove),
        )
        .tenant(
            Method::POST,
            "/app/settings/late-fee",
            Role::Admin,
            post(late_fee_save),
        )
        .tenant(
            Method::POST,
            "/app/settings/fees",
            Role::Admin,
            post(fees_save),
        )
        .tenant(Method::GET, "/app/audit", Role::Admin, get(audit_page))
}

#[derive(Template)]
#[template(path = "app_settings.html")]
struct SettingsPage {
    page: web::Chrome,
    csrf: String,
    message: Option<String>,
    error: Option<String>,
    late_fee: Option<[String; 4]>,
    fee_form: [String; 4],
    late_form: [String; 4],
}

#[derive(Deserialize)]
struct Saved {
    saved: Option<String>,
}

fn dollars(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn percent(bp: i32) -> String {
    format!("{}.{:02}", bp / 100, bp % 100)
}

async fn settings_page(
    state: &AppState,
    caller: &Caller,
    s: Option<&Extension<CurrentSession>>,
    message: Option<String>,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rule = late_fees::rule(&tx).await?;
    let conv = fees::convenience_fees(&tx).await?;
    tx.commit().await?;
    Ok(web::render(&SettingsPage {
        page: chrome(caller, s, "Settings", "settings"),
        csrf: csrf_input(s),
        message,
        error,
        late_fee: rule.map(|r| {
            [
                usd(r.flat_cents),
                format!("{} %", percent(r.percent_bp)),
                r.grace_days.to_string(),
                usd(r.min_balance_cents),
            ]
        }),
        late_form: rule.map_or_else(
            || ["5.00".into(), "0.00".into(), "15".into(), "10.00".into()],
            |r| {
                [
                    dollars(r.flat_cents),
                    percent(r.percent_bp),
                    r.grace_days.to_string(),
                    dollars(r.min_balance_cents),
                ]
            },
        ),
        fee_form: [
            percent(conv.card.basis_points),
            dollars(conv.card.fixed_cents),
            percent(conv.us_bank_account.basis_points),
            dollars(conv.us_bank_account.fixed_cents),
        ],
    }))
}

async fn index(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Query(q): Query<Saved>,
) -> Result<Response, ApiError> {
    let message = q.saved.map(|what| format!("Saved the {what}."));
    settings_page(&state, &caller, s.as_ref(), message, None).await
}

/// Percent (`1.5`) to basis points, refusing more than two decimals.
fn basis_points(raw: &str) -> Option<i32> {
    let raw = raw.trim().trim_end_matches('%').trim();
    let raw = if raw.is_empty() { "0" } else { raw };
    let d: rust_decimal::Decimal = raw.parse().ok()?;
    let bp = d * rust_decimal::Decimal::from(100);
    if bp.fract() != rust_decimal::Decimal::ZERO {
        return None;
    }
    i32::try_from(bp.mantissa() / 10_i128.pow(bp.scale())).ok()
}

fn cents(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Some(0);
    }
    parse_dollars(raw)
}

async fn audit_change(state: &AppState, caller: &Caller, action: &str) -> Result<(), ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    audit::record_in(
        &tx,
        state.clock(),
        AuditEntry {
            tenant: None,
            actor: caller.actor.clone(),
            action: action.into(),
            target: None,
            outcome: Outcome::Success,
            request_id: None,
            ip: None,
            details: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn late_fee_save(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    body: String,
) -> Result<Response, ApiError> {
    let f = |n: &str| form_value(&body, n).unwrap_or_default();
    let parsed = (
        cents(&f("flat")),
        basis_points(&f("percent")),
        f("grace_days").trim().parse::<i32>().ok(),
        cents(&f("min_balance")),
    );
    let (Some(flat_cents), Some(percent_bp), Some(grace_days), Some(min_balance_cents)) = parsed
    else {
        return settings_page(
            &state,
            &caller,
            s.as_ref(),
            None,
            Some("Late fee: give dollars like 5.00, a percentage like 1.5 and whole days.".into()),
        )
        .await;
    };
    let tx = state.db().tenant(&caller.tenant).await?;
    let saved = late_fees::set_rule(
        &tx,
        state.clock(),
        Rule {
            flat_cents,
            percent_bp,
            grace_days,
            min_balance_cents,
        },
    )
    .await;
    if let Err(e) = saved {
        tx.rollback().await?;
        let msg = ApiError::from(e).to_string();
        return settings_page(&state, &caller, s.as_ref(), None, Some(msg)).await;
    }
    tx.commit().await?;
    audit_change(&state, &caller, "late_fee_rule.updated").await?;
    Ok(Redirect::to("/app/settings?saved=late+fee").into_response())
}

async fn fees_save(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    body: String,
) -> Result<Response, ApiError> {
    let f = |n: &str| form_value(&body, n).unwrap_or_default();
    let parsed = (
        basis_points(&f("card_percent")),
        cents(&f("card_fixed")),
        basis_points(&f("bank_percent")),
        cents(&f("bank_fixed")),
    );
    let (Some(cbp), Some(cfix), Some(bbp), Some(bfix)) = parsed else {
        return settings_page(
            &state,
            &caller,
            s.as_ref(),
            None,
            Some("Convenience fees: give a percentage like 2.5 and dollars like 0.30.".into()),
        )
        .await;
    };
    let tx = state.db().tenant(&caller.tenant).await?;
    let saved = fees::set_convenience_fees(
        &tx,
        state.clock(),
        ConvenienceFees {
            card: FeeRate {
                basis_points: cbp,
                fixed_cents: cfix,
            },
            us_bank_account: FeeRate {
                basis_points: bbp,
                fixed_cents: bfix,
            },
        },
    )
    .await;
    if let Err(e) = saved {
        tx.rollback().await?;
        let msg = ApiError::from(e).to_string();
        return settings_page(&state, &caller, s.as_ref(), None, Some(msg)).await;
    }
    tx.commit().await?;
    audit_change(&state, &caller, "convenience_fees.updated").await?;
    Ok(Redirect::to("/app/settings?saved=convenience+fees").into_response())
}

#[derive(Template)]
#[template(path = "app_branding.html")]
struct BrandingPage {
    page: web::Chrome,
    csrf: String,
    b: [String; 6],
    error: Option<String>,
    /// What was saved (`1` for the profile, `logo`, `logo-removed`).
    saved: Option<String>,
    /// The current logo as an `<img>` (uploaded or a path), if any.
    logo_img: Option<String>,
    /// The uploaded logo's description, e.g. "PNG, 240 × 80 pixels, 12 KiB".
    logo_desc: Option<String>,
}

fn fields(b: &Branding) -> [String; 6] {
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    [
        v(&b.contact_phone),
        v(&b.contact_email),
        v(&b.contact_address),
        v(&b.colour),
        v(&b.logo_url),
        v(&b.notice),
    ]
}

/// The branding page for `form` (what the admin typed, or what is
/// stored) with the stored logo.
async fn render_branding(
    state: &AppState,
    caller: &Caller,
    s: Option<&Extension<CurrentSession>>,
    form: Option<&Branding>,
    error: Option<String>,
    saved: Option<String>,
) -> Result<Response, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let stored = branding::load_for(&tx, &caller.tenant).await?;
    tx.commit().await?;
    let logo_desc = stored.logo.as_ref().map(|l| {
        format!(
            "{}, {} × {} pixels, {} KiB",
            if l.content_type == "image/png" {
                "PNG"
            } else {
                "JPEG"
            },
            l.width,
            l.height,
            l.bytes.div_ceil(1024)
        )
    });
    Ok(web::render(&BrandingPage {
        page: chrome(caller, s, "Profile and notices", "settings"),
        csrf: csrf_input(s),
        b: fields(form.unwrap_or(&stored)),
        error,
        saved,
        logo_img: stored.logo_img("Current logo", (240, 80)),
        logo_desc,
    }))
}

async fn branding_page(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Query(q): Query<Saved>,
) -> Result<Response, ApiError> {
    render_branding(&state, &caller, s.as_ref(), None, None, q.saved).await
}

async fn branding_save(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    body: String,
) -> Result<Response, ApiError> {
    let f = |n: &str| {
        form_value(&body, n)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let wanted = Branding {
        contact_phone: f("contact_phone"),
        contact_email: f("contact_email"),
        contact_address: f("contact_address"),
        colour: f("colour"),
        logo_url: f("logo_url"),
        notice: f("notice"),
        logo: None,
    };
    match branding::save(&state, &caller, wanted.clone()).await {
        Ok(_) => Ok(Redirect::to("/app/settings/branding?saved=1").into_response()),
        Err(ApiError::Invalid(m)) => {
            render_branding(&state, &caller, s.as_ref(), Some(&wanted), Some(m), None).await
        }
        Err(e) => Err(e),
    }
}

/// The logo upload form (`multipart/form-data`, the file in part `logo`).
async fn logo_upload(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let file = multipart::boundary(ct).and_then(|b| {
        multipart::parts(&body, b)
            .into_iter()
            .find(|p| p.name == "logo")
            .map(|p| p.data.to_vec())
    });
    let result = match file.filter(|f| !f.is_empty()) {
        None => Err(ApiError::Invalid(
            "Choose a PNG or JPEG file to upload.".into(),
        )),
        Some(data) => logo::store(&state, &caller, &data, None).await,
    };
    match result {
        Ok(_) => Ok(Redirect::to("/app/settings/branding?saved=logo").into_response()),
        Err(ApiError::Invalid(m)) => {
            render_branding(&state, &caller, s.as_ref(), None, Some(m), None).await
        }
        Err(e) => Err(e),
    }
}

/// The "Remove logo" button.
async fn logo_remove(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    logo::remove(&state, &caller).await?;
    Ok(Redirect::to("/app/settings/branding?saved=logo-removed").into_response())
}

#[derive(Deserialize)]
struct AuditQuery {
    action: Option<String>,
    actor: Option<String>,
}

#[derive(Template)]
#[template(path = "app_audit.html")]
struct AuditPage {
    page: web::Chrome,
    action: String,
    actor: String,
    tenant: String,
    show_tenant: bool,
    rows: Vec<[String; 6]>,
}

async fn audit_page(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    let action = q.action.unwrap_or_default().trim().to_owned();
    let actor = q.actor.unwrap_or_default().trim().to_owned();
    let f = AuditFilter {
        action: Some(action.clone()).filter(|a| !a.is_empty()),
        actor: Some(actor.clone()).filter(|a| !a.is_empty()),
        since: None,
        until: None,
        before: None,
        tenant: None,
        limit: 100,
    };
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = audit::search_in(&tx, &f).await?;
    tx.commit().await?;
    Ok(web::render(&AuditPage {
        page: chrome(&caller, s.as_ref(), "Audit log", "settings"),
        action,
        actor,
        tenant: String::new(),
        show_tenant: false,
        rows: audit_rows(rows, |_| String::new()),
    }))
}

/// Table rows of audit entries: when, who, what, target, outcome and
/// (operators) which association.
pub(crate) fn audit_rows(
    rows: Vec<aqueduct_tenant::entity::audit_log::Model>,
    tenant_of: impl Fn(Option<uuid::Uuid>) -> String,
) -> Vec<[String; 6]> {
    rows.into_iter()
        .map(|r| {
            [
                r.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                r.actor,
                r.action,
                r.target.unwrap_or_default(),
                r.outcome,
                tenant_of(r.tenant_id),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{basis_points, cents};

    #[test]
    fn percentages_and_dollars() {
        assert_eq!(basis_points("1.5"), Some(150));
        assert_eq!(basis_points("2.75 %"), Some(275));
        assert_eq!(basis_points(""), Some(0));
        assert_eq!(basis_points("1.555"), None);
        assert_eq!(basis_points("x"), None);
        assert_eq!(cents(""), Some(0));
        assert_eq!(cents("5.00"), Some(500));
    }
}
