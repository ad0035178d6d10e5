//! One-click unsubscribe (RFC 8058): `GET /{slug}/unsubscribe/{token}`
//! shows what the link turns off and a button; `POST` to the same URL
//! (what mail providers send, body `List-Unsubscribe=One-Click`, no
//! cookie) turns that kind off in the account's preferences. The token is
//! signed (see `aqueduct_notify::unsubscribe`) and must name the
//! association of the slug: a token for another association's customer
//! answers 404, like an altered one. Essential kinds answer 422.

use crate::error::ApiError;
use crate::i18n::Lang;
use crate::pages::escape;
use crate::registry::Routes;
use crate::session::{self, CurrentSession};
use crate::state::AppState;
use crate::web::{self, Chrome, Plain};
use aqueduct_billing::accounts;
use aqueduct_notify::Kind;
use aqueduct_notify::unsubscribe::{self, Target};
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::{Access, TenantCtx};
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub(crate) fn routes(r: Routes) -> Routes {
    r.public(Method::GET, "/{slug}/unsubscribe/{token}", get(show))
        .public(
            Method::POST,
            "/{slug}/unsubscribe/{token}",
            axum::routing::post(confirm),
        )
}

fn kind_label(lang: Lang, kind: Kind) -> &'static str {
    lang.t(match kind {
        Kind::DueReminder => "unsubscribe.kind.due_reminder",
        Kind::AutopayUpcoming => "unsubscribe.kind.autopay_upcoming",
        Kind::HighUsage => "unsubscribe.kind.high_usage",
        _ => "unsubscribe.kind.essential",
    })
}

/// The association, what the token names and the account's number; 404
/// for an unknown slug, a token that does not verify, one for another
/// association, or an account that is not there.
async fn resolve(
    state: &AppState,
    slug: &str,
    token: &str,
) -> Result<(TenantCtx, crate::branding::Branding, Target, String), ApiError> {
    let (tenant, b) = web::association(state, slug).await?;
    let links = state.db().links().ok_or(ApiError::NotFound)?;
    let target = unsubscribe::verify(links, token)
        .filter(|t| t.tenant == tenant.id())
        .ok_or(ApiError::NotFound)?;
    let tx = state.db().tenant_with(&tenant, Access::Read).await?;
    let number = match accounts::get(&tx, target.account).await {
        Ok(a) => a.account_number,
        Err(aqueduct_billing::BillingError::NotFound) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    Ok((tenant, b, target, number))
}

fn page(lang: Lang, tenant: &TenantCtx, b: &crate::branding::Branding, body: &str) -> Response {
    web::render(&Plain {
        page: Chrome::association(lang, lang.t("unsubscribe.title"), tenant, b),
        body,
    })
}

fn essential(lang: Lang, tenant: &TenantCtx, b: &crate::branding::Branding) -> Response {
    let body = format!(
        "<h1>{}</h1><div class=\"card\"><p>{}</p></div>",
        escape(lang.t("unsubscribe.title")),
        escape(lang.t("unsubscribe.essential"))
    );
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        page(lang, tenant, b, &body),
    )
        .into_response()
}

async fn show(
    State(state): State<AppState>,
    lang: Lang,
    s: Option<Extension<CurrentSession>>,
    Path((slug, token)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (tenant, b, target, number) = resolve(&state, &slug, &token).await?;
    if target.kind.essential() {
        return Ok(essential(lang, &tenant, &b));
    }
    let csrf = s.map_or_else(String::new, |Extension(CurrentSession(s))| {
        format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            session::CSRF_FIELD,
            escape(&s.csrf_token)
        )
    });
    let body = format!(
        "<h1>{title}</h1><div class=\"card\"><p>{confirm}</p>\
         <dl class=\"summary\"><div><dt>{what}</dt><dd>{kind}</dd></div>\
         <div><dt>{acct}</dt><dd>{number}</dd></div></dl>\
         <form method=\"post\" action=\"/{slug}/unsubscribe/{token}\">{csrf}\
         <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
         <button type=\"submit\">{button}</button></form></div>",
        title = escape(lang.t("unsubscribe.title")),
        confirm = escape(lang.t("unsubscribe.confirm")),
        what = escape(lang.t("unsubscribe.what")),
        kind = escape(kind_label(lang, target.kind)),
        acct = escape(lang.t("unsubscribe.account")),
        number = escape(&number),
        slug = escape(tenant.slug().as_str()),
        token = escape(&token),
        button = escape(lang.t("unsubscribe.button")),
    );
    Ok(page(lang, &tenant, &b, &body))
}

async fn confirm(
    State(state): State<AppState>,
    lang: Lang,
    Path((slug, token)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (tenant, b, target, number) = resolve(&state, &slug, &token).await?;
    if target.kind.essential() {
        return Ok(essential(lang, &tenant, &b));
    }
    let tx = state.db().tenant(&tenant).await?;
    unsubscribe::apply(&tx, state.clock(), target.account, target.kind).await?;
    audit::record_in(
        &tx,
        state.clock(),
        AuditEntry {
            tenant: Some(tenant.id()),
            actor: format!("unsubscribe-link:{}", target.account),
            action: "notifications.unsubscribe".into(),
            target: Some(format!("account:{} kind:{}", target.account, target.kind)),
            outcome: Outcome::Success,
            request_id: None,
            ip: None,
            details: None,
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(account = %number, kind = %target.kind, "unsubscribed by one-click link");
    let body = format!(
        "<h1>{}</h1><div class=\"card\"><p>{}</p><p>{}</p></div>",
        escape(lang.t("unsubscribe.title")),
        escape(kind_label(lang, target.kind)),
        escape(lang.t("unsubscribe.done"))
    );
    Ok(page(lang, &tenant, &b, &body))
}
