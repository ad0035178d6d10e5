//! Rates in the workspace: the schedules, an editor (a new schedule or a
//! new version, as the rate-schedule JSON), the live bill calculator (the
//! same pricing as `POST /api/v1/rate-schedules/{id}/preview`) and the
//! rate-change impact report (`impact::rate_change_impact`, as
//! `POST /api/v1/reports/rate-impact`, with its CSV).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::resources::parse_id;
use crate::session::CurrentSession;
use crate::state::AppState;
use crate::web;
use crate::workspace::{chrome, csrf_input, form_value, usd};
use aqueduct_billing::{impact, rates};
use aqueduct_core::RateScheduleId;
use aqueduct_rates::{BillInput, BillingPeriod, MeterSize, RateSchedule, Volume, VolumeUnit};
use aqueduct_tenant::{Access, Role};
use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/app/rates", Role::Viewer, get(list))
        .tenant(Method::POST, "/app/rates", Role::Admin, post(create))
        .tenant(
            Method::POST,
            "/app/rates/impact",
            Role::Viewer,
            post(impact_report),
        )
        .tenant(
            Method::GET,
            "/app/rates/{schedule_id}",
            Role::Viewer,
            get(show),
        )
        .tenant(
            Method::POST,
            "/app/rates/{schedule_id}/calculate",
            Role::Viewer,
            post(calculate),
        )
        .tenant(
            Method::POST,
            "/app/rates/{schedule_id}/versions",
            Role::Admin,
            post(add_version),
        )
}

/// A starting point for a new schedule: a base charge by meter size and
/// two usage blocks per thousand gallons.
const STARTER: &str = r#"{
  "name": "Residential",
  "effective_from": "2026-01-01",
  "services": [
    {
      "service": "water",
      "base": {"amounts": {"by_meter_size": [{"size": "5/8", "amount": "24.50"}, {"size": "1", "amount": "41.00"}], "default": "60.00"}},
      "usage": {"unit": "thousand_gallons", "blocks": [{"from": "0", "rate": "4.10"}, {"from": "8", "rate": "5.25"}]}
    }
  ]
}"#;

const UNITS: [(&str, &str); 6] = [
    ("gallon", "gallons"),
    ("hundred_gallons", "hundreds of gallons"),
    ("thousand_gallons", "thousands of gallons"),
    ("cubic_foot", "cubic feet"),
    ("ccf", "hundreds of cubic feet (ccf)"),
    ("thousand_cubic_feet", "thousands of cubic feet"),
];

const SIZES: [&str; 8] = ["5/8", "3/4", "1", "1-1/2", "2", "3", "4", "6"];

#[derive(Template)]
#[template(path = "app_rates.html")]
struct ListPage {
    page: web::Chrome,
    csrf: String,
    rows: Vec<(String, String)>,
    can_edit: bool,
    name: String,
    json: String,
    error: Option<String>,
}

async fn list_page(
    state: &AppState,
    caller: &Caller,
    s: Option<&Extension<CurrentSession>>,
    name: String,
    json: String,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = rates::list(&tx).await?;
    tx.commit().await?;
    Ok(web::render(&ListPage {
        page: chrome(caller, s, "Rates", "rates"),
        csrf: csrf_input(s),
        rows: rows
            .into_iter()
            .map(|r| (r.id.to_string(), r.name))
            .collect(),
        can_edit: caller.role >= Role::Admin,
        name,
        json,
        error,
    }))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
) -> Result<Response, ApiError> {
    list_page(
        &state,
        &caller,
        s.as_ref(),
        String::new(),
        STARTER.into(),
        None,
    )
    .await
}

fn parse_schedule(json: &str) -> Result<RateSchedule, String> {
    serde_json::from_str::<RateSchedule>(json)
        .map_err(|e| format!("The schedule is not valid: {e}."))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    body: String,
) -> Result<Response, ApiError> {
    let name = form_value(&body, "name")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let json = form_value(&body, "schedule").unwrap_or_default();
    let again = |e: String| {
        list_page(
            &state,
            &caller,
            s.as_ref(),
            name.clone(),
            json.clone(),
            Some(e),
        )
    };
    let version = match parse_schedule(&json) {
        Ok(v) => v,
        Err(e) => return again(e).await,
    };
    let tx = state.db().tenant(&caller.tenant).await?;
    match rates::create(&tx, state.clock(), &name, version).await {
        Ok(stored) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/app/rates/{}", stored.schedule.id)).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            again(ApiError::from(e).to_string()).await
        }
    }
}

/// The calculator's form, as typed.
#[derive(Clone)]
struct CalcForm {
    usage: String,
    unit: String,
    size: String,
    start: String,
    end: String,
}

#[derive(Template)]
#[template(path = "app_rate.html")]
struct SchedulePage {
    page: web::Chrome,
    csrf: String,
    id: String,
    name: String,
    versions: Vec<(String, String, String)>,
    can_edit: bool,
    units: &'static [(&'static str, &'static str)],
    sizes: &'static [&'static str],
    calc: CalcForm,
    lines: Vec<(String, String, String)>,
    total: Option<String>,
    calc_error: Option<String>,
    version_json: String,
    version_error: Option<String>,
}

fn default_calc(today: NaiveDate) -> CalcForm {
    let first = today.with_day(1).unwrap_or(today);
    let end = first.pred_opt().unwrap_or(first);
    let start = end.with_day(1).unwrap_or(end);
    CalcForm {
        usage: "6".into(),
        unit: "thousand_gallons".into(),
        size: "5/8".into(),
        start: start.to_string(),
        end: end.to_string(),
    }
}

struct Extra {
    calc: Option<CalcForm>,
    lines: Vec<(String, String, String)>,
    total: Option<String>,
    calc_error: Option<String>,
    version_json: Option<String>,
    version_error: Option<String>,
}

impl Extra {
    fn none() -> Self {
        Self {
            calc: None,
            lines: Vec::new(),
            total: None,
            calc_error: None,
            version_json: None,
            version_error: None,
        }
    }
}

async fn schedule_page(
    state: &AppState,
    caller: &Caller,
    s: Option<&Extension<CurrentSession>>,
    id: RateScheduleId,
    extra: Extra,
) -> Result<Response, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let stored = rates::get(&tx, id).await?;
    tx.commit().await?;
    let versions = stored.history.versions().to_vec();
    let latest = versions
        .last()
        .and_then(|v| serde_json::to_string_pretty(v).ok())
        .unwrap_or_default();
    Ok(web::render(&SchedulePage {
        page: chrome(caller, s, &stored.schedule.name, "rates"),
        csrf: csrf_input(s),
        id: id.to_string(),
        name: stored.schedule.name,
        versions: versions
            .iter()
            .rev()
            .map(|v| {
                (
                    v.effective_from.to_string(),
                    v.name.clone(),
                    serde_json::to_string_pretty(v).unwrap_or_default(),
                )
            })
            .collect(),
        can_edit: caller.role >= Role::Admin,
        units: &UNITS,
        sizes: &SIZES,
        calc: extra
            .calc
            .unwrap_or_else(|| default_calc(state.clock().now().date_naive())),
        lines: extra.lines,
        total: extra.total,
        calc_error: extra.calc_error,
        version_json: extra.version_json.unwrap_or(latest),
        version_error: extra.version_error,
    }))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Path(schedule_id): Path<String>,
) -> Result<Response, ApiError> {
    let id: RateScheduleId = parse_id(&schedule_id)?;
    schedule_page(&state, &caller, s.as_ref(), id, Extra::none()).await
}

fn calc_input(f: &CalcForm) -> Result<(BillingPeriod, MeterSize, Volume), String> {
    let usage: Decimal = f
        .usage
        .trim()
        .parse()
        .ok()
        .filter(|u: &Decimal| !u.is_sign_negative())
        .ok_or("Give the water used as a number, e.g. 6 or 6.5.")?;
    let unit: VolumeUnit = serde_json::from_value(serde_json::Value::String(f.unit.clone()))
        .map_err(|_| "Choose a unit.")?;
    let size: MeterSize = f.size.parse().map_err(|_| "Choose a meter size.")?;
    let date = |t: &str| NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").ok();
    let (Some(start), Some(end)) = (date(&f.start), date(&f.end)) else {
        return Err("Give the period's first and last day (YYYY-MM-DD).".into());
    };
    let period = BillingPeriod::new(start, end).map_err(|e| format!("{e}."))?;
    Ok((period, size, Volume::new(usage, unit)))
}

/// The bill calculator: prices the typed use under the schedule (the
/// versions in force in the period), writing nothing.
async fn calculate(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Path(schedule_id): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let id: RateScheduleId = parse_id(&schedule_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let stored = rates::get(&tx, id).await?;
    let f = |n: &str| form_value(&body, n).unwrap_or_default();
    let form = CalcForm {
        usage: f("usage"),
        unit: f("unit"),
        size: f("meter_size"),
        start: f("period_start"),
        end: f("period_end"),
    };
    let mut extra = Extra::none();
    match calc_input(&form) {
        Err(e) => extra.calc_error = Some(e),
        Ok((period, meter_size, usage)) => {
            let services = stored
                .history
                .in_force(period.last_day())
                .or_else(|| stored.history.versions().first())
                .map(|v| v.services.iter().map(|s| s.service).collect())
                .unwrap_or_default();
            let input = BillInput {
                period,
                meter_size,
                usage,
                carried_in: Volume::ZERO,
                winter_average: None,
                services,
            };
            match rates::preview(&tx, id, &input).await {
                Ok(calc) => {
                    extra.lines = calc
                        .lines
                        .iter()
                        .map(|l| {
                            (
                                l.description.clone(),
                                l.quantity
                                    .map(|q| q.normalize().to_string())
                                    .unwrap_or_default(),
                                l.amount.to_string(),
                            )
                        })
                        .collect();
                    extra.total = Some(calc.total.to_string());
                }
                Err(e) => extra.calc_error = Some(ApiError::from(e).to_string()),
            }
        }
    }
    tx.commit().await?;
    extra.calc = Some(form);
    schedule_page(&state, &caller, s.as_ref(), id, extra).await
}

async fn add_version(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Path(schedule_id): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let id: RateScheduleId = parse_id(&schedule_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    rates::get(&tx, id).await?;
    let json = form_value(&body, "schedule").unwrap_or_default();
    let added = match parse_schedule(&json) {
        Ok(v) => rates::add_version(&tx, state.clock(), id, v)
            .await
            .map_err(|e| ApiError::from(e).to_string()),
        Err(e) => Err(e),
    };
    match added {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/app/rates/{id}")).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let mut extra = Extra::none();
            extra.version_json = Some(json);
            extra.version_error = Some(e);
            schedule_page(&state, &caller, s.as_ref(), id, extra).await
        }
    }
}

#[derive(Template)]
#[template(path = "app_rate_impact.html")]
struct ImpactPage {
    page: web::Chrome,
    csrf: String,
    json: String,
    error: Option<String>,
    summary: Option<[String; 6]>,
    groups: Vec<[String; 6]>,
    unpriced: Vec<String>,
}

fn change(cents: i64) -> String {
    if cents > 0 {
        format!("+{}", usd(cents))
    } else {
        usd(cents)
    }
}

fn pct(bp: i64) -> String {
    let sign = if bp < 0 { "−" } else { "+" };
    format!("{sign}{}.{:02} %", bp.abs() / 100, bp.abs() % 100)
}

/// The rate-change impact report: the last twelve months of bills priced
/// with the proposed schedule (writes nothing); `format=csv` downloads it.
async fn impact_report(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    body: String,
) -> Result<Response, ApiError> {
    let json = form_value(&body, "schedule").unwrap_or_default();
    let csv = form_value(&body, "format").as_deref() == Some("csv");
    let page = |error: Option<String>, out: Option<impact::Impact>| {
        web::render(&ImpactPage {
            page: chrome(&caller, s.as_ref(), "Rate-change impact", "rates"),
            csrf: csrf_input(s.as_ref()),
            json: json.clone(),
            error,
            summary: out.as_ref().map(|o| {
                [
                    format!("{} – {}", o.from, o.to),
                    o.bills.to_string(),
                    usd(o.current_cents),
                    usd(o.proposed_cents),
                    change(o.change_cents),
                    pct(o.change_bp),
                ]
            }),
            groups: out
                .as_ref()
                .map(|o| {
                    o.groups
                        .iter()
                        .map(|g| {
                            [
                                g.meter_size.clone(),
                                g.usage_band.clone(),
                                g.bills.to_string(),
                                usd(g.current_cents),
                                usd(g.proposed_cents),
                                format!("{} ({})", change(g.change_cents), pct(g.change_bp)),
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default(),
            unpriced: out.map(|o| o.unpriced).unwrap_or_default(),
        })
    };
    let schedule = match parse_schedule(&json) {
        Ok(v) => v,
        Err(e) => return Ok(page(Some(e), None)),
    };
    let today = state.clock().now().date_naive();
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let out = impact::rate_change_impact(&tx, &schedule, today).await;
    tx.commit().await?;
    let out = match out {
        Ok(o) => o,
        Err(e) => return Ok(page(Some(ApiError::from(e).to_string()), None)),
    };
    if csv {
        let body = impact::impact_csv(&out)?;
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"rate-impact-{}.csv\"", out.to),
                ),
            ],
            body,
        )
            .into_response());
    }
    Ok(page(None, Some(out)))
}
