//! Workspace pages for admins at `/app/staff` (users and roles: staff with
//! role and sign-in state, invitations, role changes, removal, the
//! "second factor required" setting) and `/app/api-keys` (list, create
//! with the key shown once, revoke). Every form posts to a route of its
//! own in the route table and calls the same code as the JSON API
//! (`resources::staff`, `resources::api_keys`,
//! `second_factor::set_staff_policy`), so checks such as "an association
//! keeps at least one admin" answer the same; their messages are shown in
//! the page.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::resources::parse_id;
use crate::resources::{api_keys, staff as staff_api};
use crate::session::CurrentSession;
use crate::signin::Ctx;
use crate::state::AppState;
use crate::web;
use crate::workspace::{chrome, csrf_input, form_value};
use aqueduct_core::{ApiKeyId, InvitationId, UserId};
use aqueduct_tenant::entity::{sso_identity, sso_provider, user, user_totp};
use aqueduct_tenant::{Access, Role, scoped, staff};
use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/app/staff", Role::Admin, get(staff_page))
        .tenant(
            Method::POST,
            "/app/staff/invitations",
            Role::Admin,
            post(invite),
        )
        .tenant(
            Method::POST,
            "/app/staff/invitations/{invitation_id}/revoke",
            Role::Admin,
            post(revoke_invitation),
        )
        .tenant(
            Method::POST,
            "/app/staff/{user_id}/role",
            Role::Admin,
            post(change_role),
        )
        .tenant(
            Method::POST,
            "/app/staff/{user_id}/remove",
            Role::Admin,
            post(remove),
        )
        .tenant(
            Method::POST,
            "/app/staff/second-factor",
            Role::Admin,
            post(second_factor_policy),
        )
        .tenant(Method::GET, "/app/api-keys", Role::Admin, get(keys_page))
        .tenant(Method::POST, "/app/api-keys", Role::Admin, post(create_key))
        .tenant(
            Method::POST,
            "/app/api-keys/{api_key_id}/revoke",
            Role::Admin,
            post(revoke_key),
        )
}

/// The roles, lowest first, as the forms offer them.
const ROLES: [Role; 3] = [Role::Viewer, Role::Clerk, Role::Admin];

/// A message the page can show for a refused change (invalid input or a
/// conflict such as the last admin); anything else stays an error.
pub(crate) fn shown(e: ApiError) -> Result<String, ApiError> {
    match e {
        ApiError::Invalid(m) | ApiError::Conflict(m) => Ok(m),
        other => Err(other),
    }
}

/// `<option>`s for a role `<select>`: (value, selected).
fn role_options(current: Role) -> Vec<(&'static str, bool)> {
    ROLES.iter().map(|r| (r.as_str(), *r == current)).collect()
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

struct MemberRow {
    id: String,
    name: String,
    email: String,
    role: String,
    roles: Vec<(&'static str, bool)>,
    status: &'static str,
    sign_in: String,
    since: String,
}

struct InvitationRow {
    id: String,
    email: String,
    role: String,
    sent: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "app_staff.html")]
struct StaffPage {
    page: web::Chrome,
    csrf: String,
    message: Option<String>,
    error: Option<String>,
    members: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    invite_roles: Vec<(&'static str, bool)>,
    invite_email: String,
    totp_required: bool,
    sso: Option<String>,
}

/// How a person signs in, for the staff table: (disabled, password set,
/// single sign-on linked, second factor on). People are platform rows,
/// read like the sign-in code reads them.
async fn sign_in_states(
    state: &AppState,
    ids: &[uuid::Uuid],
) -> Result<std::collections::HashMap<uuid::Uuid, (bool, bool, bool, bool)>, ApiError> {
    let conn = state.db().maintenance();
    let people = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.to_vec()))
        .all(conn)
        .await?;
    let linked: Vec<uuid::Uuid> = sso_identity::Entity::find()
        .filter(sso_identity::Column::UserId.is_in(ids.to_vec()))
        .all(conn)
        .await?
        .into_iter()
        .map(|l| l.user_id)
        .collect();
    let totp: Vec<uuid::Uuid> = user_totp::Entity::find()
        .filter(user_totp::Column::UserId.is_in(ids.to_vec()))
        .filter(user_totp::Column::ConfirmedAt.is_not_null())
        .all(conn)
        .await?
        .into_iter()
        .map(|t| t.user_id)
        .collect();
    Ok(people
        .into_iter()
        .map(|p| {
            (
                p.id,
                (
                    p.disabled_at.is_some(),
                    p.password_hash.is_some(),
                    linked.contains(&p.id),
                    totp.contains(&p.id),
                ),
            )
        })
        .collect())
}

async fn render_staff(
    state: &AppState,
    caller: &Caller,
    s: Option<&Extension<CurrentSession>>,
    message: Option<String>,
    error: Option<String>,
    invite_email: String,
) -> Result<Response, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let members = staff::list(&tx).await?;
    let pending = staff::pending(&tx, state.clock()).await?;
    let provider = scoped::<sso_provider::Entity>(&tx).one(tx.conn()).await?;
    tx.commit().await?;
    let ids: Vec<uuid::Uuid> = members.iter().map(|m| m.user.uuid()).collect();
    let states = sign_in_states(state, &ids).await?;
    let members = members
        .into_iter()
        .map(|m| {
            let (disabled, password, sso, totp) = states
                .get(&m.user.uuid())
                .copied()
                .unwrap_or((false, false, false, false));
            let mut ways = Vec::new();
            if password {
                ways.push("password");
            }
            if sso {
                ways.push("single sign-on");
            }
            if ways.is_empty() {
                ways.push("no sign-in yet");
            }
            let sign_in = format!(
                "{}; second factor {}",
                ways.join(", "),
                if totp { "on" } else { "off" }
            );
            MemberRow {
                id: m.user.to_string(),
                name: m.display_name,
                email: m.email,
                role: m.role.to_string(),
                roles: role_options(m.role),
                status: if disabled { "disabled" } else { "active" },
                sign_in,
                since: m.since.format("%Y-%m-%d").to_string(),
            }
        })
        .collect();
    Ok(web::render(&StaffPage {
        page: chrome(caller, s, "Users and roles", "settings"),
        csrf: csrf_input(s),
        message,
        error,
        members,
        invitations: pending
            .into_iter()
            .map(|i| InvitationRow {
                id: i.id.to_string(),
                email: i.email,
                role: i.role.to_string(),
                sent: i.created_at.format("%Y-%m-%d").to_string(),
                expires: i.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            })
            .collect(),
        invite_roles: role_options(Role::Clerk),
        invite_email,
        totp_required: caller.tenant.staff_totp_required(),
        sso: provider.map(|p| format!("{} ({})", p.label, p.issuer)),
    }))
}

async fn staff_page(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Query(q): Query<Done>,
) -> Result<Response, ApiError> {
    let message = match q.done.as_deref() {
        Some("invited") => Some("Invitation sent. It is valid for 7 days.".to_owned()),
        Some("revoked") => Some("Invitation withdrawn.".to_owned()),
        Some("role") => Some("Role changed.".to_owned()),
        Some("removed") => {
            Some("Removed from the staff; their sessions here were ended.".to_owned())
        }
        Some("second_factor") => Some("Saved the second-factor setting.".to_owned()),
        _ => None,
    };
    render_staff(&state, &caller, s.as_ref(), message, None, String::new()).await
}

/// Runs a staff change: on success redirect to the page with `done`, on a
/// refused change show the page with the reason.
async fn after(
    state: &AppState,
    caller: &Caller,
    s: Option<&Extension<CurrentSession>>,
    result: Result<(), ApiError>,
    done: &str,
    typed_email: String,
) -> Result<Response, ApiError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/app/staff?done={done}")).into_response()),
        Err(e) => {
            let msg = shown(e)?;
            render_staff(state, caller, s, None, Some(msg), typed_email).await
        }
    }
}

fn form_role(body: &str) -> Option<Role> {
    form_value(body, "role").and_then(|r| r.trim().parse().ok())
}

async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    s: Option<Extension<CurrentSession>>,
    body: String,
) -> Result<Response, ApiError> {
    let email = form_value(&body, "email").unwrap_or_default();
    let result = match form_role(&body) {
        None => Err(ApiError::Invalid("Choose a role.".into())),
        Some(_) if email.trim().is_empty() => Err(ApiError::Invalid(
            "Give the email address to invite.".into(),
        )),
        Some(role) => staff_api::invite_flow(&state, &caller, &ctx, email.trim(), role)
            .await
            .map(|_| ()),
    };
    after(&state, &caller, s.as_ref(), result, "invited", email).await
}

async fn revoke_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    s: Option<Extension<CurrentSession>>,
    Path(invitation_id): Path<String>,
) -> Result<Response, ApiError> {
    let id: InvitationId = parse_id(&invitation_id)?;
    let result = staff_api::revoke_flow(&state, &caller, &ctx, id).await;
    after(
        &state,
        &caller,
        s.as_ref(),
        result,
        "revoked",
        String::new(),
    )
    .await
}

async fn change_role(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    s: Option<Extension<CurrentSession>>,
    Path(user_id): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let user: UserId = parse_id(&user_id)?;
    let result = staff_api::change_role_flow(&state, &caller, &ctx, user, form_role(&body))
        .await
        .map(|_| ());
    after(&state, &caller, s.as_ref(), result, "role", String::new()).await
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    s: Option<Extension<CurrentSession>>,
    Path(user_id): Path<String>,
) -> Result<Response, ApiError> {
    let user: UserId = parse_id(&user_id)?;
    let result = staff_api::remove_flow(&state, &caller, &ctx, user).await;
    after(
        &state,
        &caller,
        s.as_ref(),
        result,
        "removed",
        String::new(),
    )
    .await
}

/// The checkbox `required` (absent when unticked).
async fn second_factor_policy(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    s: Option<Extension<CurrentSession>>,
    body: String,
) -> Result<Response, ApiError> {
    let required = form_value(&body, "required").is_some_and(|v| v == "on" || v == "true");
    let result = crate::second_factor::set_staff_policy(&state, &caller, &ctx, required).await;
    after(
        &state,
        &caller,
        s.as_ref(),
        result,
        "second_factor",
        String::new(),
    )
    .await
}

struct KeyRow {
    id: String,
    name: String,
    role: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "app_api_keys.html")]
struct KeysPage {
    page: web::Chrome,
    csrf: String,
    message: Option<String>,
    error: Option<String>,
    keys: Vec<KeyRow>,
    roles: Vec<(&'static str, bool)>,
    name: String,
    /// Set only on the answer to a creation: the key, shown this once.
    created: Option<(String, String)>,
}

async fn render_keys(
    state: &AppState,
    caller: &Caller,
    s: Option<&Extension<CurrentSession>>,
    message: Option<String>,
    error: Option<String>,
    name: String,
    created: Option<(String, String)>,
) -> Result<Response, ApiError> {
    let keys = api_keys::all(state, caller).await?;
    let mut res = web::render(&KeysPage {
        page: chrome(caller, s, "API keys", "settings"),
        csrf: csrf_input(s),
        message,
        error,
        keys: keys
            .into_iter()
            .map(|k| KeyRow {
                id: k.id,
                name: k.name,
                role: k.role,
                created: k.created_at.format("%Y-%m-%d").to_string(),
                last_used: k.last_used_at.map_or_else(
                    || "never".to_owned(),
                    |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
                ),
                revoked: k.revoked_at.map(|t| t.format("%Y-%m-%d").to_string()),
            })
            .collect(),
        roles: role_options(Role::Viewer),
        name,
        created,
    });
    // The answer that carries a key must not be kept by any cache.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

async fn keys_page(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
    Query(q): Query<Done>,
) -> Result<Response, ApiError> {
    let message = (q.done.as_deref() == Some("revoked"))
        .then(|| "Key revoked: requests with it are refused from now on.".to_owned());
    render_keys(
        &state,
        &caller,
        s.as_ref(),
        message,
        None,
        String::new(),
        None,
    )
    .await
}

/// Creates a key and answers the page with the key in it, once; it is
/// not stored anywhere it could be shown again.
async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    s: Option<Extension<CurrentSession>>,
    body: String,
) -> Result<Response, ApiError> {
    let name = form_value(&body, "name").unwrap_or_default();
    let Some(role) = form_role(&body) else {
        let msg = Some("Choose a role for the key.".to_owned());
        return render_keys(&state, &caller, s.as_ref(), None, msg, name, None).await;
    };
    match api_keys::create_key(&state, &caller, &ctx, &name, role).await {
        Ok((_, key)) => {
            let created = Some((name.trim().to_owned(), key.expose().to_owned()));
            render_keys(
                &state,
                &caller,
                s.as_ref(),
                None,
                None,
                String::new(),
                created,
            )
            .await
        }
        Err(e) => {
            let msg = shown(e)?;
            render_keys(&state, &caller, s.as_ref(), None, Some(msg), name, None).await
        }
    }
}

async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    Path(api_key_id): Path<String>,
) -> Result<Response, ApiError> {
    let id: ApiKeyId = parse_id(&api_key_id)?;
    api_keys::revoke_key(&state, &caller, &ctx, id).await?;
    Ok(Redirect::to("/app/api-keys?done=revoked").into_response())
}
