//! Notifications for staff (what was sent to whom, when, status; resend)
//! and customers' notification preferences.

use super::parse_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_billing::accounts;
use aqueduct_core::AccountId;
use aqueduct_notify::entity::notification;
use aqueduct_notify::{NotifyError, outbox, prefs};
use aqueduct_tenant::{Access, Role};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::GET,
        "/api/v1/notifications",
        Role::Viewer,
        get(list),
    )
    .tenant(
        Method::POST,
        "/api/v1/notifications/{notification_id}/resend",
        Role::Clerk,
        post(resend),
    )
    .tenant(
        Method::GET,
        "/api/v1/accounts/{account_id}/notification-preferences",
        Role::Viewer,
        get(show_prefs),
    )
    .tenant(
        Method::PUT,
        "/api/v1/accounts/{account_id}/notification-preferences",
        Role::Clerk,
        put(set_prefs),
    )
    .tenant(
        Method::GET,
        "/api/v1/notification-settings",
        Role::Viewer,
        get(show_settings),
    )
    .tenant(
        Method::PUT,
        "/api/v1/notification-settings",
        Role::Admin,
        put(put_settings),
    )
}

impl From<NotifyError> for ApiError {
    fn from(e: NotifyError) -> Self {
        match e {
            NotifyError::NotFound => ApiError::NotFound,
            NotifyError::Invalid(m) => ApiError::Invalid(m),
            NotifyError::Db(e) => e.into(),
            NotifyError::Template(m) => ApiError::Internal(m),
        }
    }
}

/// A notification as staff see it (no message body: it is rebuilt from
/// the template when sent).
#[derive(Serialize)]
struct NotificationDto {
    id: String,
    kind: String,
    recipient: String,
    account_id: Option<String>,
    audience: String,
    locale: String,
    status: String,
    attempts: i32,
    last_error: Option<String>,
    message_id: Option<String>,
    sent_at: Option<String>,
    created_at: String,
}

impl From<notification::Model> for NotificationDto {
    fn from(n: notification::Model) -> Self {
        Self {
            id: n.id.to_string(),
            kind: n.kind,
            recipient: n.recipient,
            account_id: n.account_id.map(|a| a.to_string()),
            audience: n.audience,
            locale: n.locale,
            status: n.status,
            attempts: n.attempts,
            last_error: n.last_error,
            message_id: n.message_id,
            sent_at: n.sent_at.map(|t| t.to_rfc3339()),
            created_at: n.created_at.to_rfc3339(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    account_id: Option<String>,
    status: Option<String>,
    limit: Option<u64>,
}

#[derive(Serialize)]
struct ListDto {
    items: Vec<NotificationDto>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<ListDto>, ApiError> {
    let account: Option<AccountId> = match q.account_id.as_deref() {
        Some(raw) => Some(
            raw.parse()
                .map_err(|_| ApiError::Invalid("account_id is not an id".into()))?,
        ),
        None => None,
    };
    if let Some(s) = q.status.as_deref()
        && ![
            "queued",
            "sent",
            "logged",
            "failed_temporary",
            "failed_permanent",
        ]
        .contains(&s)
    {
        return Err(ApiError::Invalid("unknown status".into()));
    }
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = outbox::list(&tx, account, q.status.as_deref(), q.limit.unwrap_or(100)).await?;
    tx.commit().await?;
    Ok(Json(ListDto {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

async fn resend(
    State(state): State<AppState>,
    caller: Caller,
    Path(notification_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: uuid::Uuid = parse_id(&notification_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    outbox::resend(&tx, state.clock(), id).await?;
    tx.commit().await?;
    Ok(StatusCode::ACCEPTED)
}

async fn show_prefs(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<prefs::Preferences>, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    accounts::get(&tx, id).await?;
    let p = prefs::get(&tx, id).await?;
    tx.commit().await?;
    Ok(Json(p))
}

/// The body of `PUT …/notification-preferences`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetPrefs {
    #[serde(default)]
    locale: Option<String>,
    #[serde(default)]
    disabled: Vec<String>,
}

async fn set_prefs(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
    Json(body): Json<SetPrefs>,
) -> Result<Json<prefs::Preferences>, ApiError> {
    let id: AccountId = parse_id(&account_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    accounts::get(&tx, id).await?;
    let p = prefs::set(
        &tx,
        state.clock(),
        id,
        body.locale.as_deref(),
        &body.disabled,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(p))
}

/// The association's notification settings as stored (all `null` when
/// none were saved; the default locale is then `en`).
pub(crate) async fn show_settings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<prefs::Settings>, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let stored = prefs::settings(&tx).await?;
    tx.commit().await?;
    Ok(Json(match stored {
        Some(s) => prefs::Settings {
            from_name: s.from_name,
            reply_to: s.reply_to,
            staff_address: s.staff_address,
            default_locale: Some(s.default_locale),
            bill_pdf: Some(s.bill_pdf),
            reminder_days_before: s.reminder_days_before,
            shutoff_lead_days: s.shutoff_lead_days,
            shutoff_min_overdue_cents: s.shutoff_min_overdue_cents,
            high_usage_factor: Some(s.high_usage_factor),
            daily_summary: Some(s.daily_summary),
        },
        None => prefs::Settings::default(),
    }))
}

/// `PUT /api/v1/notification-settings` (admin): replaces the settings;
/// an address that is not an email or a locale other than `en`/`es`
/// answers 422.
pub(crate) async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<prefs::Settings>,
) -> Result<Json<prefs::Settings>, ApiError> {
    let blank = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let body = prefs::Settings {
        from_name: blank(body.from_name),
        reply_to: blank(body.reply_to),
        staff_address: blank(body.staff_address),
        default_locale: blank(body.default_locale),
        bill_pdf: blank(body.bill_pdf),
        ..body
    };
    let tx = state.db().tenant(&caller.tenant).await?;
    prefs::set_settings(&tx, state.clock(), body).await?;
    tx.commit().await?;
    show_settings(State(state), caller).await
}

/// `GET /api/v1/bill-runs/{run_id}/print-mail.csv`: the run's bills for
/// accounts that are not paperless, in route order (route, sequence), to
/// print and mail. CSV for now; PDF bills come from the billing work.
pub(crate) fn print_routes(r: Routes) -> Routes {
    r.tenant(
        Method::GET,
        "/api/v1/bill-runs/{run_id}/print-mail.csv",
        Role::Viewer,
        get(print_mail),
    )
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A bill to print, its account and service location.
pub(crate) type PaperBill = (
    aqueduct_billing::entity::bill::Model,
    aqueduct_billing::entity::account::Model,
    Option<aqueduct_billing::entity::service_location::Model>,
);

/// The run's bills for accounts that are not paperless, in route order
/// (route, sequence, then bill number); 404 for an unknown run.
pub(crate) async fn paper_bills(
    tx: &aqueduct_tenant::TenantTx,
    id: aqueduct_core::BillRunId,
) -> Result<Vec<PaperBill>, ApiError> {
    use aqueduct_billing::entity::{account, bill, meter, service_location};
    use aqueduct_tenant::scoped;
    use sea_orm::{ColumnTrait, QueryFilter};
    use std::collections::HashMap;
    aqueduct_billing::bill_runs::get(tx, id).await?;
    let bills = scoped::<bill::Entity>(tx)
        .filter(bill::Column::BillRunId.eq(id.uuid()))
        .all(tx.conn())
        .await?;
    let accounts: HashMap<_, _> = scoped::<account::Entity>(tx)
        .filter(account::Column::Paperless.eq(false))
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let meters: HashMap<_, _> = scoped::<meter::Entity>(tx)
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|m| (m.id, m.location_id))
        .collect();
    let locations: HashMap<_, _> = scoped::<service_location::Entity>(tx)
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    let mut rows: Vec<PaperBill> = bills
        .into_iter()
        .filter_map(|b| {
            let a = accounts.get(&b.account_id)?.clone();
            let loc = meters
                .get(&b.meter_id)
                .and_then(|l| locations.get(l))
                .cloned();
            Some((b, a, loc))
        })
        .collect();
    rows.sort_by(|x, y| {
        let key = |l: Option<&service_location::Model>| {
            (
                l.and_then(|l| l.route.clone()).unwrap_or_default(),
                l.and_then(|l| l.sequence).unwrap_or(i32::MAX),
            )
        };
        key(x.2.as_ref())
            .cmp(&key(y.2.as_ref()))
            .then(x.0.number.cmp(&y.0.number))
    });
    Ok(rows)
}

async fn print_mail(
    State(state): State<AppState>,
    caller: Caller,
    Path(run_id): Path<String>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let id: aqueduct_core::BillRunId = parse_id(&run_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = paper_bills(&tx, id).await?;
    tx.commit().await?;
    let mut out = String::from(
        "route,sequence,bill_number,account_number,holder_name,mailing_line1,mailing_line2,\
         mailing_city,mailing_state,mailing_postal_code,service_address,total_cents,due_on\n",
    );
    for (b, a, loc) in &rows {
        let loc = loc.as_ref();
        let fields = [
            loc.and_then(|l| l.route.clone()).unwrap_or_default(),
            loc.and_then(|l| l.sequence)
                .map(|s| s.to_string())
                .unwrap_or_default(),
            b.number.to_string(),
            a.account_number.clone(),
            a.holder_name.clone(),
            a.mailing_line1.clone().unwrap_or_default(),
            a.mailing_line2.clone().unwrap_or_default(),
            a.mailing_city.clone().unwrap_or_default(),
            a.mailing_state.clone().unwrap_or_default(),
            a.mailing_postal_code.clone().unwrap_or_default(),
            loc.map(|l| format!("{}, {}", l.address_line1, l.city))
                .unwrap_or_default(),
            b.total_cents.to_string(),
            b.due_on.to_string(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    Ok((
        [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        out,
    ))
}
