//! The Stripe client and settings. async-stripe types stay in this crate.

use aqueduct_core::Secret;
use std::fmt;

/// Stripe settings from configuration (`[stripe]`).
#[derive(Clone)]
pub struct StripeSettings {
    /// Secret or restricted key (`sk_…`/`rk_…`).
    pub secret_key: Secret,
    /// Webhook signing secrets; more than one during rotation.
    pub webhook_secrets: Vec<Secret>,
    /// API base URL (Stripe's by default; the local simulator in tests).
    pub api_base: Option<String>,
    /// Our public base URL, for return and success links.
    pub public_url: String,
}

impl fmt::Debug for StripeSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeSettings")
            .field("secret_key", &self.secret_key)
            .field("webhook_secrets", &self.webhook_secrets.len())
            .field("api_base", &self.api_base)
            .field("public_url", &self.public_url)
            .finish()
    }
}

/// A configured Stripe platform: the client and what webhooks need.
#[derive(Clone)]
pub struct Stripe {
    pub(crate) client: stripe::Client,
    pub(crate) livemode: bool,
    pub(crate) webhook_secrets: Vec<Secret>,
    pub(crate) public_url: String,
    /// Origin of the API base when it is not Stripe's (the local simulator).
    pub(crate) api_origin: Option<String>,
}

impl fmt::Debug for Stripe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stripe")
            .field("livemode", &self.livemode)
            .field("secret_key", &"[REDACTED]")
            .finish()
    }
}

impl Stripe {
    /// Builds the client.
    pub fn new(settings: StripeSettings) -> Result<Self, crate::PaymentsError> {
        let key = settings.secret_key.expose();
        let livemode = key.starts_with("sk_live_") || key.starts_with("rk_live_");
        let mut builder = stripe::ClientBuilder::new(key);
        if let Some(base) = &settings.api_base {
            builder = builder.url(base.as_str());
        }
        let client = builder
            .build()
            .map_err(|e| crate::PaymentsError::Stripe(format!("client: {e}")))?;
        Ok(Self {
            client,
            livemode,
            webhook_secrets: settings.webhook_secrets,
            public_url: settings.public_url.trim_end_matches('/').to_owned(),
            api_origin: settings.api_base.as_deref().map(origin_of),
        })
    }

    /// Origins a browser is sent to for hosted Checkout (the page's CSP
    /// `form-action` must allow them): Stripe's, plus the API base's origin
    /// when it is not Stripe's (the local simulator serves Checkout too).
    pub fn checkout_origins(&self) -> Vec<String> {
        let mut v = vec!["https://checkout.stripe.com".to_owned()];
        if let Some(o) = &self.api_origin {
            v.push(o.clone());
        }
        v
    }

    /// Whether the key is a live-mode key (events must match it).
    pub fn livemode(&self) -> bool {
        self.livemode
    }

    /// Webhook signing secrets.
    pub fn webhook_secrets(&self) -> &[Secret] {
        &self.webhook_secrets
    }
}

/// An Idempotency-Key for Stripe from our own operation id.
pub(crate) fn key(root: &str) -> Result<stripe::RequestStrategy, crate::PaymentsError> {
    stripe::IdempotencyKey::new(root)
        .map(stripe::RequestStrategy::Idempotent)
        .map_err(|e| crate::PaymentsError::Stripe(format!("idempotency key: {e}")))
}

/// Maps an async-stripe error to ours.
pub(crate) fn stripe_err(e: stripe::StripeError) -> crate::PaymentsError {
    match e {
        stripe::StripeError::Stripe(err, status)
            if (400..500).contains(&status) && status != 401 && status != 429 =>
        {
            crate::PaymentsError::StripeRefused(
                err.message
                    .unwrap_or_else(|| "Stripe refused the request.".into()),
            )
        }
        other => crate::PaymentsError::Stripe(other.to_string()),
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => url[..after_scheme + i].to_owned(),
        None => url.to_owned(),
    }
}

/// GETs `path` (under `/v1`, e.g. `/checkout/sessions`) with a raw query
/// string on connected account `account`, as JSON: reconciliation reads
/// the same fields webhooks route on, through one code path.
pub(crate) async fn get_json(
    stripe: &Stripe,
    account: &str,
    path: &str,
    query: &str,
) -> Result<serde_json::Value, crate::PaymentsError> {
    let mut req =
        stripe_client_core::RequestBuilder::new(stripe_client_core::StripeMethod::Get, path);
    if !query.is_empty() {
        req.query = Some(query.to_owned());
    }
    let v: miniserde::json::Value = req
        .customize()
        .account_id(account.into())
        .send(&stripe.client)
        .await
        .map_err(stripe_err)?;
    serde_json::from_str(&miniserde::json::to_string(&v))
        .map_err(|e| crate::PaymentsError::Stripe(format!("response is not JSON: {e}")))
}

/// Every item of a Stripe list at `path` (newest first), following
/// `has_more` up to `max` items.
pub(crate) async fn list_all(
    stripe: &Stripe,
    account: &str,
    path: &str,
    query: &str,
    max: usize,
) -> Result<Vec<serde_json::Value>, crate::PaymentsError> {
    let mut out: Vec<serde_json::Value> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut q = format!(
            "limit=100{}{query}",
            if query.is_empty() { "" } else { "&" }
        );
        if let Some(a) = &after {
            q.push_str("&starting_after=");
            q.push_str(a);
        }
        let page = get_json(stripe, account, path, &q).await?;
        let items = page["data"].as_array().cloned().unwrap_or_default();
        after = items
            .last()
            .and_then(|i| i["id"].as_str())
            .map(str::to_owned);
        out.extend(items);
        if page["has_more"] != true || after.is_none() || out.len() >= max {
            break;
        }
    }
    out.truncate(max);
    Ok(out)
}
