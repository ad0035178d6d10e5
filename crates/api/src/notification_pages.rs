//! Workspace pages for notifications (issue 8): `/app/notifications`
//! (viewers: what was sent to whom, kind, when, status and last error,
//! filtered by status, kind and account, a page at a time; clerks resend
//! one that did not go out) and `/app/settings/notifications` (admins:
//! the association's sender settings, saved through the same code as
//! `PUT /api/v1/notification-settings`).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::resources::notifications::{put_settings, show_settings};
use crate::resources::parse_id;
use crate::session::CurrentSession;
use crate::staff_pages::shown;
use crate::state::AppState;
use crate::web;
use crate::workspace::{chrome, csrf_input, form_value};
use aqueduct_billing::accounts::{self, AccountNumber};
use aqueduct_billing::entity::account;
use aqueduct_notify::entity::notification;
use aqueduct_notify::{Audience, Kind, outbox, prefs};
use aqueduct_tenant::{Access, Role, scoped};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use std::collections::HashMap;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::GET,
        "/app/notifications",
        Role::Viewer,
        get(list_page),
    )
    .tenant(
        Method::POST,
        "/app/notifications/{notification_id}/resend",
        Role::Clerk,
        post(resend),
    )
    .tenant(
        Method::GET,
        "/app/settings/notifications",
        Role::Admin,
        get(settings_page),
    )
    .tenant(
        Method::POST,
        "/app/settings/notifications",
        Role::Admin,
        post(settings_save),
    )
}

/// Delivery states, as stored, with how the page names them.
const STATUSES: [(&str, &str); 5] = [
    ("queued", "queued"),
    ("sent", "sent"),
    ("logged", "logged only (not delivered)"),
    ("failed_temporary", "failed, will retry"),
    ("failed_permanent", "failed for good"),
];

/// Rows per page of the list.
const PER_PAGE: u64 = 50;

/// States a clerk may resend from (`sent` never is; `queued` is on its way).
pub(crate) fn resendable(status: &str) -> bool {
    matches!(status, "logged" | "failed_temporary" | "failed_permanent")
}

/// One notification as the pages show it.
pub(crate) struct NoteRow {
    pub id: String,
    pub created: String,
    pub kind: String,
    pub recipient: String,
    pub account_id: String,
    pub account_number: String,
    pub status: String,
    pub failed_for_good: bool,
    pub attempts: i32,
    pub last_error: String,
    pub sent: String,
    pub resendable: bool,
}

impl NoteRow {
    pub(crate) fn new(n: notification::Model, numbers: &HashMap<uuid::Uuid, String>) -> Self {
        let label = STATUSES
            .iter()
            .find(|(s, _)| *s == n.status)
            .map_or(n.status.as_str(), |(_, l)| *l)
            .to_owned();
        Self {
            id: n.id.to_string(),
            created: n.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            kind: n.kind.replace('_', " "),
            recipient: n.recipient,
            account_id: n.account_id.map(|a| a.to_string()).unwrap_or_default(),
            account_number: n
                .account_id
                .and_then(|a| numbers.get(&a).cloned())
                .unwrap_or_default(),
            failed_for_good: n.status == "failed_permanent",
            resendable: resendable(&n.status),
            status: label,
            attempts: n.attempts,
            last_error: n.last_error.unwrap_or_default(),
            sent: n
                .sent_at
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default(),
        }
    }
}

#[derive(Deserialize, Default)]
struct ListQuery {
    status: Option<String>,
    kind: Option<String>,
    account: Option<String>,
    page: Option<u64>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "app_notifications.html")]
struct ListPage {
    page: web::Chrome,
    csrf: String,
    message: Option<String>,
    error: Option<String>,
    rows: Vec<NoteRow>,
    statuses: Vec<(&'static str, &'static str, bool)>,
    kinds: Vec<(&'static str, bool)>,
    account: String,
    can_resend: bool,
    return_to: String,
    newer: Option<String>,
    older: Option<String>,
    page_no: u64,
}

fn kinds_for_staff() -> Vec<Kind> {
    Kind::ALL
        .iter()
        .copied()
        .filter(|k| k.audience() != Audience::Operator)
        .collect()
}

fn encode(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

async fn list_page(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let clean = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let mut errors = Vec::new();
    let status = clean(&q.status).filter(|st| {
        let ok = STATUSES.iter().any(|(x, _)| *x == st.as_str());
        if !ok {
            errors.push(format!("Unknown status “{st}”."));
        }
        ok
    });
    let kind = clean(&q.kind).filter(|k| {
        let ok = kinds_for_staff().iter().any(|x| x.as_str() == k.as_str());
        if !ok {
            errors.push(format!("Unknown kind “{k}”."));
        }
        ok
    });
    let account_text = clean(&q.account).unwrap_or_default();
    let page_no = q.page.unwrap_or(1).clamp(1, 10_000);
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    // Accounts restricted by an erasure request are hidden from staff pages
    // (as the account list and page): so is their mail.
    let hidden: Vec<uuid::Uuid> = aqueduct_retention::erasure::hidden_accounts(&tx)
        .await
        .map_err(crate::privacy::retention_error)?
        .into_iter()
        .map(|a| a.uuid())
        .collect();
    let mut account_filter = None;
    let mut no_such_account = false;
    if !account_text.is_empty() {
        let found = match AccountNumber::parse(&account_text) {
            Ok(n) => accounts::by_number(&tx, &n)
                .await?
                .filter(|a| !hidden.contains(&a.id)),
            Err(_) => None,
        };
        match found {
            Some(a) => account_filter = Some(a.id),
            None => {
                no_such_account = true;
                errors.push(format!("No account numbered “{account_text}”."));
            }
        }
    }
    let mut rows = Vec::new();
    if !no_such_account {
        let mut query = scoped::<notification::Entity>(&tx);
        if let Some(st) = &status {
            query = query.filter(notification::Column::Status.eq(st.as_str()));
        }
        if let Some(k) = &kind {
            query = query.filter(notification::Column::Kind.eq(k.as_str()));
        }
        if let Some(a) = account_filter {
            query = query.filter(notification::Column::AccountId.eq(a));
        }
        if !hidden.is_empty() {
            query = query.filter(
                sea_orm::Condition::any()
                    .add(notification::Column::AccountId.is_null())
                    .add(notification::Column::AccountId.is_not_in(hidden.clone())),
            );
        }
        rows = query
            .order_by_desc(notification::Column::CreatedAt)
            .order_by_desc(notification::Column::Id)
            .offset((page_no - 1) * PER_PAGE)
            .limit(PER_PAGE + 1)
            .all(tx.conn())
            .await?;
    }
    let more = rows.len() as u64 > PER_PAGE;
    rows.truncate(usize::try_from(PER_PAGE).unwrap_or(50));
    let numbers = account_numbers(&tx, &rows).await?;
    tx.commit().await?;
    let mut filter = String::new();
    for (name, v) in [
        ("status", status.as_deref()),
        ("kind", kind.as_deref()),
        (
            "account",
            Some(account_text.as_str()).filter(|a| !a.is_empty()),
        ),
    ] {
        if let Some(v) = v {
            filter.push_str(&format!("{name}={}&", encode(v)));
        }
    }
    let link = |p: u64| format!("/app/notifications?{filter}page={p}");
    let message =
        (q.done.as_deref() == Some("resent")).then(|| "Queued to be sent again.".to_owned());
    if q.done.as_deref() == Some("already_sent") {
        errors.push("Not resent: it was already sent.".to_owned());
    }
    Ok(web::render(&ListPage {
        page: chrome(&caller, s.as_ref(), "Notifications", "notifications"),
        csrf: csrf_input(s.as_ref()),
        message,
        error: (!errors.is_empty()).then(|| errors.join(" ")),
        rows: rows
            .into_iter()
            .map(|n| NoteRow::new(n, &numbers))
            .collect(),
        statuses: STATUSES
            .iter()
            .map(|(v, l)| (*v, *l, status.as_deref() == Some(*v)))
            .collect(),
        kinds: kinds_for_staff()
            .into_iter()
            .map(|k| (k.as_str(), kind.as_deref() == Some(k.as_str())))
            .collect(),
        account: account_text,
        can_resend: caller.role >= Role::Clerk,
        return_to: link(page_no),
        newer: (page_no > 1).then(|| link(page_no - 1)),
        older: more.then(|| link(page_no + 1)),
        page_no,
    }))
}

/// Account numbers of the accounts the rows are about.
pub(crate) async fn account_numbers(
    tx: &aqueduct_tenant::TenantTx,
    rows: &[notification::Model],
) -> Result<HashMap<uuid::Uuid, String>, ApiError> {
    let ids: Vec<uuid::Uuid> = rows.iter().filter_map(|n| n.account_id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(scoped::<account::Entity>(tx)
        .filter(account::Column::Id.is_in(ids))
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|a| (a.id, a.account_number))
        .collect())
}

/// Where a form may send the browser back to: one of our workspace pages,
/// never another site.
pub(crate) fn safe_return(raw: Option<String>, fallback: &str) -> String {
    raw.filter(|r| {
        (r.starts_with("/app/notifications") || r.starts_with("/app/accounts/"))
            && !r.contains("//")
            && !r.contains('\\')
            && r.chars().all(|c| c.is_ascii_graphic())
    })
    .unwrap_or_else(|| fallback.to_owned())
}

/// Resend: the same `outbox::resend` as the JSON route. An id of another
/// association is 404 before the form is read.
async fn resend(
    State(state): State<AppState>,
    caller: Caller,
    Path(notification_id): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let id: uuid::Uuid = parse_id(&notification_id)?;
    let tx = state.db().tenant(&caller.tenant).await?;
    outbox::get(&tx, id).await?;
    let back = safe_return(form_value(&body, "return_to"), "/app/notifications");
    let sep = if back.contains('?') { '&' } else { '?' };
    match outbox::resend(&tx, state.clock(), id).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("{back}{sep}done=resent")).into_response())
        }
        Err(aqueduct_notify::NotifyError::Invalid(_)) => {
            tx.rollback().await?;
            Ok(Redirect::to(&format!("{back}{sep}done=already_sent")).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// How one input of the settings form looks.
#[derive(Clone, Copy)]
enum Input {
    Text,
    Email,
    Number,
    Dollars,
    Choice(&'static [(&'static str, &'static str)]),
}

/// One setting of the notification settings form: how it is shown, read
/// from the stored settings and written back. A new setting in
/// `prefs::Settings` is one more entry in [`setting_inputs`]; fields not
/// listed keep their stored value when the form is saved.
struct SettingInput {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    input: Input,
    show: fn(&prefs::Settings) -> String,
    read: fn(&mut prefs::Settings, &str) -> Result<(), &'static str>,
}

fn text_of(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn number_of(v: Option<i32>) -> String {
    v.map(|d| d.to_string()).unwrap_or_default()
}

/// Empty: `None`; else a whole number.
fn whole(raw: &str) -> Result<Option<i32>, ()> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse().map(Some).map_err(|_| ())
}

fn setting_inputs() -> Vec<SettingInput> {
    vec![
        SettingInput {
            name: "from_name",
            label: "Sender name",
            hint: "The name customers see the mail from. Empty: the association's name.",
            input: Input::Text,
            show: |s| text_of(&s.from_name),
            read: |s, v| {
                s.from_name = Some(v.to_owned());
                Ok(())
            },
        },
        SettingInput {
            name: "reply_to",
            label: "Reply-to address",
            hint: "Where customers' replies go: the association's contact address.",
            input: Input::Email,
            show: |s| text_of(&s.reply_to),
            read: |s, v| {
                s.reply_to = Some(v.to_owned());
                Ok(())
            },
        },
        SettingInput {
            name: "staff_address",
            label: "Staff address",
            hint: "Where staff notifications go (bill run finished, Stripe needs attention, disputes, failed payouts).",
            input: Input::Email,
            show: |s| text_of(&s.staff_address),
            read: |s, v| {
                s.staff_address = Some(v.to_owned());
                Ok(())
            },
        },
        SettingInput {
            name: "default_locale",
            label: "Language for customers who chose none",
            hint: "",
            input: Input::Choice(&[("en", "English"), ("es", "Spanish")]),
            show: |s| s.default_locale.clone().unwrap_or_else(|| "en".into()),
            read: |s, v| {
                s.default_locale = Some(v.to_owned());
                Ok(())
            },
        },
        SettingInput {
            name: "bill_pdf",
            label: "Bill-ready mail carries the bill as",
            hint: "",
            input: Input::Choice(&[
                ("link", "a link to the bill"),
                ("attach", "a PDF attachment (and the link)"),
            ]),
            show: |s| s.bill_pdf.clone().unwrap_or_else(|| "link".into()),
            read: |s, v| {
                s.bill_pdf = Some(v.to_owned());
                Ok(())
            },
        },
        SettingInput {
            name: "reminder_days_before",
            label: "Due-date reminder, days before the due date",
            hint: "1 to 60; empty for no reminders. Not sent to accounts on autopay or already paid.",
            input: Input::Number,
            show: |s| number_of(s.reminder_days_before),
            read: |s, v| {
                s.reminder_days_before = whole(v)
                    .map_err(|()| "Reminder: give a whole number of days, or leave it empty.")?;
                Ok(())
            },
        },
        SettingInput {
            name: "shutoff_lead_days",
            label: "Shut-off notice lead time, in days",
            hint: "The notice the law requires before a shut-off, 1 to 120; empty for no shut-off notices.",
            input: Input::Number,
            show: |s| number_of(s.shutoff_lead_days),
            read: |s, v| {
                s.shutoff_lead_days = whole(v).map_err(
                    |()| "Shut-off lead time: give a whole number of days, or leave it empty.",
                )?;
                Ok(())
            },
        },
        SettingInput {
            name: "high_usage_factor",
            label: "Possible-leak alert at this many times the usual use",
            hint: "2 to 10; empty for the default (3). Used for the high-usage mail, the account page's notice and the read import's exceptions.",
            input: Input::Number,
            show: |s| number_of(s.high_usage_factor),
            read: |s, v| {
                s.high_usage_factor = whole(v).map_err(
                    |()| "Possible-leak factor: give a whole number, or leave it empty.",
                )?;
                Ok(())
            },
        },
        SettingInput {
            name: "daily_summary",
            label: "Daily summary mail to the staff address",
            hint: "",
            input: Input::Choice(&[("off", "off"), ("on", "on")]),
            show: |s| {
                if s.daily_summary == Some(true) {
                    "on"
                } else {
                    "off"
                }
                .to_owned()
            },
            read: |s, v| {
                s.daily_summary = Some(v == "on");
                Ok(())
            },
        },
        SettingInput {
            name: "shutoff_min_overdue",
            label: "Shut-off notice only from this amount overdue (dollars, 60+ days)",
            hint: "Empty: any overdue amount.",
            input: Input::Dollars,
            show: |s| {
                s.shutoff_min_overdue_cents
                    .map(|c| format!("{}.{:02}", c / 100, c % 100))
                    .unwrap_or_default()
            },
            read: |s, v| {
                let v = v.trim();
                s.shutoff_min_overdue_cents =
                    if v.is_empty() {
                        None
                    } else {
                        Some(crate::portal::parse_dollars(v).ok_or(
                            "Shut-off minimum: give dollars like 50.00, or leave it empty.",
                        )?)
                    };
                Ok(())
            },
        },
    ]
}

/// An input as the template draws it.
struct FieldView {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    /// `text`, `email`, `number` (whole), `decimal` or `select`.
    kind: &'static str,
    value: String,
    options: Vec<(&'static str, &'static str, bool)>,
}

fn field_views(values: &HashMap<&'static str, String>) -> Vec<FieldView> {
    setting_inputs()
        .into_iter()
        .map(|i| {
            let value = values.get(i.name).cloned().unwrap_or_default();
            let (kind, options) = match i.input {
                Input::Text => ("text", Vec::new()),
                Input::Email => ("email", Vec::new()),
                Input::Number => ("number", Vec::new()),
                Input::Dollars => ("decimal", Vec::new()),
                Input::Choice(opts) => (
                    "select",
                    opts.iter().map(|(v, l)| (*v, *l, *v == value)).collect(),
                ),
            };
            FieldView {
                name: i.name,
                label: i.label,
                hint: i.hint,
                kind,
                value,
                options,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "app_notification_settings.html")]
struct SettingsPage {
    page: web::Chrome,
    csrf: String,
    saved: bool,
    error: Option<String>,
    fields: Vec<FieldView>,
}

#[derive(Deserialize)]
struct Saved {
    saved: Option<String>,
}

fn render_settings(
    caller: &Caller,
    s: Option<&Extension<CurrentSession>>,
    values: &HashMap<&'static str, String>,
    saved: bool,
    error: Option<String>,
) -> Response {
    web::render(&SettingsPage {
        page: chrome(caller, s, "Notification settings", "settings"),
        csrf: csrf_input(s),
        saved,
        error,
        fields: field_views(values),
    })
}

async fn settings_page(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Query(q): Query<Saved>,
) -> Result<Response, ApiError> {
    let Json(current) = show_settings(State(state), caller.clone()).await?;
    let values = setting_inputs()
        .into_iter()
        .map(|i| (i.name, (i.show)(&current)))
        .collect();
    Ok(render_settings(
        &caller,
        s.as_ref(),
        &values,
        q.saved.is_some(),
        None,
    ))
}

/// Saves the form: starts from the stored settings (so settings the form
/// does not show are kept), applies each input, then stores it through
/// `PUT /api/v1/notification-settings`'s code. Bad input shows the form
/// again with what was typed and the reason.
async fn settings_save(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    body: String,
) -> Result<Response, ApiError> {
    let Json(mut wanted) = show_settings(State(state.clone()), caller.clone()).await?;
    let mut typed = HashMap::new();
    let mut problems = Vec::new();
    for i in setting_inputs() {
        let raw = form_value(&body, i.name).unwrap_or_default();
        if let Err(m) = (i.read)(&mut wanted, &raw) {
            problems.push(m);
        }
        typed.insert(i.name, raw);
    }
    if !problems.is_empty() {
        let msg = problems.join(" ");
        return Ok(render_settings(
            &caller,
            s.as_ref(),
            &typed,
            false,
            Some(msg),
        ));
    }
    match put_settings(State(state), caller.clone(), Json(wanted)).await {
        Ok(_) => Ok(Redirect::to("/app/settings/notifications?saved=1").into_response()),
        Err(e) => {
            let msg = shown(e)?;
            Ok(render_settings(
                &caller,
                s.as_ref(),
                &typed,
                false,
                Some(msg),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{safe_return, setting_inputs, whole};
    use aqueduct_notify::prefs::Settings;

    #[test]
    fn return_paths_stay_in_the_workspace() {
        let f = "/app/notifications";
        assert_eq!(
            safe_return(Some("/app/accounts/x".into()), f),
            "/app/accounts/x"
        );
        assert_eq!(safe_return(Some("https://evil.test/".into()), f), f);
        assert_eq!(safe_return(Some("/app/notifications//evil".into()), f), f);
        assert_eq!(safe_return(None, f), f);
    }

    #[test]
    fn every_setting_input_round_trips() {
        let mut s = Settings::default();
        for i in setting_inputs() {
            let shown = (i.show)(&s);
            (i.read)(&mut s, &shown).unwrap();
        }
        assert_eq!(whole(" 7 "), Ok(Some(7)));
        assert_eq!(whole(""), Ok(None));
        assert!(whole("seven").is_err());
        let mut s = Settings::default();
        let min = setting_inputs()
            .into_iter()
            .find(|i| i.name == "shutoff_min_overdue")
            .unwrap();
        (min.read)(&mut s, "50.00").unwrap();
        assert_eq!(s.shutoff_min_overdue_cents, Some(5000));
        assert_eq!((min.show)(&s), "50.00");
        assert!((min.read)(&mut s, "fifty").is_err());
    }
}
