//! Rates in the workspace: the schedules, an editor (a new schedule or a
//! new version) as a structured form for the common schedule or, under
//! "Advanced (JSON)", as the rate-schedule JSON — the form builds that same
//! document and both are parsed and stored on one path — the live bill
//! calculator (the same pricing as `POST /api/v1/rate-schedules/{id}/preview`)
//! and the rate-change impact report (`impact::rate_change_impact`, as
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
use aqueduct_rates::{
    BaseCharge, BillInput, BillingPeriod, Block, MeterSize, PercentCharge, RateSchedule, Service,
    ServiceRates, SizeAmount, SizeTable, TierBasis, TiersStart, UsageBasis, UsageCharge, Volume,
    VolumeUnit,
};
use aqueduct_tenant::{Access, Role};
use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::Decimal;
use serde::Deserialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/app/rates", Role::Viewer, get(list))
        .tenant(Method::POST, "/app/rates", Role::Admin, post(create))
        .tenant(
            Method::GET,
            "/app/rates/impact",
            Role::Clerk,
            get(impact_start),
        )
        .tenant(
            Method::POST,
            "/app/rates/impact",
            Role::Clerk,
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
    /// Clerks and admins may try a rate change (the impact report).
    can_model: bool,
    name: String,
    json: String,
    error: Option<String>,
    units: &'static [(&'static str, &'static str)],
    form: RateForm,
    form_error: Option<String>,
}

/// What the new-schedule editors show: the structured form and the JSON
/// alternative, each with the values as typed and its own error.
struct Editors {
    form: Option<RateForm>,
    form_error: Option<String>,
    name: String,
    json: String,
    json_error: Option<String>,
}

async fn list_page(
    state: &AppState,
    caller: &Caller,
    s: Option<&Extension<CurrentSession>>,
    ed: Editors,
) -> Result<Response, ApiError> {
    // A new schedule's form starts from the starter schedule, in force
    // from the first of this year (so this year's reads can be billed).
    let form = ed.form.unwrap_or_else(|| {
        let today = state.clock().now().date_naive();
        let mut f = parse_schedule(STARTER)
            .ok()
            .and_then(|v| RateForm::from_schedule(&v))
            .unwrap_or_else(|| RateForm::blank(String::new()));
        f.effective_from = today.with_ordinal(1).unwrap_or(today).to_string();
        f
    });
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
        can_model: caller.role >= Role::Clerk,
        name: ed.name,
        json: ed.json,
        error: ed.json_error,
        units: &UNITS,
        form,
        form_error: ed.form_error,
    }))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
) -> Result<Response, ApiError> {
    let ed = Editors {
        form: None,
        form_error: None,
        name: String::new(),
        json: STARTER.into(),
        json_error: None,
    };
    list_page(&state, &caller, s.as_ref(), ed).await
}

/// Which editor a post came from: the structured form (`editor=form`)
/// builds the same schedule document the JSON editor posts.
enum Posted {
    Form(Box<RateForm>),
    Json(String),
}

impl Posted {
    fn read(body: &str) -> Self {
        if form_value(body, "editor").as_deref() == Some("form") {
            Posted::Form(Box::new(RateForm::from_body(body)))
        } else {
            Posted::Json(form_value(body, "schedule").unwrap_or_default())
        }
    }

    /// The schedule document as JSON: the form's is built from its fields.
    fn json(&self) -> Result<String, String> {
        match self {
            Posted::Json(j) => Ok(j.clone()),
            Posted::Form(f) => f
                .build()
                .and_then(|v| serde_json::to_string_pretty(&v).map_err(|e| e.to_string())),
        }
    }
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
    let posted = Posted::read(&body);
    let name = match &posted {
        Posted::Form(f) => f.name.clone(),
        Posted::Json(_) => form_value(&body, "name")
            .unwrap_or_default()
            .trim()
            .to_owned(),
    };
    let built = posted.json();
    let json = match (&posted, &built) {
        (Posted::Form(_), Ok(j)) => j.clone(),
        (Posted::Form(_), Err(_)) => STARTER.into(),
        (Posted::Json(j), _) => j.clone(),
    };
    let again = |e: String| {
        let ed = match &posted {
            Posted::Form(f) => Editors {
                form: Some(RateForm::clone(f)),
                form_error: Some(e),
                name: f.name.clone(),
                json: json.clone(),
                json_error: None,
            },
            Posted::Json(_) => Editors {
                form: None,
                form_error: None,
                name: name.clone(),
                json: json.clone(),
                json_error: Some(e),
            },
        };
        list_page(&state, &caller, s.as_ref(), ed)
    };
    // One path for both editors: the document is parsed and stored
    // (validated by the rates crate) the same way.
    let version = match built.and_then(|j| parse_schedule(&j)) {
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
    /// Clerks and admins may try a rate change (the impact report).
    can_model: bool,
    units: &'static [(&'static str, &'static str)],
    sizes: &'static [&'static str],
    calc: CalcForm,
    lines: Vec<(String, String, String)>,
    total: Option<String>,
    calc_error: Option<String>,
    version_json: String,
    version_error: Option<String>,
    /// Whether the current version can be shown in the structured form.
    expressible: bool,
    form: RateForm,
    form_error: Option<String>,
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
    form: Option<RateForm>,
    form_error: Option<String>,
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
            form: None,
            form_error: None,
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
    // The new-version form starts from the current version, dated the
    // first of next month (or the month after the latest version, when
    // that one is already dated ahead).
    let prefill = versions.last().and_then(RateForm::from_schedule);
    let expressible = prefill.is_some();
    let form = extra.form.or(prefill).unwrap_or_else(|| {
        let mut f = RateForm::blank(String::new());
        f.name = stored.schedule.name.clone();
        f
    });
    let form = if extra.form_error.is_none() {
        let mut from = next_month(state.clock().now().date_naive());
        if let Some(v) = versions.last().filter(|v| v.effective_from >= from) {
            from = next_month(v.effective_from);
        }
        RateForm {
            effective_from: from.to_string(),
            ..form
        }
    } else {
        form
    };
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
        can_model: caller.role >= Role::Clerk,
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
        expressible,
        form,
        form_error: extra.form_error,
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
    let posted = Posted::read(&body);
    let built = posted.json();
    let added = match built.clone().and_then(|j| parse_schedule(&j)) {
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
            match posted {
                Posted::Form(f) => {
                    extra.version_json = built.ok();
                    extra.form = Some(*f);
                    extra.form_error = Some(e);
                }
                Posted::Json(json) => {
                    extra.version_json = Some(json);
                    extra.version_error = Some(e);
                }
            }
            schedule_page(&state, &caller, s.as_ref(), id, extra).await
        }
    }
}

/// Usage-block rows the structured editor offers.
const BLOCK_ROWS: usize = 6;

/// The structured editor's fields, as typed (kept when the page comes back
/// with an error). It covers the common schedule: a water base charge by
/// meter size, an included allowance, up to six usage blocks, a minimum
/// bill, a sewer charge (flat and/or per unit of water used) and one
/// percentage fee on the whole bill. Anything else is the JSON editor's.
#[derive(Clone, Debug, PartialEq)]
struct RateForm {
    name: String,
    effective_from: String,
    /// One amount per size in [`SIZES`], in that order.
    base: Vec<(&'static str, String)>,
    base_default: String,
    unit: String,
    allowance: String,
    /// `first_unit` or `after_allowance`.
    tiers_start: String,
    /// (from, rate), [`BLOCK_ROWS`] rows.
    blocks: Vec<(String, String)>,
    minimum_bill: String,
    sewer_flat: String,
    sewer_rate: String,
    fee_description: String,
    fee_percent: String,
}

const FEE_DESCRIPTION: &str = "State regulatory fee";

impl RateForm {
    fn blank(effective_from: String) -> Self {
        Self {
            name: String::new(),
            effective_from,
            base: SIZES.iter().map(|z| (*z, String::new())).collect(),
            base_default: String::new(),
            unit: "thousand_gallons".into(),
            allowance: String::new(),
            tiers_start: "first_unit".into(),
            blocks: vec![(String::new(), String::new()); BLOCK_ROWS],
            minimum_bill: String::new(),
            sewer_flat: String::new(),
            sewer_rate: String::new(),
            fee_description: FEE_DESCRIPTION.into(),
            fee_percent: String::new(),
        }
    }

    fn from_body(body: &str) -> Self {
        let f = |n: &str| form_value(body, n).unwrap_or_default();
        Self {
            name: f("name").trim().to_owned(),
            effective_from: f("effective_from"),
            base: SIZES
                .iter()
                .enumerate()
                .map(|(i, z)| (*z, f(&format!("base_{i}"))))
                .collect(),
            base_default: f("base_default"),
            unit: f("unit"),
            allowance: f("allowance"),
            tiers_start: f("tiers_start"),
            blocks: (1..=BLOCK_ROWS)
                .map(|i| (f(&format!("from_{i}")), f(&format!("rate_{i}"))))
                .collect(),
            minimum_bill: f("minimum_bill"),
            sewer_flat: f("sewer_flat"),
            sewer_rate: f("sewer_rate"),
            fee_description: f("fee_description"),
            fee_percent: f("fee_percent"),
        }
    }

    /// The form showing `v`, or `None` when `v` has something the form
    /// cannot show (seasons, taxes, rounding rules, other services…):
    /// the form is only offered when building it back gives `v` again.
    fn from_schedule(v: &RateSchedule) -> Option<Self> {
        let mut form = Self::blank(v.effective_from.to_string());
        form.name = v.name.clone();
        let water = v.services.first().filter(|s| s.service == Service::Water)?;
        if let Some(base) = &water.base {
            for e in &base.amounts.by_meter_size {
                let slot = form.base.iter_mut().find(|(z, _)| *z == e.size.code())?;
                slot.1 = e.amount.to_string();
            }
            form.base_default = base
                .amounts
                .default
                .map(|d| d.to_string())
                .unwrap_or_default();
        }
        let sewer = v.services.get(1);
        let sewer_usage = sewer.and_then(|s| s.usage.as_ref());
        if let Some(u) = water.usage.as_ref().or(sewer_usage) {
            form.unit = unit_code(u.unit)?;
        }
        if let Some(u) = &water.usage {
            if u.blocks.len() > BLOCK_ROWS {
                return None;
            }
            form.allowance = if u.allowance.is_zero() {
                String::new()
            } else {
                u.allowance.to_string()
            };
            form.tiers_start = match u.tiers_start {
                TiersStart::FirstUnit => "first_unit",
                TiersStart::AfterAllowance => "after_allowance",
            }
            .into();
            for (row, b) in form.blocks.iter_mut().zip(&u.blocks) {
                *row = (b.from.to_string(), b.rate.to_string());
            }
        }
        if let Some(s) = sewer {
            if let Some(b) = &s.base {
                form.sewer_flat = b.amounts.default?.to_string();
            }
            if let Some(u) = &s.usage {
                form.sewer_rate = u.blocks.first()?.rate.to_string();
            }
        }
        form.minimum_bill = v.minimum_bill.map(|m| m.to_string()).unwrap_or_default();
        if let Some(a) = v.assessments.first() {
            form.fee_description = a.description.clone();
            form.fee_percent = a.percent.to_string();
        }
        let rebuilt = form.build().ok()?;
        (canonical(rebuilt) == canonical(v.clone())).then_some(form)
    }

    /// The schedule document the form describes (validated later, on the
    /// same path as the JSON editor's).
    fn build(&self) -> Result<RateSchedule, String> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err("Give the schedule a name.".into());
        }
        let effective_from = NaiveDate::parse_from_str(self.effective_from.trim(), "%Y-%m-%d")
            .map_err(|_| "Give the date the rates take effect (YYYY-MM-DD).".to_owned())?;
        let mut by_meter_size = Vec::new();
        for (size, text) in &self.base {
            if let Some(amount) = amount(&format!("Base charge for a {size}\" meter"), text)? {
                let size = size
                    .parse()
                    .map_err(|_| format!("Unknown meter size {size}."))?;
                by_meter_size.push(SizeAmount { size, amount });
            }
        }
        let default = amount("Base charge for other sizes", &self.base_default)?;
        if by_meter_size.is_empty() && default.is_none() {
            return Err("Give the base charge for at least one meter size, or one for all other sizes (0 if there is none).".into());
        }
        let unit = UNITS
            .iter()
            .find(|(code, _)| *code == self.unit)
            .and_then(|(code, _)| {
                serde_json::from_value::<VolumeUnit>(serde_json::Value::String((*code).into())).ok()
            })
            .ok_or("Choose the unit of the usage rates.")?;
        let allowance = amount("Included allowance", &self.allowance)?.unwrap_or_default();
        let tiers_start = match self.tiers_start.as_str() {
            "after_allowance" => TiersStart::AfterAllowance,
            "first_unit" | "" => TiersStart::FirstUnit,
            _ => return Err("Choose where the block thresholds count from.".into()),
        };
        let mut blocks = Vec::new();
        for (i, (from, rate)) in self.blocks.iter().enumerate() {
            let n = i + 1;
            let from_v = amount(&format!("Block {n} starts at"), from)?;
            let rate_v = amount(&format!("Block {n} rate"), rate)?;
            match (from_v, rate_v) {
                (None, None) => {}
                (_, None) => return Err(format!("Block {n}: give the rate per unit.")),
                (None, Some(rate)) if blocks.is_empty() => blocks.push(Block {
                    from: Decimal::ZERO,
                    rate,
                }),
                (None, Some(_)) => {
                    return Err(format!("Block {n}: give the use where the block starts."));
                }
                (Some(from), Some(rate)) => blocks.push(Block { from, rate }),
            }
        }
        let usage_charge = |blocks: Vec<Block>, allowance, tiers_start| UsageCharge {
            unit,
            basis: UsageBasis::Metered,
            winter_average_default: None,
            allowance,
            tiers_start,
            tier_basis: TierBasis::PerBill,
            blocks,
            seasons: Vec::new(),
        };
        let usage = if blocks.is_empty() {
            if !allowance.is_zero() {
                return Err("An included allowance needs at least one usage block.".into());
            }
            None
        } else {
            Some(usage_charge(blocks, allowance, tiers_start))
        };
        let service = |service, base, usage| ServiceRates {
            service,
            base,
            usage,
            share_of: None,
            flat_fees: Vec::new(),
            surcharges: Vec::new(),
            minimum: None,
        };
        let mut services = vec![service(
            Service::Water,
            Some(BaseCharge {
                amounts: SizeTable {
                    by_meter_size,
                    default,
                },
                per_day: false,
            }),
            usage,
        )];
        let sewer_flat = amount("Sewer flat charge", &self.sewer_flat)?;
        let sewer_rate = amount("Sewer rate per unit of water", &self.sewer_rate)?;
        if sewer_flat.is_some() || sewer_rate.is_some() {
            services.push(service(
                Service::Sewer,
                sewer_flat.map(|a| BaseCharge {
                    amounts: SizeTable::flat(a),
                    per_day: false,
                }),
                sewer_rate.map(|rate| {
                    usage_charge(
                        vec![Block {
                            from: Decimal::ZERO,
                            rate,
                        }],
                        Decimal::ZERO,
                        TiersStart::AfterAllowance,
                    )
                }),
            ));
        }
        let minimum_bill = amount("Minimum bill", &self.minimum_bill)?;
        let fee = amount(
            "Fee percentage",
            self.fee_percent.trim().trim_end_matches('%'),
        )?;
        let assessments = match fee {
            None => Vec::new(),
            Some(percent) => {
                let description = self.fee_description.trim();
                vec![PercentCharge {
                    description: if description.is_empty() {
                        FEE_DESCRIPTION.into()
                    } else {
                        description.into()
                    },
                    percent,
                    services: Vec::new(),
                }]
            }
        };
        Ok(RateSchedule {
            name: name.to_owned(),
            effective_from,
            rounding: Default::default(),
            usage_rounding: None,
            services,
            minimum_bill,
            taxes: Vec::new(),
            assessments,
            prompt_payment_discount: None,
        })
    }
}

/// `v` with its size tables in size order, for comparing.
fn canonical(mut v: RateSchedule) -> RateSchedule {
    for s in &mut v.services {
        if let Some(b) = &mut s.base {
            b.amounts.by_meter_size.sort_by_key(|e| e.size);
        }
    }
    v
}

fn unit_code(unit: VolumeUnit) -> Option<String> {
    let code = serde_json::to_value(unit).ok()?;
    let code = code.as_str()?;
    UNITS
        .iter()
        .any(|(c, _)| *c == code)
        .then(|| code.to_owned())
}

/// An exact amount typed by a person: blank is `None`; a leading `$` and
/// thousands commas are accepted; anything else names the field.
fn amount(label: &str, text: &str) -> Result<Option<Decimal>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let clean: String = t
        .trim_start_matches('$')
        .chars()
        .filter(|c| *c != ',')
        .collect();
    let value: Decimal = clean
        .trim()
        .parse()
        .map_err(|_| format!("{label}: “{t}” is not a number; write it like 24.50."))?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(format!("{label} must not be negative."));
    }
    Ok(Some(value))
}

/// The first day of the month after `today`: where a new version's date
/// starts in the form.
fn next_month(today: NaiveDate) -> NaiveDate {
    today
        .with_day(1)
        .and_then(|d| d.checked_add_months(Months::new(1)))
        .unwrap_or(today)
}

#[derive(Template)]
#[template(path = "app_rate_impact.html")]
struct ImpactPage {
    page: web::Chrome,
    csrf: String,
    /// The association's schedules (id, name), to start from.
    schedules: Vec<(String, String)>,
    /// The schedule the proposal started from ("" when there is none).
    chosen: String,
    /// The structured form, as prefilled or typed; `None` when the rates
    /// use charges the form cannot show (then the JSON is the editor).
    form: Option<RateForm>,
    form_error: Option<String>,
    units: &'static [(&'static str, &'static str)],
    json: String,
    json_error: Option<String>,
    json_open: bool,
    summary: Option<[String; 6]>,
    groups: Vec<[String; 8]>,
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

/// What the impact page starts from: the schedules, the chosen one's id
/// and its rates in force today (the latest version when none is yet).
struct ImpactBase {
    schedules: Vec<(String, String)>,
    chosen: String,
    current: Option<RateSchedule>,
}

async fn impact_base(
    state: &AppState,
    caller: &Caller,
    chosen: Option<RateScheduleId>,
) -> Result<ImpactBase, ApiError> {
    let today = state.clock().now().date_naive();
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = rates::list(&tx).await?;
    let id = chosen.or_else(|| rows.first().map(|r| RateScheduleId::from_uuid(r.id)));
    let current = match id {
        // Another association's schedule (or none) is a 404.
        Some(id) => {
            let stored = rates::get(&tx, id).await?;
            stored
                .history
                .in_force(today)
                .or_else(|| stored.history.versions().last())
                .cloned()
        }
        None => None,
    };
    tx.commit().await?;
    Ok(ImpactBase {
        schedules: rows
            .into_iter()
            .map(|r| (r.id.to_string(), r.name))
            .collect(),
        chosen: id.map(|i| i.to_string()).unwrap_or_default(),
        current,
    })
}

impl ImpactBase {
    /// The starting rates: the chosen schedule's, or the sample schedule
    /// when the association has none yet.
    fn start(&self) -> Option<RateSchedule> {
        self.current
            .clone()
            .or_else(|| parse_schedule(STARTER).ok())
    }

    fn page(self, caller: &Caller, s: Option<&Extension<CurrentSession>>) -> ImpactPage {
        let start = self.start();
        ImpactPage {
            page: chrome(caller, s, "Rate-change impact", "rates"),
            csrf: csrf_input(s),
            schedules: self.schedules,
            chosen: self.chosen,
            form: start.as_ref().and_then(RateForm::from_schedule),
            form_error: None,
            units: &UNITS,
            json: start
                .as_ref()
                .and_then(|v| serde_json::to_string_pretty(v).ok())
                .unwrap_or_else(|| STARTER.into()),
            json_error: None,
            json_open: false,
            summary: None,
            groups: Vec::new(),
            unpriced: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
struct ImpactQuery {
    schedule: Option<String>,
}

/// The impact page: the structured rate form prefilled with the chosen
/// schedule's rates in force today (the first schedule by default), ready
/// for the clerk to change a number; the JSON editor under "Advanced".
async fn impact_start(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Query(q): Query<ImpactQuery>,
) -> Result<Response, ApiError> {
    let chosen = match q.schedule.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => Some(parse_id::<RateScheduleId>(t)?),
        None => None,
    };
    let base = impact_base(&state, &caller, chosen).await?;
    let mut page = base.page(&caller, s.as_ref());
    page.json_open = page.form.is_none();
    Ok(web::render(&page))
}

/// The rate-change impact report: the last twelve months of bills priced
/// with the proposed schedule (writes nothing), from the structured form
/// (`editor=form`) or the JSON (`schedule`); `format=csv` downloads it.
/// An error comes back on the editor that was used, with what was typed.
async fn impact_report(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    body: String,
) -> Result<Response, ApiError> {
    let csv = form_value(&body, "format").as_deref() == Some("csv");
    let chosen = form_value(&body, "schedule_id").and_then(|t| parse_id::<RateScheduleId>(&t).ok());
    let today = state.clock().now().date_naive();
    let posted = match Posted::read(&body) {
        // Only the charges matter here: the name and date are filled in
        // when a post leaves them out.
        Posted::Form(mut f) => {
            if f.name.trim().is_empty() {
                f.name = "Proposed rates".into();
            }
            if f.effective_from.trim().is_empty() {
                f.effective_from = today.to_string();
            }
            Posted::Form(f)
        }
        json => json,
    };
    let base = impact_base(&state, &caller, chosen).await?;
    let mut page = base.page(&caller, s.as_ref());
    match &posted {
        Posted::Form(f) => page.form = Some(RateForm::clone(f)),
        Posted::Json(j) => {
            page.json = j.clone();
            page.json_open = true;
        }
    }
    let proposed = posted.json().and_then(|j| parse_schedule(&j));
    let out = match proposed {
        Ok(v) => {
            let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
            let out = impact::rate_change_impact(&tx, &v, today).await;
            tx.commit().await?;
            out.map(|o| (v, o))
                .map_err(|e| ApiError::from(e).to_string())
        }
        Err(e) => Err(e),
    };
    let (proposed, out) = match out {
        Ok(o) => o,
        Err(e) => {
            match posted {
                Posted::Form(_) => page.form_error = Some(e),
                Posted::Json(_) => page.json_error = Some(e),
            }
            return Ok(web::render(&page));
        }
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
    match posted {
        // The JSON box follows the form, so "Advanced" starts from it.
        Posted::Form(_) => {
            if let Ok(j) = serde_json::to_string_pretty(&proposed) {
                page.json = j;
            }
        }
        // A JSON proposal the form can show is shown in it too.
        Posted::Json(_) => page.form = RateForm::from_schedule(&proposed),
    }
    page.summary = Some([
        format!("{} – {}", out.from, out.to),
        out.bills.to_string(),
        usd(out.current_cents),
        usd(out.proposed_cents),
        change(out.change_cents),
        pct(out.change_bp),
    ]);
    page.groups = out
        .groups
        .iter()
        .map(|g| {
            [
                g.meter_size.clone(),
                g.usage_band.clone(),
                g.bills.to_string(),
                usd(g.current_cents),
                usd(g.proposed_cents),
                format!("{} ({})", change(g.change_cents), pct(g.change_bp)),
                usd(g.average_current_cents),
                usd(g.average_proposed_cents),
            ]
        })
        .collect();
    page.unpriced = out.unpriced;
    Ok(web::render(&page))
}
