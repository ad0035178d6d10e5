//! Single sign-on for staff and operators through OpenID Connect: the
//! platform's provider (`[auth.oidc]`) and each association's own
//! (`sso_providers`). Authorization code flow with PKCE (S256), `state`
//! and `nonce`; the ID token's signature, `iss`, `aud` and `exp` are
//! checked against the provider's discovery document and our clock; the
//! redirect URI is exactly `<public_url>/auth/sso/callback`.
//!
//! What the callback needs (state hash, nonce, PKCE verifier, where to go
//! next) is kept server-side ([`aqueduct_tenant::sso`]) and bound to the
//! browser that started it by a short-lived cookie; it is used at most
//! once. A first SSO sign-in links the provider's subject to an existing
//! person (or accepts their open invitation) by a *verified* email only.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::pages::{escape, layout};
use crate::registry::Routes;
use crate::session;
use crate::signin::{self, Ctx};
use crate::state::AppState;
use aqueduct_core::{Secret, TenantId};
use aqueduct_tenant::audit::{self, Outcome};
use aqueduct_tenant::credentials::{self, Person};
use aqueduct_tenant::sso::{self, Pending, ProviderSettings};
use aqueduct_tenant::{Role, TenantCtx, directory, staff};
use axum::body::Bytes;
use axum::extract::{Form, Json, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post, put};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use std::time::Duration;

/// Path of the callback (the exact redirect URI registered at providers).
pub const CALLBACK_PATH: &str = "/auth/sso/callback";
/// Binding cookie in production.
const BIND_COOKIE: &str = "__Host-aqueduct-sso";
/// Binding cookie for plain-HTTP development.
const DEV_BIND_COOKIE: &str = "aqueduct-sso-dev";
/// `provider` value naming the platform's own provider.
pub const PLATFORM: &str = "platform";

pub(crate) fn routes(r: Routes) -> Routes {
    r.public(Method::POST, "/auth/sso/start", post(start))
        .public(Method::GET, CALLBACK_PATH, get(callback))
        .tenant(
            Method::GET,
            "/api/v1/association/sso",
            Role::Admin,
            get(show_provider),
        )
        .tenant(
            Method::PUT,
            "/api/v1/association/sso",
            Role::Admin,
            put(set_provider),
        )
        .tenant(
            Method::DELETE,
            "/api/v1/association/sso",
            Role::Admin,
            delete(remove_provider),
        )
}

// ------------------------------------------------- association's provider

/// An association's provider as admins see it (never the secret).
#[derive(Debug, Serialize)]
struct ProviderView {
    issuer: String,
    client_id: String,
    label: String,
    /// Register exactly this at the provider.
    redirect_uri: String,
    /// What to send as `provider` to `POST /auth/sso/start`.
    provider: String,
}

fn provider_view(state: &AppState, caller: &Caller, p: &ProviderSettings) -> ProviderView {
    ProviderView {
        issuer: p.issuer.clone(),
        client_id: p.client_id.clone(),
        label: p.label.clone(),
        redirect_uri: redirect_uri(state),
        provider: caller.tenant.slug().to_string(),
    }
}

/// The provider, or `{configured: false, redirect_uri, provider}` when the
/// association has none yet.
async fn show_provider(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    let p = sso::provider(&tx).await?;
    tx.commit().await?;
    let v = match p {
        Some(p) => {
            let mut v = serde_json::to_value(provider_view(&state, &caller, &p))
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            v["configured"] = true.into();
            v
        }
        None => serde_json::json!({
            "configured": false,
            "redirect_uri": redirect_uri(&state),
            "provider": caller.tenant.slug().to_string(),
        }),
    };
    Ok(Json(v))
}

/// `PUT /api/v1/association/sso` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderBody {
    issuer: String,
    client_id: String,
    client_secret: Secret,
    label: Option<String>,
}

/// `https://…`, or `http://` on a loopback host (local development).
fn valid_issuer(issuer: &str) -> bool {
    let Ok(u) = url::Url::parse(issuer) else {
        return false;
    };
    let loopback = matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    u.query().is_none()
        && u.fragment().is_none()
        && u.username().is_empty()
        && (u.scheme() == "https" || (u.scheme() == "http" && loopback))
}

async fn set_provider(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    Json(body): Json<ProviderBody>,
) -> Result<Json<ProviderView>, ApiError> {
    let issuer = body.issuer.trim().to_owned();
    if !valid_issuer(&issuer) || issuer.len() > 500 {
        return Err(ApiError::Invalid(
            "issuer must be an https URL without query or fragment".into(),
        ));
    }
    let client_id = body.client_id.trim().to_owned();
    if client_id.is_empty() || client_id.len() > 255 || body.client_secret.expose().is_empty() {
        return Err(ApiError::Invalid(
            "client_id and client_secret are required".into(),
        ));
    }
    let label = body
        .label
        .map(|l| l.trim().chars().take(100).collect::<String>())
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "Sign in with single sign-on".into());
    let p = ProviderSettings {
        issuer,
        client_id,
        client_secret: body.client_secret,
        label,
    };
    let tx = state.db().tenant(&caller.tenant).await?;
    sso::set_provider(&tx, state.clock(), &p).await?;
    let mut e = ctx.entry(
        caller.actor.clone(),
        "association.sso_provider",
        Outcome::Success,
    );
    e.tenant = Some(caller.tenant.id());
    e.details = Some(serde_json::json!({ "issuer": p.issuer, "client_id": p.client_id }));
    audit::record_in(&tx, state.clock(), e).await?;
    tx.commit().await?;
    Ok(Json(provider_view(&state, &caller, &p)))
}

async fn remove_provider(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
) -> Result<StatusCode, ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    if !sso::remove_provider(&tx).await? {
        return Err(ApiError::NotFound);
    }
    let mut e = ctx.entry(
        caller.actor.clone(),
        "association.sso_provider_removed",
        Outcome::Success,
    );
    e.tenant = Some(caller.tenant.id());
    audit::record_in(&tx, state.clock(), e).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- HTTP client

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// Why talking to the provider failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

fn client() -> Result<&'static Client<Https, Full<Bytes>>, HttpError> {
    static CLIENT: OnceLock<Result<Client<Https, Full<Bytes>>, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let https = hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
                .map_err(|e| e.to_string())?
                .https_or_http()
                .enable_http1()
                .build();
            Ok(Client::builder(hyper_util::rt::TokioExecutor::new()).build(https))
        })
        .as_ref()
        .map_err(|e| HttpError(e.clone()))
}

/// One request to the provider (no redirects followed, 10 s limit, 1 MiB
/// answer at most).
async fn http_call(
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = req.into_parts();
    let req = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
    let res = tokio::time::timeout(Duration::from_secs(10), client()?.request(req))
        .await
        .map_err(|_| HttpError("provider timed out".into()))?
        .map_err(|e| HttpError(format!("provider unreachable: {e}")))?;
    let (parts, body) = res.into_parts();
    let limited = http_body_util::Limited::new(body, 1024 * 1024);
    let bytes = limited
        .collect()
        .await
        .map_err(|e| HttpError(format!("provider answer: {e}")))?
        .to_bytes();
    Ok(http::Response::from_parts(parts, bytes.to_vec()))
}

// -------------------------------------------------------------------- flow

/// Why a single sign-on was refused (audited; never shown in detail).
#[derive(Debug)]
enum Refusal {
    /// Unknown, used, expired or other-browser `state`.
    State,
    /// The provider answered with an error, or no code.
    Provider(String),
    /// Token exchange or ID token check failed (signature, iss, aud, exp, nonce).
    Token(String),
    /// The email is missing or not verified by the provider.
    EmailNotVerified,
    /// No person (or invitation) matches.
    NoInvitedUser,
    /// The person is disabled.
    Disabled,
}

impl Refusal {
    fn reason(&self) -> String {
        match self {
            Refusal::State => "state".into(),
            Refusal::Provider(e) => format!("provider: {e}"),
            Refusal::Token(e) => format!("token: {e}"),
            Refusal::EmailNotVerified => "email_not_verified".into(),
            Refusal::NoInvitedUser => "no_invited_user".into(),
            Refusal::Disabled => "disabled".into(),
        }
    }
}

fn redirect_uri(state: &AppState) -> String {
    format!(
        "{}{CALLBACK_PATH}",
        state.settings().public_url.trim_end_matches('/')
    )
}

/// The provider named by `provider` (`platform` or an association slug)
/// and, for an association, its id. `None` when there is no such provider.
async fn resolve(
    state: &AppState,
    provider: &str,
) -> Result<Option<(ProviderSettings, Option<TenantCtx>)>, ApiError> {
    if provider == PLATFORM {
        return Ok(state.sso().cloned().map(|p| (p, None)));
    }
    let Some(ctx) = directory::by_slug(state.db(), provider).await? else {
        return Ok(None);
    };
    if !ctx.status().allows_use() {
        return Err(ApiError::TenantUnavailable);
    }
    let tx = state.db().tenant(&ctx).await?;
    let p = sso::provider(&tx).await?;
    tx.commit().await?;
    Ok(p.map(|p| (p, Some(ctx))))
}

/// How long a provider's discovery document and keys (JWKS) are reused
/// before they are fetched again.
pub(crate) const DISCOVERY_TTL: std::time::Duration = std::time::Duration::from_secs(600);

type DiscoveryCache =
    std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, CoreProviderMetadata)>>;

/// Discovery documents with their JWKS, per issuer (process-wide: the
/// same provider serves every association that uses it).
fn discovery_cache() -> &'static DiscoveryCache {
    static CACHE: OnceLock<DiscoveryCache> = OnceLock::new();
    CACHE.get_or_init(DiscoveryCache::default)
}

/// Metadata and keys of `p`'s issuer: from the cache when fetched less
/// than [`DISCOVERY_TTL`] ago, otherwise fetched (a failed fetch is not
/// cached). A sign-in whose ID token does not verify drops the entry
/// ([`forget_discovery`]), so a provider's key rotation costs one refused
/// attempt at most.
async fn discover(p: &ProviderSettings) -> Result<CoreProviderMetadata, String> {
    if let Ok(cache) = discovery_cache().lock()
        && let Some((at, m)) = cache.get(&p.issuer)
        && at.elapsed() < DISCOVERY_TTL
    {
        return Ok(m.clone());
    }
    let issuer = IssuerUrl::new(p.issuer.clone()).map_err(|e| e.to_string())?;
    let m = CoreProviderMetadata::discover_async(issuer, &http_call)
        .await
        .map_err(|e| format!("discovery: {e}"))?;
    if let Ok(mut cache) = discovery_cache().lock() {
        cache.retain(|_, (at, _)| at.elapsed() < DISCOVERY_TTL);
        cache.insert(p.issuer.clone(), (std::time::Instant::now(), m.clone()));
    }
    Ok(m)
}

/// Drops `issuer`'s cached discovery document and keys.
fn forget_discovery(issuer: &str) {
    if let Ok(mut cache) = discovery_cache().lock() {
        cache.remove(issuer);
    }
}

/// Only our own paths (never `//host` or a scheme).
fn safe_return_to(to: Option<&str>) -> String {
    match to {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control) =>
        {
            p.chars().take(500).collect()
        }
        _ => "/app/account".into(),
    }
}

fn bind_cookie_name(state: &AppState) -> &'static str {
    if state.auth().dev_insecure_cookie {
        DEV_BIND_COOKIE
    } else {
        BIND_COOKIE
    }
}

fn bind_cookie(state: &AppState, value: Option<&str>) -> HeaderValue {
    let secure = if state.auth().dev_insecure_cookie {
        ""
    } else {
        "; Secure"
    };
    let v = match value {
        Some(v) => format!(
            "{}={v}; Path=/; Max-Age=600; HttpOnly; SameSite=Lax{secure}",
            bind_cookie_name(state)
        ),
        None => format!(
            "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}",
            bind_cookie_name(state)
        ),
    };
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn read_bind_cookie(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let name = bind_cookie_name(state);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn random_token() -> Result<Secret, ApiError> {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ApiError::Internal("no randomness".into()))?;
    Ok(Secret::new(
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    ))
}

/// `POST /auth/sso/start` form.
#[derive(Debug, Deserialize)]
struct StartForm {
    /// `platform` or an association's slug.
    provider: String,
    return_to: Option<String>,
    #[serde(default, rename = "csrf_token")]
    _csrf: Option<String>,
}

async fn start(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<StartForm>,
) -> Result<Response, ApiError> {
    let Some((p, tenant)) = resolve(&state, f.provider.trim()).await? else {
        return Err(ApiError::NotFound);
    };
    let metadata = discover(&p).await.map_err(|e| {
        tracing::warn!(issuer = %p.issuer, error = %e, "single sign-on provider unavailable");
        ApiError::Unavailable("the sign-in provider does not answer".into())
    })?;
    let redirect = RedirectUrl::new(redirect_uri(&state))
        .map_err(|e| ApiError::Internal(format!("redirect URI: {e}")))?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(p.client_id.clone()),
        Some(ClientSecret::new(p.client_secret.expose().to_owned())),
    )
    .set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = random_token()?;
    sso::start(
        state.db(),
        state.clock(),
        &Secret::new(csrf.secret().clone()),
        &browser,
        &Pending {
            tenant: tenant.as_ref().map(TenantCtx::id),
            nonce: nonce.secret().clone(),
            pkce_verifier: Secret::new(verifier.secret().clone()),
            return_to: safe_return_to(f.return_to.as_deref()),
        },
    )
    .await?;
    let mut e = ctx.entry("anonymous".into(), "auth.sso_start", Outcome::Success);
    e.tenant = tenant.as_ref().map(TenantCtx::id);
    e.details = Some(serde_json::json!({ "issuer": p.issuer }));
    audit::record_now(state.db(), state.clock(), e).await?;
    let mut res = Redirect::to(url.as_str()).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        bind_cookie(&state, Some(browser.expose())),
    );
    Ok(res)
}

/// The provider's redirect back to us.
#[derive(Debug, Deserialize)]
struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let browser = read_bind_cookie(&state, &headers);
    let pending = match &q.state {
        Some(s) => sso::take(state.db(), state.clock(), s, browser.as_deref()).await?,
        None => None,
    };
    let Some(pending) = pending else {
        return refuse(&state, &ctx, None, &Refusal::State).await;
    };
    match finish(&state, &ctx, &q, &pending).await {
        Ok(res) => Ok(res),
        Err(Flow::Refused(r)) => refuse(&state, &ctx, pending.tenant, &r).await,
        Err(Flow::Api(e)) => Err(e),
    }
}

enum Flow {
    Refused(Refusal),
    Api(ApiError),
}

impl From<ApiError> for Flow {
    fn from(e: ApiError) -> Self {
        Flow::Api(e)
    }
}

impl From<sea_orm::DbErr> for Flow {
    fn from(e: sea_orm::DbErr) -> Self {
        Flow::Api(e.into())
    }
}

async fn finish(
    state: &AppState,
    ctx: &Ctx,
    q: &CallbackQuery,
    pending: &Pending,
) -> Result<Response, Flow> {
    if let Some(err) = &q.error {
        return Err(Flow::Refused(Refusal::Provider(
            err.chars().take(64).collect(),
        )));
    }
    let Some(code) = &q.code else {
        return Err(Flow::Refused(Refusal::Provider("no code".into())));
    };
    let (p, tenant) = match pending.tenant {
        None => (
            state
                .sso()
                .cloned()
                .ok_or(Flow::Refused(Refusal::Provider("not configured".into())))?,
            None,
        ),
        Some(t) => {
            let ctx_t = directory::by_id(state.db(), t)
                .await?
                .ok_or(Flow::Api(ApiError::NotFound))?;
            if !ctx_t.status().allows_use() {
                return Err(Flow::Api(ApiError::TenantUnavailable));
            }
            let tx = state.db().tenant(&ctx_t).await?;
            let p = sso::provider(&tx).await?;
            tx.commit().await?;
            (
                p.ok_or(Flow::Refused(Refusal::Provider("not configured".into())))?,
                Some(ctx_t),
            )
        }
    };
    let metadata = discover(&p)
        .await
        .map_err(|e| Flow::Refused(Refusal::Provider(e)))?;
    let redirect = RedirectUrl::new(redirect_uri(state))
        .map_err(|e| Flow::Api(ApiError::Internal(format!("redirect URI: {e}"))))?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(p.client_id.clone()),
        Some(ClientSecret::new(p.client_secret.expose().to_owned())),
    )
    .set_redirect_uri(redirect);
    let token = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .map_err(|e| Flow::Refused(Refusal::Token(e.to_string())))?
        .set_pkce_verifier(PkceCodeVerifier::new(
            pending.pkce_verifier.expose().to_owned(),
        ))
        .request_async(&http_call)
        .await
        .map_err(|e| Flow::Refused(Refusal::Token(format!("exchange: {e}"))))?;
    let id_token = token
        .id_token()
        .ok_or(Flow::Refused(Refusal::Token("no ID token".into())))?;
    let now = state.clock().now();
    let verifier = client.id_token_verifier().set_time_fn(move || now);
    let claims = id_token
        .claims(&verifier, &Nonce::new(pending.nonce.clone()))
        .map_err(|e| {
            // Perhaps the provider rotated its keys: fetch them next time.
            forget_discovery(&p.issuer);
            Flow::Refused(Refusal::Token(e.to_string()))
        })?;
    let subject = claims.subject().as_str().to_owned();
    let email = claims.email().map(|e| e.as_str().to_owned());
    let verified = claims.email_verified() == Some(true);
    let person = match sso::linked_user(state.db(), &p.issuer, &subject).await? {
        Some(user) => credentials::by_id(state.db(), user)
            .await?
            .ok_or(Flow::Refused(Refusal::NoInvitedUser))?,
        None => {
            let (Some(email), true) = (email, verified) else {
                return Err(Flow::Refused(Refusal::EmailNotVerified));
            };
            let person = first_link(state, tenant.as_ref(), &email).await?;
            sso::link(state.db(), state.clock(), &p.issuer, &subject, person.id).await?;
            let mut e = ctx.entry(
                format!("user:{}", person.id),
                "auth.sso_link",
                Outcome::Success,
            );
            e.tenant = tenant.as_ref().map(TenantCtx::id);
            e.details = Some(serde_json::json!({ "issuer": p.issuer }));
            audit::record_now(state.db(), state.clock(), e).await?;
            person
        }
    };
    if person.disabled {
        return Err(Flow::Refused(Refusal::Disabled));
    }
    if let Some(t) = &tenant {
        let member = credentials::memberships(state.db(), person.id)
            .await?
            .iter()
            .any(|(c, _)| c.id() == t.id());
        if !member {
            return Err(Flow::Refused(Refusal::NoInvitedUser));
        }
    }
    let (token, s) =
        signin::start_session(state, ctx, &person, tenant.as_ref().map(TenantCtx::id)).await?;
    let mut e = ctx.entry(
        format!("user:{}", person.id),
        "auth.sign_in",
        Outcome::Success,
    );
    e.tenant = s.active_tenant;
    e.details = Some(serde_json::json!({ "method": "sso", "issuer": p.issuer }));
    audit::record_now(state.db(), state.clock(), e).await?;
    let to = if s.second_factor_pending {
        "/login/second-factor"
    } else {
        pending.return_to.as_str()
    };
    let mut res = Redirect::to(to).into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, session::set_cookie(state, &token));
    res.headers_mut()
        .append(header::SET_COOKIE, bind_cookie(state, None));
    Ok(res)
}

/// The person a first SSO sign-in with a verified `email` links to: for an
/// association's provider, a member of it (or the holder of its open
/// invitation, which is accepted now); for the platform's, anyone known.
async fn first_link(
    state: &AppState,
    tenant: Option<&TenantCtx>,
    email: &str,
) -> Result<Person, Flow> {
    let known = credentials::by_email(state.db(), email).await?;
    match (tenant, known) {
        (None, Some(p)) => Ok(p),
        (None, None) => Err(Flow::Refused(Refusal::NoInvitedUser)),
        (Some(t), known) => {
            if let Some(p) = &known {
                let member = credentials::memberships(state.db(), p.id)
                    .await?
                    .iter()
                    .any(|(c, _)| c.id() == t.id());
                if member {
                    return Ok(p.clone());
                }
            }
            let tx = state.db().tenant(t).await?;
            let accepted = staff::accept_for_email(&tx, state.clock(), email, "")
                .await
                .map_err(|e| Flow::Api(e.into()))?;
            tx.commit().await?;
            let Some(a) = accepted else {
                return Err(Flow::Refused(Refusal::NoInvitedUser));
            };
            credentials::by_id(state.db(), a.user)
                .await?
                .ok_or(Flow::Refused(Refusal::NoInvitedUser))
        }
    }
}

async fn refuse(
    state: &AppState,
    ctx: &Ctx,
    tenant: Option<TenantId>,
    why: &Refusal,
) -> Result<Response, ApiError> {
    tracing::warn!(reason = %why.reason(), "single sign-on refused");
    let mut e = ctx.entry("anonymous".into(), "auth.sign_in", Outcome::Failure);
    e.tenant = tenant;
    e.details = Some(serde_json::json!({ "method": "sso", "reason": why.reason() }));
    audit::record_now(state.db(), state.clock(), e).await?;
    let mut res = (
        StatusCode::UNAUTHORIZED,
        Html(layout(
            "Single sign-on failed",
            &format!(
                "<h1>Single sign-on failed</h1><p class=\"error\" role=\"alert\">{}</p>\
                 <p><a href=\"/login\">Back to sign-in</a></p>",
                escape("We could not sign you in with that provider. Start again from the sign-in page.")
            ),
        )),
    )
        .into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, bind_cookie(state, None));
    Ok(res)
}

/// The SSO part of the sign-in page: a button for the platform's provider
/// (when configured) and a form naming an association's.
pub(crate) fn login_buttons(state: &AppState, csrf_input: &str) -> String {
    let platform = state.sso().map_or_else(String::new, |p| {
        format!(
            "<form method=\"post\" action=\"/auth/sso/start\" class=\"card\">{csrf_input}\
             <input type=\"hidden\" name=\"provider\" value=\"{PLATFORM}\">\
             <button type=\"submit\">{}</button></form>",
            escape(&p.label)
        )
    });
    format!(
        "{platform}<form method=\"post\" action=\"/auth/sso/start\" class=\"card\">{csrf_input}\
         <label>Association (its single sign-on) <input name=\"provider\" required \
         pattern=\"[a-z0-9-]+\" maxlength=\"63\"></label>\
         <button type=\"submit\">Continue with single sign-on</button></form>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_stays_on_our_site() {
        assert_eq!(safe_return_to(Some("/app/bills?x=1")), "/app/bills?x=1");
        for bad in ["//evil.example", "https://evil.example/", "/\\evil", "app"] {
            assert_eq!(safe_return_to(Some(bad)), "/app/account", "{bad}");
        }
        assert_eq!(safe_return_to(None), "/app/account");
    }

    #[test]
    fn issuers_are_https_or_local() {
        assert!(valid_issuer("https://accounts.google.com"));
        assert!(valid_issuer("http://127.0.0.1:9400"));
        for bad in [
            "http://idp.example.org",
            "https://idp.example.org/?x=1",
            "https://u@idp.example.org",
            "ftp://idp.example.org",
            "idp.example.org",
        ] {
            assert!(!valid_issuer(bad), "{bad}");
        }
    }
}
