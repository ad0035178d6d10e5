//! Getting an association going, in the workspace: the onboarding
//! checklist on `/app` (each step done or not, derived from the data), the
//! Stripe Connect page, CSV imports of customers and reads with a preview
//! and a per-row error report, and "go live". Forms work without
//! JavaScript; uploads are `multipart/form-data` with the CSRF token as a
//! part.

use crate::auth::Caller;
use crate::branding;
use crate::error::ApiError;
use crate::multipart;
use crate::registry::Routes;
use crate::session::CurrentSession;
use crate::signin::Ctx;
use crate::state::AppState;
use crate::web;
use crate::workspace::{chrome, csrf_input};
use aqueduct_billing::entity::{bill_run, meter, meter_read};
use aqueduct_billing::{accounts, customer_imports, imports, mappings, rates};
use aqueduct_payments::connect;
use aqueduct_tenant::audit::{self, Outcome};
use aqueduct_tenant::{Access, PlatformAccess, Role, TenantStatus, directory, scoped};
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
use serde::Deserialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/app/stripe", Role::Admin, get(stripe_page))
        .tenant(
            Method::POST,
            "/app/stripe/connect",
            Role::Admin,
            post(stripe_connect),
        )
        .tenant(Method::POST, "/app/go-live", Role::Admin, post(go_live))
        .tenant(
            Method::GET,
            "/app/imports/customers",
            Role::Clerk,
            get(customers_page),
        )
        .tenant(
            Method::POST,
            "/app/imports/customers",
            Role::Clerk,
            post(customers_upload),
        )
        .tenant(
            Method::GET,
            "/app/imports/reads",
            Role::Clerk,
            get(reads_page),
        )
        .tenant(
            Method::POST,
            "/app/imports/reads",
            Role::Clerk,
            post(reads_upload),
        )
}

/// One step of the onboarding checklist.
pub(crate) struct Step {
    pub title: &'static str,
    pub hint: &'static str,
    pub href: &'static str,
    pub action: &'static str,
    pub done: bool,
}

/// The checklist, each step derived from what is stored.
pub(crate) struct Checklist {
    pub steps: Vec<Step>,
    pub done: usize,
    pub all_done: bool,
    pub can_go_live: bool,
}

/// The checklist for an association still `onboarding` (none otherwise).
pub(crate) async fn checklist(
    state: &AppState,
    caller: &Caller,
) -> Result<Option<Checklist>, ApiError> {
    if caller.tenant.status() != TenantStatus::Onboarding {
        return Ok(None);
    }
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let b = branding::load(&tx).await?;
    let stripe = connect::account(&tx).await?;
    let schedules = rates::list(&tx).await?.len();
    let accounts = accounts::count(&tx).await?;
    let meters = scoped::<meter::Entity>(&tx).count(tx.conn()).await?;
    let reads = scoped::<meter_read::Entity>(&tx).count(tx.conn()).await?;
    let finalized = scoped::<bill_run::Entity>(&tx)
        .filter(bill_run::Column::Status.eq("finalized"))
        .count(tx.conn())
        .await?;
    tx.commit().await?;
    let steps = vec![
        Step {
            title: "Association profile",
            hint: "Contact phone or email customers see on every page.",
            href: "/app/settings/branding",
            action: "Edit the profile",
            done: b.contact_phone.is_some() || b.contact_email.is_some(),
        },
        Step {
            title: "Stripe Connect onboarding",
            hint: "Stripe verifies the association so customers can pay online.",
            href: "/app/stripe",
            action: "Connect with Stripe",
            done: stripe.is_some_and(|a| a.charges_enabled),
        },
        Step {
            title: "Rate schedule",
            hint: "The tariff bills are priced with.",
            href: "/app/rates",
            action: "Set up rates",
            done: schedules > 0,
        },
        Step {
            title: "Customers and meters",
            hint: "Import the accounts, service addresses and meters from a CSV file.",
            href: "/app/imports/customers",
            action: "Import customers",
            done: accounts > 0 && meters > 0,
        },
        Step {
            title: "Meter reads",
            hint: "Import the reads (or type them in by route).",
            href: "/app/imports/reads",
            action: "Import reads",
            done: reads > 0,
        },
        Step {
            title: "First bill run",
            hint: "Create a run, check its preview and finalize it.",
            href: "/app/bill-runs",
            action: "Run bills",
            done: finalized > 0,
        },
    ];
    let done = steps.iter().filter(|s| s.done).count();
    let all_done = done == steps.len();
    Ok(Some(Checklist {
        all_done,
        done,
        can_go_live: all_done && caller.role >= Role::Admin,
        steps,
    }))
}

/// "Go live": an onboarding association whose checklist is complete
/// becomes active (audited on the platform path and in its own log).
async fn go_live(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    let Some(list) = checklist(&state, &caller).await? else {
        return Ok(Redirect::to("/app").into_response());
    };
    if !list.all_done {
        return Err(ApiError::Conflict(
            "finish every step of the checklist before going live".into(),
        ));
    }
    let (db, clock) = (state.db(), state.clock());
    let platform = db
        .platform(
            PlatformAccess {
                actor: caller.actor.clone(),
                reason: "tenant.go_live",
                request_id: ctx.request_id.clone(),
            },
            clock,
        )
        .await?;
    directory::set_status(&platform, clock, caller.tenant.id(), TenantStatus::Active).await?;
    platform.commit().await?;
    let tx = db.tenant(&caller.tenant).await?;
    let e = ctx.entry(caller.actor.clone(), "tenant.go_live", Outcome::Success);
    audit::record_in(&tx, clock, e).await?;
    tx.commit().await?;
    Ok(Redirect::to("/app?live=1").into_response())
}

#[derive(Template)]
#[template(path = "app_stripe.html")]
struct StripePage {
    page: web::Chrome,
    csrf: String,
    configured: bool,
    st: connect::ConnectStatus,
    error: Option<String>,
}

#[derive(Deserialize)]
struct StripeQuery {
    from: Option<String>,
}

/// The connected account's state. Stripe's return and refresh links lead
/// here: on the way back the account is read from Stripe once (the
/// `account.updated` webhook may still be on its way).
async fn stripe_page(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Query(q): Query<StripeQuery>,
) -> Result<Response, ApiError> {
    let mut error = None;
    if q.from.is_some()
        && let Some(stripe) = state.stripe()
        && let Err(e) = connect::refresh(state.db(), &caller.tenant, state.clock(), stripe).await
    {
        error = Some(format!(
            "Stripe could not be asked for the account's state just now ({}); this page shows what is stored.",
            ApiError::from(e)
        ));
    }
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let st = connect::ConnectStatus::load(&tx).await?;
    tx.commit().await?;
    Ok(web::render(&StripePage {
        page: chrome(&caller, s.as_ref(), "Online payments", "setup"),
        csrf: csrf_input(s.as_ref()),
        configured: state.stripe().is_some(),
        st,
        error,
    }))
}

/// "Connect with Stripe": a fresh onboarding link, then off to Stripe.
async fn stripe_connect(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let Some(stripe) = state.stripe() else {
        return Err(ApiError::Unavailable(
            "payments are not configured on this server".into(),
        ));
    };
    let url = connect::onboarding_link_back_to(
        state.db(),
        &caller.tenant,
        state.clock(),
        stripe,
        "/app/stripe",
    )
    .await?;
    Ok(Redirect::to(&url).into_response())
}

/// What an import page shows after an upload.
struct ImportResult {
    preview: bool,
    rows: u64,
    counts: Vec<(String, u64)>,
    errors: Vec<(u64, String)>,
    exceptions: Vec<[String; 4]>,
}

#[derive(Template)]
#[template(path = "app_import.html")]
struct ImportPage {
    page: web::Chrome,
    csrf: String,
    kind: &'static str,
    title: &'static str,
    columns: &'static str,
    sample: &'static str,
    mappings: Vec<String>,
    mapping: String,
    error: Option<String>,
    result: Option<ImportResult>,
}

const CUSTOMER_COLUMNS: &str = "account_number, holder_name, service_address, service_city, service_state, service_zip (required); email, phone, opened_on, mailing_line1, mailing_city, mailing_state, mailing_postal_code, service_unit, route, sequence, meter_serial, meter_size, meter_unit, register_digits, multiplier, installed_on";
const CUSTOMER_SAMPLE: &str = "account_number,holder_name,service_address,service_city,service_state,service_zip,route,sequence,meter_serial,meter_size,meter_unit\n1001,Ana Reyes,12 Mesa Rd,Alamosa,CO,81101,A,1,M-1001,5/8,gallons";
const READ_COLUMNS: &str =
    "meter_serial, read_on, value (required); estimated, unit, account_number";
const READ_SAMPLE: &str = "meter_serial,read_on,value\nM-1001,2026-11-25,120345";

async fn mapping_names(
    state: &AppState,
    caller: &Caller,
    kind: &str,
) -> Result<Vec<String>, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let saved = if kind == "customers" {
        mappings::list_customers(&tx).await?
    } else {
        mappings::list_reads(&tx).await?
    };
    tx.commit().await?;
    let mut names: Vec<String> = if kind == "customers" {
        vec!["aqueduct".into()]
    } else {
        vec!["aqueduct".into(), "badger_beacon".into()]
    };
    names.extend(saved.into_iter().map(|m| m.name));
    Ok(names)
}

async fn import_page(
    state: &AppState,
    caller: &Caller,
    s: Option<&Extension<CurrentSession>>,
    kind: &'static str,
    mapping: String,
    error: Option<String>,
    result: Option<ImportResult>,
) -> Result<Response, ApiError> {
    let (title, columns, sample) = if kind == "customers" {
        (
            "Import customers and meters",
            CUSTOMER_COLUMNS,
            CUSTOMER_SAMPLE,
        )
    } else {
        ("Import meter reads", READ_COLUMNS, READ_SAMPLE)
    };
    Ok(web::render(&ImportPage {
        page: chrome(
            caller,
            s,
            title,
            if kind == "customers" {
                "accounts"
            } else {
                "reads"
            },
        ),
        csrf: csrf_input(s),
        kind,
        title,
        columns,
        sample,
        mappings: mapping_names(state, caller, kind).await?,
        mapping,
        error,
        result,
    }))
}

async fn customers_page(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
) -> Result<Response, ApiError> {
    import_page(
        &state,
        &caller,
        s.as_ref(),
        "customers",
        "aqueduct".into(),
        None,
        None,
    )
    .await
}

async fn reads_page(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
) -> Result<Response, ApiError> {
    import_page(
        &state,
        &caller,
        s.as_ref(),
        "reads",
        "aqueduct".into(),
        None,
        None,
    )
    .await
}

/// The upload form's fields: the file, the mapping and which button.
struct Upload {
    csv: Vec<u8>,
    mapping: String,
    commit: bool,
}

fn upload(headers: &HeaderMap, body: &[u8]) -> Result<Upload, String> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(boundary) = multipart::boundary(ct) else {
        return Err("Send the form with the file attached.".into());
    };
    let parts = multipart::parts(body, boundary);
    let mut csv = parts
        .iter()
        .find(|p| p.name == "file")
        .map(|p| p.data.to_vec())
        .unwrap_or_default();
    if csv.iter().all(u8::is_ascii_whitespace) {
        // No file: the pasted text, if any.
        csv = multipart::text(&parts, "pasted")
            .unwrap_or_default()
            .as_bytes()
            .to_vec();
    }
    if csv.iter().all(u8::is_ascii_whitespace) {
        return Err("Choose a CSV file (or paste its contents).".into());
    }
    Ok(Upload {
        csv,
        mapping: multipart::text(&parts, "mapping")
            .unwrap_or("aqueduct")
            .trim()
            .to_owned(),
        commit: multipart::text(&parts, "action") == Some("import"),
    })
}

/// Preview (everything checked and written in a transaction that is then
/// rolled back) or import (committed): the same
/// `customer_imports::import_customers` as `POST /api/v1/imports/customers`.
async fn customers_upload(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let up = match upload(&headers, &body) {
        Ok(u) => u,
        Err(m) => {
            return import_page(
                &state,
                &caller,
                s.as_ref(),
                "customers",
                "aqueduct".into(),
                Some(m),
                None,
            )
            .await;
        }
    };
    let tx = state.db().tenant(&caller.tenant).await?;
    let result = match mappings::customers_by_name(&tx, &up.mapping).await {
        Ok(m) => customer_imports::import_customers(&tx, state.clock(), &up.csv, &m).await,
        Err(e) => Err(e),
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            tx.rollback().await?;
            let msg = ApiError::from(e).to_string();
            return import_page(
                &state,
                &caller,
                s.as_ref(),
                "customers",
                up.mapping,
                Some(msg),
                None,
            )
            .await;
        }
    };
    if up.commit {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    let out = ImportResult {
        preview: !up.commit,
        rows: report.rows,
        counts: vec![
            ("Accounts created".into(), report.accounts_created),
            ("Service locations created".into(), report.locations_created),
            ("Meters installed".into(), report.meters_created),
            ("Rows already stored".into(), report.unchanged),
        ],
        errors: report
            .errors
            .into_iter()
            .map(|e| (e.line, e.reason))
            .collect(),
        exceptions: Vec::new(),
    };
    import_page(
        &state,
        &caller,
        s.as_ref(),
        "customers",
        up.mapping,
        None,
        Some(out),
    )
    .await
}

/// Preview or import of reads: the same `imports::import_reads` as
/// `POST /api/v1/imports/reads`.
async fn reads_upload(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let up = match upload(&headers, &body) {
        Ok(u) => u,
        Err(m) => {
            return import_page(
                &state,
                &caller,
                s.as_ref(),
                "reads",
                "aqueduct".into(),
                Some(m),
                None,
            )
            .await;
        }
    };
    let tx = state.db().tenant(&caller.tenant).await?;
    let options = imports::ImportOptions {
        high_use_factor: aqueduct_notify::prefs::high_usage_factor(
            aqueduct_notify::prefs::settings(&tx).await?.as_ref(),
        ),
    };
    let result = match mappings::reads_by_name(&tx, &up.mapping).await {
        Ok(m) => imports::import_reads(&tx, state.clock(), &up.csv, &m, &options).await,
        Err(e) => Err(e),
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            tx.rollback().await?;
            let msg = ApiError::from(e).to_string();
            return import_page(
                &state,
                &caller,
                s.as_ref(),
                "reads",
                up.mapping,
                Some(msg),
                None,
            )
            .await;
        }
    };
    if up.commit {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    let out = ImportResult {
        preview: !up.commit,
        rows: report.rows,
        counts: vec![
            ("New reads".into(), report.imported),
            ("Rows already stored".into(), report.unchanged),
        ],
        errors: report
            .errors
            .into_iter()
            .map(|e| (e.line, e.reason))
            .collect(),
        exceptions: report
            .exceptions
            .into_iter()
            .map(|e| [e.line.to_string(), e.meter, e.kind.to_owned(), e.detail])
            .collect(),
    };
    import_page(
        &state,
        &caller,
        s.as_ref(),
        "reads",
        up.mapping,
        None,
        Some(out),
    )
    .await
}
