//! Meter reads in the workspace: entry in route order (one keyboard-
//! friendly form per route: tab from meter to meter, `reads::record` for
//! each value, as `POST /api/v1/reads`), and the exceptions list (the
//! newest read of each meter that needs a look, and meters without a
//! recent read). The CSV import is in `setup`.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::session::CurrentSession;
use crate::state::AppState;
use crate::web;
use crate::workspace::{chrome, csrf_input, form_value};
use aqueduct_billing::entity::{meter, meter_read, service_location};
use aqueduct_billing::reads::{self, NewRead, ReadSource, Recorded};
use aqueduct_tenant::{Access, Role, TenantTx, scoped};
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::get;
use chrono::NaiveDate;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use std::collections::HashMap;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/app/reads", Role::Viewer, get(entry_page))
        .tenant(
            Method::POST,
            "/app/reads",
            Role::Clerk,
            axum::routing::post(entry_save),
        )
        .tenant(
            Method::GET,
            "/app/reads/exceptions",
            Role::Viewer,
            get(exceptions),
        )
}

/// An active meter at its place on a route.
struct Stop {
    meter: meter::Model,
    address: String,
    route: String,
    sequence: i32,
}

/// Active meters, in route order (route, then sequence, then address).
async fn stops(tx: &TenantTx) -> Result<Vec<Stop>, ApiError> {
    let locations: HashMap<uuid::Uuid, service_location::Model> =
        scoped::<service_location::Entity>(tx)
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|l| (l.id, l))
            .collect();
    let meters = scoped::<meter::Entity>(tx)
        .filter(meter::Column::RemovedOn.is_null())
        .all(tx.conn())
        .await?;
    let mut out: Vec<Stop> = meters
        .into_iter()
        .map(|m| {
            let l = locations.get(&m.location_id);
            Stop {
                address: l.map(|l| l.address_line1.clone()).unwrap_or_default(),
                route: l.and_then(|l| l.route.clone()).unwrap_or_default(),
                sequence: l.and_then(|l| l.sequence).unwrap_or(i32::MAX),
                meter: m,
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.route, a.sequence, &a.address).cmp(&(&b.route, b.sequence, &b.address)));
    Ok(out)
}

/// The newest read of each meter.
async fn last_reads(tx: &TenantTx) -> Result<HashMap<uuid::Uuid, meter_read::Model>, ApiError> {
    let mut out: HashMap<uuid::Uuid, meter_read::Model> = HashMap::new();
    for r in scoped::<meter_read::Entity>(tx)
        .order_by_asc(meter_read::Column::ReadOn)
        .all(tx.conn())
        .await?
    {
        out.insert(r.meter_id, r);
    }
    Ok(out)
}

#[derive(Deserialize)]
struct RouteQuery {
    route: Option<String>,
}

/// One row of the entry form.
struct Row {
    id: String,
    serial: String,
    address: String,
    sequence: String,
    last: String,
    value: String,
    note: String,
    bad: bool,
}

#[derive(Template)]
#[template(path = "app_reads.html")]
struct EntryPage {
    page: web::Chrome,
    csrf: String,
    routes: Vec<String>,
    route: String,
    read_on: String,
    rows: Vec<Row>,
    can_enter: bool,
    saved: Option<String>,
    error: Option<String>,
}

/// What was typed and what happened to it.
struct Typed {
    route: String,
    read_on: String,
    values: HashMap<String, String>,
    notes: HashMap<String, (String, bool)>,
    saved: Option<String>,
    error: Option<String>,
}

impl Typed {
    fn new(route: String, read_on: String) -> Self {
        Self {
            route,
            read_on,
            values: HashMap::new(),
            notes: HashMap::new(),
            saved: None,
            error: None,
        }
    }
}

async fn render_entry(
    state: &AppState,
    caller: &Caller,
    s: Option<&Extension<CurrentSession>>,
    typed: Typed,
) -> Result<Response, ApiError> {
    let route = typed.route.clone();
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let all = stops(&tx).await?;
    let last = last_reads(&tx).await?;
    tx.commit().await?;
    let mut routes: Vec<String> = all.iter().map(|s| s.route.clone()).collect();
    routes.dedup();
    let rows = all
        .into_iter()
        .filter(|s| s.route == route)
        .map(|s| {
            let id = s.meter.id.to_string();
            let (note, bad) = typed.notes.get(&id).cloned().unwrap_or_default();
            Row {
                value: typed.values.get(&id).cloned().unwrap_or_default(),
                serial: s.meter.serial,
                address: s.address,
                sequence: if s.sequence == i32::MAX {
                    String::new()
                } else {
                    s.sequence.to_string()
                },
                last: last
                    .get(&s.meter.id)
                    .map(|r| format!("{} on {}", r.value, r.read_on))
                    .unwrap_or_else(|| "none".into()),
                id,
                note,
                bad,
            }
        })
        .collect();
    Ok(web::render(&EntryPage {
        page: chrome(caller, s, "Reads", "reads"),
        csrf: csrf_input(s),
        routes,
        route,
        read_on: typed.read_on,
        rows,
        can_enter: caller.role >= Role::Clerk,
        saved: typed.saved,
        error: typed.error,
    }))
}

async fn entry_page(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Query(q): Query<RouteQuery>,
) -> Result<Response, ApiError> {
    let today = state.clock().now().date_naive().to_string();
    let typed = Typed::new(q.route.unwrap_or_default(), today);
    render_entry(&state, &caller, s.as_ref(), typed).await
}

/// Records every value typed on the route's form (empty ones are skipped);
/// each meter's outcome is shown beside it, and the values that were not
/// stored stay in the form to fix.
async fn entry_save(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    body: String,
) -> Result<Response, ApiError> {
    let route = form_value(&body, "route").unwrap_or_default();
    let read_on_text = form_value(&body, "read_on").unwrap_or_default();
    let mut typed = Typed::new(route.clone(), read_on_text.clone());
    let Ok(read_on) = NaiveDate::parse_from_str(read_on_text.trim(), "%Y-%m-%d") else {
        for (k, v) in body.split('&').filter_map(|p| p.split_once('=')) {
            if let Some(id) = k.strip_prefix("v_") {
                typed.values.insert(
                    id.to_owned(),
                    form_value(&format!("x={v}"), "x").unwrap_or_default(),
                );
            }
        }
        typed.error = Some("Give the day of the reads (YYYY-MM-DD).".into());
        return render_entry(&state, &caller, s.as_ref(), typed).await;
    };
    let tx = state.db().tenant(&caller.tenant).await?;
    let route_stops: Vec<Stop> = stops(&tx)
        .await?
        .into_iter()
        .filter(|s| s.route == route)
        .collect();
    let (mut stored, mut problems) = (0, 0);
    for stop in &route_stops {
        let id = stop.meter.id.to_string();
        let raw = form_value(&body, &format!("v_{id}")).unwrap_or_default();
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let Ok(value) = raw.replace(',', "").parse::<i64>() else {
            problems += 1;
            typed.values.insert(id.clone(), raw.to_owned());
            typed.notes.insert(id, ("not a whole number".into(), true));
            continue;
        };
        let read = NewRead {
            read_on,
            value,
            estimated: false,
            source: ReadSource::Manual,
        };
        match reads::record(&tx, state.clock(), &stop.meter, read).await {
            Ok(Recorded::Created {
                consumption, flags, ..
            }) => {
                stored += 1;
                let used = consumption
                    .map(|c| format!("saved; used {}", c.units))
                    .unwrap_or_else(|| "saved (first read)".into());
                let note = if flags.is_empty() {
                    used
                } else {
                    format!("{used}; check: {}", flags.join(", "))
                };
                typed.notes.insert(id, (note, false));
            }
            Ok(Recorded::Duplicate { .. }) => {
                typed.notes.insert(id, ("already stored".into(), false));
            }
            Ok(Recorded::Conflict { existing_value, .. }) => {
                problems += 1;
                typed.values.insert(id.clone(), raw.to_owned());
                typed.notes.insert(id, (format!("{existing_value} is already stored for that day; correct it through the API"), true));
            }
            Err(aqueduct_billing::BillingError::Invalid(m)) => {
                problems += 1;
                typed.values.insert(id.clone(), raw.to_owned());
                typed.notes.insert(id, (m, true));
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.commit().await?;
    typed.saved = Some(format!(
        "{stored} read(s) saved{}.",
        if problems > 0 {
            format!("; {problems} need a look (marked below)")
        } else {
            String::new()
        }
    ));
    render_entry(&state, &caller, s.as_ref(), typed).await
}

#[derive(Template)]
#[template(path = "app_read_exceptions.html")]
struct ExceptionsPage {
    page: web::Chrome,
    rows: Vec<[String; 5]>,
    missing_days: i64,
}

/// Days without a read before an active meter is listed as missing one.
const MISSING_AFTER_DAYS: i64 = 45;

/// Each meter's newest read that needs a look (register went backwards or
/// rolled over, recorded out of order, no use, more than three times the
/// meter's average), and active meters without a read for 45 days.
async fn exceptions(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
) -> Result<Response, ApiError> {
    let today = state.clock().now().date_naive();
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = open_exceptions(&tx, today).await?;
    tx.commit().await?;
    Ok(web::render(&ExceptionsPage {
        page: chrome(&caller, s.as_ref(), "Read exceptions", "reads"),
        rows,
        missing_days: MISSING_AFTER_DAYS,
    }))
}

/// The read exceptions still waiting on `today` (what the exceptions page
/// lists, one row per meter: serial, place, newest read, use, why). An
/// exception is resolved when a newer read (or a corrected one) no longer
/// needs a look; the dashboard counts these rows.
pub(crate) async fn open_exceptions(
    tx: &TenantTx,
    today: NaiveDate,
) -> Result<Vec<[String; 5]>, ApiError> {
    let all = stops(tx).await?;
    let mut by_meter: HashMap<uuid::Uuid, Vec<meter_read::Model>> = HashMap::new();
    for r in scoped::<meter_read::Entity>(tx)
        .order_by_asc(meter_read::Column::ReadOn)
        .all(tx.conn())
        .await?
    {
        by_meter.entry(r.meter_id).or_default().push(r);
    }
    let mut rows = Vec::new();
    for stop in all {
        let history = by_meter.remove(&stop.meter.id).unwrap_or_default();
        let with = reads::with_use(&stop.meter, &history);
        let place = format!("{} {}", stop.route, stop.address).trim().to_owned();
        let Some(last) = with.last() else {
            rows.push([
                stop.meter.serial.clone(),
                place,
                String::new(),
                "no reads".into(),
                "never read".into(),
            ]);
            continue;
        };
        let mut kinds = Vec::new();
        let days = (today - last.read_on).num_days();
        if days > MISSING_AFTER_DAYS {
            kinds.push(format!("no read for {days} days"));
        }
        if last.out_of_order {
            kinds.push("recorded out of order".into());
        }
        if let Some(c) = last.consumption {
            if c.negative && reads::below_estimate(&stop.meter, &with, with.len() - 1) {
                kinds.push("under the estimated read (the next bill credits it)".into());
            } else if c.negative {
                kinds.push("register went backwards".into());
            } else if c.rolled_over {
                kinds.push("register rolled over".into());
            }
            let earlier: Vec<i64> = with[..with.len() - 1]
                .iter()
                .filter_map(|r| r.consumption.map(|c| c.units))
                .collect();
            let avg = if earlier.is_empty() {
                0
            } else {
                earlier.iter().sum::<i64>() / i64::try_from(earlier.len()).unwrap_or(1)
            };
            if c.units == 0 && !c.negative {
                kinds.push("no use".into());
            } else if avg > 0 && c.units > avg * 3 {
                kinds.push(format!("high use: {} vs an average of {avg}", c.units));
            }
        }
        if !kinds.is_empty() {
            rows.push([
                stop.meter.serial.clone(),
                place,
                format!("{} on {}", last.value, last.read_on),
                last.consumption
                    .map(|c| c.units.to_string())
                    .unwrap_or_default(),
                kinds.join("; "),
            ]);
        }
    }
    Ok(rows)
}
