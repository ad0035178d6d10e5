//! Browser pages: hosted Checkout (no card field, just outcome buttons), Connect
//! onboarding, and an Express-dashboard stand-in.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::api::accounts::onboarding_fields;
use crate::api::checkout::{self, Action, Outcome};
use crate::ids::now;
use crate::store::ReqInfo;
use crate::{Shared, domain, form, lock};

/// `/c/pay/{id}`, `/connect/onboarding/{token}`, `/connect/express/{account}`.
pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/c/pay/{id}", get(checkout_page).post(checkout_action))
        .route(
            "/connect/onboarding/{token}",
            get(onboarding_page).post(onboarding_done),
        )
        .route("/connect/express/{account}", get(express_page))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:36rem;margin:2rem auto}}button{{display:block;margin:.5rem 0;padding:.6rem 1rem;font-size:1rem}}\
         .note{{color:#555}}.error{{color:#b00}}</style></head><body><p class=\"note\">aqueduct-stripe-sim (test mode)</p>{body}</body></html>",
        t = esc(title)
    ))
}

fn button(name: &str, value: &str, label: &str) -> String {
    format!(
        "<button type=\"submit\" name=\"{name}\" value=\"{value}\">{}</button>",
        esc(label)
    )
}

async fn checkout_page(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    render_checkout(&shared, &id, None)
}

fn render_checkout(shared: &Shared, id: &str, message: Option<&str>) -> Response {
    let cs = lock(&shared.store).raw(id).map(|o| o.json.clone());
    let Some(cs) = cs.filter(|c| c["object"] == "checkout.session") else {
        return (
            axum::http::StatusCode::NOT_FOUND,
            page("Not found", "<h1>No such Checkout Session</h1>"),
        )
            .into_response();
    };
    let mut body = String::new();
    let setup = cs["mode"] == "setup";
    if setup {
        body.push_str("<h1>Save a payment method</h1>");
    } else {
        let amount = cs["amount_total"].as_i64().unwrap_or(0);
        body.push_str(&format!(
            "<h1>Pay {} {}</h1>",
            esc(&domain::dollars(amount)),
            esc(&cs["currency"].as_str().unwrap_or_default().to_uppercase())
        ));
    }
    body.push_str(&format!(
        "<p class=\"note\">Session <code>{}</code></p>",
        esc(id)
    ));
    if let Some(m) = message {
        body.push_str(&format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m)));
    }
    if cs["status"] != "open" {
        body.push_str(&format!(
            "<p>This session is {}.</p>",
            esc(cs["status"].as_str().unwrap_or_default())
        ));
        return page("Checkout", &body).into_response();
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/c/pay/{}\">",
        esc(id)
    ));
    if setup {
        body.push_str(&button("action", "save", "Save card"));
        body.push_str(&button(
            "action",
            "save_declining",
            "Save card (later charges are declined)",
        ));
        body.push_str(&button("action", "save_bank", "Save bank account"));
    } else {
        body.push_str(&button("action", "pay", "Pay successfully"));
        body.push_str(&button("action", "decline", "Decline"));
        body.push_str(&button(
            "action",
            "bank_succeed",
            "Bank payment: processing, then succeeds",
        ));
        body.push_str(&button(
            "action",
            "bank_fail",
            "Bank payment: processing, then fails",
        ));
    }
    if cs["cancel_url"].is_string() {
        body.push_str(&button("action", "cancel", "Cancel and go back"));
    }
    body.push_str("</form>");
    page("Checkout", &body).into_response()
}

async fn checkout_action(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let params = form::parse(&body);
    let action = match params["action"].as_str().unwrap_or_default() {
        "pay" => Action::Pay,
        "decline" => Action::Decline,
        "bank_succeed" => Action::BankSucceed,
        "bank_fail" => Action::BankFail,
        "save" => Action::Save,
        "save_declining" => Action::SaveDeclining,
        "save_bank" => Action::SaveBank,
        "cancel" => {
            let url = lock(&shared.store)
                .raw(&id)
                .and_then(|o| o.json["cancel_url"].as_str().map(str::to_owned));
            return match url {
                Some(u) => Redirect::to(&u).into_response(),
                None => render_checkout(&shared, &id, Some("This session has no cancel_url.")),
            };
        }
        _ => return render_checkout(&shared, &id, Some("Unknown action.")),
    };
    match checkout::complete(&shared, &id, action) {
        Outcome::Redirect(url) => Redirect::to(&url).into_response(),
        Outcome::Message(m) => render_checkout(&shared, &id, Some(&m)),
    }
}

fn link(shared: &Shared, token: &str) -> Option<Value> {
    lock(&shared.store)
        .internal
        .get(&format!("link:{token}"))
        .cloned()
}

async fn onboarding_page(State(shared): State<Arc<Shared>>, Path(token): Path<String>) -> Response {
    let Some(l) = link(&shared, &token) else {
        return (
            axum::http::StatusCode::NOT_FOUND,
            page("Not found", "<h1>Unknown onboarding link</h1>"),
        )
            .into_response();
    };
    if l["used"] == true || l["expires_at"].as_i64().is_some_and(|e| e <= now()) {
        return Redirect::to(l["refresh_url"].as_str().unwrap_or("/")).into_response();
    }
    let acct = l["account"].as_str().unwrap_or_default();
    page(
        "Onboarding",
        &format!(
            "<h1>Set up payouts for {}</h1><p>Business details, bank account and identity are assumed.</p>\
             <form method=\"post\" action=\"/connect/onboarding/{}\">{}</form>",
            esc(acct),
            esc(&token),
            button("action", "complete", "Complete onboarding")
        ),
    )
    .into_response()
}

async fn onboarding_done(State(shared): State<Arc<Shared>>, Path(token): Path<String>) -> Response {
    let Some(l) = link(&shared, &token) else {
        return (
            axum::http::StatusCode::NOT_FOUND,
            page("Not found", "<h1>Unknown onboarding link</h1>"),
        )
            .into_response();
    };
    if l["used"] == true || l["expires_at"].as_i64().is_some_and(|e| e <= now()) {
        return Redirect::to(l["refresh_url"].as_str().unwrap_or("/")).into_response();
    }
    let acct = l["account"].as_str().unwrap_or_default().to_owned();
    shared.with_store(|s| {
        if let Some(Value::Object(m)) = s.internal.get_mut(&format!("link:{token}")) {
            m.insert("used".into(), json!(true));
        }
    });
    complete_onboarding(&shared, &acct);
    Redirect::to(l["return_url"].as_str().unwrap_or("/")).into_response()
}

/// Flips an account to fully onboarded and emits `account.updated` (a Connect event).
pub fn complete_onboarding(shared: &Shared, acct: &str) -> Option<Value> {
    shared.with_store(|s| {
        let before = s.raw(acct)?.json.clone();
        if before["object"] != "account" {
            return None;
        }
        let after = s.update(acct, |a| {
            if let Value::Object(f) = onboarding_fields(true) {
                a.extend(f);
            }
            a.insert(
                "tos_acceptance".into(),
                json!({"date": now(), "ip": "127.0.0.1", "user_agent": "aqueduct-stripe-sim"}),
            );
        });
        let previous = json!({
            "charges_enabled": before["charges_enabled"],
            "payouts_enabled": before["payouts_enabled"],
            "details_submitted": before["details_submitted"],
            "capabilities": before["capabilities"],
            "requirements": before["requirements"],
        });
        s.emit(
            Some(acct),
            "account.updated",
            &after,
            Some(previous),
            &ReqInfo::default(),
        );
        Some(after)
    })
}

/// Stripe asks an (onboarded) account for more: sets its `requirements`
/// (`currently_due`, `past_due`, `disabled_reason`; a disabled reason also
/// turns charges and payouts off) and emits `account.updated`.
pub fn require(
    shared: &Shared,
    acct: &str,
    currently_due: &[String],
    past_due: &[String],
    disabled_reason: Option<&str>,
) -> Option<Value> {
    shared.with_store(|s| {
        let before = s.raw(acct)?.json.clone();
        if before["object"] != "account" {
            return None;
        }
        let enabled = disabled_reason.is_none();
        let after = s.update(acct, |a| {
            a.insert(
                "requirements".into(),
                json!({
                    "alternatives": [], "current_deadline": null,
                    "currently_due": currently_due, "disabled_reason": disabled_reason,
                    "errors": [], "eventually_due": currently_due, "past_due": past_due,
                    "pending_verification": [],
                }),
            );
            a.insert("charges_enabled".into(), json!(enabled));
            a.insert("payouts_enabled".into(), json!(enabled));
        });
        let previous = json!({
            "charges_enabled": before["charges_enabled"],
            "payouts_enabled": before["payouts_enabled"],
            "requirements": before["requirements"],
        });
        s.emit(
            Some(acct),
            "account.updated",
            &after,
            Some(previous),
            &ReqInfo::default(),
        );
        Some(after)
    })
}

async fn express_page(State(shared): State<Arc<Shared>>, Path(account): Path<String>) -> Response {
    let bal = shared.with_store(|s| domain::available(s, Some(&account)));
    let rows: String = bal
        .iter()
        .map(|(c, a)| {
            format!(
                "<li>{} {}</li>",
                esc(&domain::dollars(*a)),
                esc(&c.to_uppercase())
            )
        })
        .collect();
    page(
        "Express dashboard",
        &format!(
            "<h1>Express dashboard: {}</h1><p>Available balance:</p><ul>{rows}</ul>",
            esc(&account)
        ),
    )
    .into_response()
}
