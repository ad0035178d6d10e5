//! The frame every HTML page shares (askama templates in `templates/`):
//! language, title, stylesheet and, on an association's pages, its name,
//! colour, contact line and notice banner.

use crate::branding::{self, Branding};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::state::AppState;
use aqueduct_tenant::{ReadBatch, TenantCtx, TenantStatus, directory};
use askama::Template;
use axum::response::{Html, IntoResponse, Response};

/// An association's part of the frame.
#[derive(Debug, Clone)]
pub(crate) struct AssocChrome {
    pub slug: String,
    pub name: String,
    /// Brand colour without `#` (a theme stylesheet is linked when set).
    pub colour: Option<String>,
    pub logo_url: Option<String>,
    pub phone: Option<String>,
    pub notice: Option<String>,
    pub suspended: bool,
}

/// What the base template needs.
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    pub lang: Lang,
    pub title: String,
    pub css: String,
    pub assoc: Option<AssocChrome>,
    /// Show the language switch (customer pages).
    pub show_lang: bool,
    /// Poll the page every this many seconds (`static/poll.js` swaps in the
    /// parts marked `data-live`); 0 for none.
    pub refresh_seconds: u32,
    /// The polling script's URL.
    pub poll_js: String,
    /// Staff pages: the association workspace's navigation.
    pub staff: Option<StaffChrome>,
}

/// The association workspace's part of the frame.
#[derive(Debug, Clone)]
pub(crate) struct StaffChrome {
    /// The association the staff member works in.
    pub tenant_name: String,
    /// Hidden CSRF input for the sign-out form (empty for API keys).
    pub csrf: String,
    /// Which section is open (`dashboard`, `accounts`, `payments`, `runs`, `ops`).
    pub section: &'static str,
}

impl Chrome {
    /// A page outside any association.
    pub(crate) fn plain(lang: Lang, title: &str) -> Self {
        Self {
            lang,
            title: title.to_owned(),
            css: crate::assets::stylesheet_url(),
            assoc: None,
            show_lang: false,
            refresh_seconds: 0,
            poll_js: crate::assets::poll_script_url(),
            staff: None,
        }
    }

    /// A customer page of an association.
    pub(crate) fn association(lang: Lang, title: &str, tenant: &TenantCtx, b: &Branding) -> Self {
        Self {
            assoc: Some(AssocChrome {
                slug: tenant.slug().to_string(),
                name: tenant.name().to_owned(),
                colour: b
                    .colour
                    .as_ref()
                    .map(|c| c.trim_start_matches('#').to_owned()),
                logo_url: b.logo_src(),
                phone: b.contact_phone.clone(),
                notice: b.notice.clone(),
                suspended: tenant.status() == TenantStatus::Suspended,
            }),
            show_lang: true,
            ..Self::plain(lang, title)
        }
    }
}

/// The generic page: a title and already-escaped body HTML.
#[derive(Template)]
#[template(path = "plain.html")]
pub(crate) struct Plain<'a> {
    pub page: Chrome,
    pub body: &'a str,
}

/// Renders a template into a response (500 if it cannot be rendered).
pub(crate) fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => ApiError::Internal(format!("template: {e}")).into_response(),
    }
}

/// The association at `slug` that customers may see (closed ones are
/// gone: 404) and its branding.
pub(crate) async fn association(
    state: &AppState,
    slug: &str,
) -> Result<(TenantCtx, Branding), ApiError> {
    let tenant = match state.auth_cache() {
        Some(c) => c.tenant_by_slug(state.db(), slug).await?,
        None => directory::by_slug(state.db(), slug).await?,
    }
    .ok_or(ApiError::NotFound)?;
    if tenant.status() == TenantStatus::Closed {
        return Err(ApiError::NotFound);
    }
    // The branding and the logo's description: one round trip.
    let mut batch = ReadBatch::new(&tenant);
    let slots = branding::add_to(&mut batch);
    let mut rows = state.db().read_batch(batch).await?;
    let b = branding::from_batch(&mut rows, slots, &tenant)?;
    Ok((tenant, b))
}
