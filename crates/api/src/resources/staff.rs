//! Staff management for admins: invitations by email (mailed single-use
//! link, 7 days), the staff list, role changes and removal. Accepting an
//! invitation is public (the token is the credential). Every action is
//! audited in the association's log.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::pages::{escape, layout};
use crate::registry::Routes;
use crate::resources::parse_id;
use crate::signin::Ctx;
use crate::state::AppState;
use aqueduct_core::{InvitationId, Secret, UserId};
use aqueduct_tenant::audit::{self, Outcome};
use aqueduct_tenant::mailer::Mail;
use aqueduct_tenant::staff::{self, Invitation, Member};
use aqueduct_tenant::{Role, credentials, directory, password, sessions};
use axum::extract::{Form, Json, Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/api/v1/staff", Role::Admin, get(list))
        .tenant(
            Method::GET,
            "/api/v1/staff/invitations",
            Role::Admin,
            get(list_invitations),
        )
        .tenant(
            Method::POST,
            "/api/v1/staff/invitations",
            Role::Admin,
            post(invite),
        )
        .tenant(
            Method::DELETE,
            "/api/v1/staff/invitations/{invitation_id}",
            Role::Admin,
            delete(revoke),
        )
        .tenant(
            Method::PUT,
            "/api/v1/staff/{user_id}/role",
            Role::Admin,
            put(change_role),
        )
        .tenant(
            Method::DELETE,
            "/api/v1/staff/{user_id}",
            Role::Admin,
            delete(remove),
        )
        .public(
            Method::POST,
            "/api/v1/invitations/accept",
            post(accept_json),
        )
        .public(Method::GET, "/invite", get(accept_page))
        .public(Method::POST, "/invite", post(accept_form))
}

#[derive(Debug, Serialize)]
struct MemberDto {
    user_id: UserId,
    email: String,
    display_name: String,
    role: Role,
    since: DateTime<Utc>,
}

impl From<Member> for MemberDto {
    fn from(m: Member) -> Self {
        Self {
            user_id: m.user,
            email: m.email,
            display_name: m.display_name,
            role: m.role,
            since: m.since,
        }
    }
}

#[derive(Debug, Serialize)]
struct InvitationDto {
    id: InvitationId,
    email: String,
    role: Role,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl From<Invitation> for InvitationDto {
    fn from(i: Invitation) -> Self {
        Self {
            id: i.id,
            email: i.email,
            role: i.role,
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<MemberDto>>, ApiError> {
    let tx = state
        .db()
        .tenant_with(&caller.tenant, aqueduct_tenant::Access::Read)
        .await?;
    let members = staff::list(&tx).await?;
    tx.commit().await?;
    Ok(Json(members.into_iter().map(MemberDto::from).collect()))
}

async fn list_invitations(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<InvitationDto>>, ApiError> {
    let tx = state
        .db()
        .tenant_with(&caller.tenant, aqueduct_tenant::Access::Read)
        .await?;
    let pending = staff::pending(&tx, state.clock()).await?;
    tx.commit().await?;
    Ok(Json(pending.into_iter().map(InvitationDto::from).collect()))
}

/// `POST /api/v1/staff/invitations` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    email: String,
    role: Role,
}

async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    Json(body): Json<InviteBody>,
) -> Result<(StatusCode, Json<InvitationDto>), ApiError> {
    let inv = invite_flow(&state, &caller, &ctx, &body.email, body.role).await?;
    Ok((StatusCode::CREATED, Json(InvitationDto::from(inv))))
}

/// Invites `email` with `role` (audited) and mails the link. The JSON
/// route and the workspace page both call this.
pub(crate) async fn invite_flow(
    state: &AppState,
    caller: &Caller,
    ctx: &Ctx,
    email: &str,
    role: Role,
) -> Result<Invitation, ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    let (inv, token) = staff::invite(&tx, state.clock(), &caller.actor, email, role).await?;
    let mut e = ctx.entry(caller.actor.clone(), "staff.invite", Outcome::Success);
    e.target = Some(format!("invitation:{}", inv.id));
    e.details = Some(serde_json::json!({ "role": inv.role }));
    audit::record_in(&tx, state.clock(), e).await?;
    tx.commit().await?;
    let link = format!(
        "{}/invite?token={}",
        state.settings().public_url.trim_end_matches('/'),
        token.expose()
    );
    let mail = Mail {
        to: inv.email.clone(),
        subject: format!("You are invited to {} on Aqueduct", caller.tenant.name()),
        body: format!(
            "You are invited to join the staff of {} on Aqueduct as {}.\n\n\
             To accept, open this link within 7 days:\n{link}\n\n\
             If you did not expect this, ignore this message.\n",
            caller.tenant.name(),
            inv.role.as_str()
        ),
    };
    if let Err(e) = state.mailer().send(mail).await {
        tracing::warn!(error = %e, "invitation mail not sent");
    }
    Ok(inv)
}

async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    Path(invitation_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: InvitationId = parse_id(&invitation_id)?;
    revoke_flow(&state, &caller, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Withdraws a pending invitation (audited); 404 when there is none.
pub(crate) async fn revoke_flow(
    state: &AppState,
    caller: &Caller,
    ctx: &Ctx,
    id: InvitationId,
) -> Result<(), ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    if !staff::revoke(&tx, id).await? {
        return Err(ApiError::NotFound);
    }
    let mut e = ctx.entry(
        caller.actor.clone(),
        "staff.invitation_revoke",
        Outcome::Success,
    );
    e.target = Some(format!("invitation:{id}"));
    audit::record_in(&tx, state.clock(), e).await?;
    tx.commit().await?;
    Ok(())
}

/// `PUT /api/v1/staff/{user_id}/role` body. `role` is checked after the
/// member is found, so a probe with another association's id meets 404.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: Option<Role>,
}

async fn change_role(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    Path(user_id): Path<String>,
    Json(body): Json<RoleBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user: UserId = parse_id(&user_id)?;
    let role = change_role_flow(&state, &caller, &ctx, user, body.role).await?;
    Ok(Json(serde_json::json!({ "user_id": user, "role": role })))
}

/// Changes a member's role (audited): 404 for someone who is not a member
/// (checked before the role), 422 without a role, 409 for the last admin.
pub(crate) async fn change_role_flow(
    state: &AppState,
    caller: &Caller,
    ctx: &Ctx,
    user: UserId,
    role: Option<Role>,
) -> Result<Role, ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    if credentials::role_in(&tx, user).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let role = role.ok_or_else(|| ApiError::Invalid("role is required".into()))?;
    let old = staff::change_role(&tx, user, role)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut e = ctx.entry(caller.actor.clone(), "staff.role_change", Outcome::Success);
    e.target = Some(format!("user:{user}"));
    e.details = Some(serde_json::json!({ "from": old, "to": role }));
    audit::record_in(&tx, state.clock(), e).await?;
    tx.commit().await?;
    Ok(role)
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    Path(user_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user: UserId = parse_id(&user_id)?;
    remove_flow(&state, &caller, &ctx, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a member (audited) and ends their sessions here: 404 for
/// someone who is not a member, 409 for the last admin.
pub(crate) async fn remove_flow(
    state: &AppState,
    caller: &Caller,
    ctx: &Ctx,
    user: UserId,
) -> Result<(), ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    let old = staff::remove(&tx, user).await?.ok_or(ApiError::NotFound)?;
    let mut e = ctx.entry(caller.actor.clone(), "staff.remove", Outcome::Success);
    e.target = Some(format!("user:{user}"));
    e.details = Some(serde_json::json!({ "role": old }));
    audit::record_in(&tx, state.clock(), e).await?;
    tx.commit().await?;
    // After the commit: on SQLite the tenant transaction held the write lock.
    sessions::end_for_tenant(state.db(), user, caller.tenant.id()).await?;
    Ok(())
}

/// Accepts an invitation: creates the membership (and the person, whose
/// first password is set here). Returns the person and role.
async fn accept_flow(
    state: &AppState,
    ctx: &Ctx,
    token: &Secret,
    display_name: &str,
    new_password: Option<&Secret>,
) -> Result<staff::Accepted, ApiError> {
    let invalid = || ApiError::Invalid("This invitation is invalid, used or expired.".into());
    if let Some(p) = new_password {
        password::check_policy(p)?;
    }
    let tenant = match staff::tenant_of_token(token) {
        Some(t) => directory::by_id(state.db(), t).await?,
        None => None,
    };
    let Some(tenant) = tenant.filter(|t| t.status().allows_use()) else {
        let e = ctx.entry(
            "anonymous".into(),
            "staff.invitation_accept",
            Outcome::Failure,
        );
        audit::record_now(state.db(), state.clock(), e).await?;
        return Err(invalid());
    };
    let tx = state.db().tenant(&tenant).await?;
    let Some(accepted) = staff::accept(&tx, state.clock(), token, display_name).await? else {
        let e = ctx.entry(
            "anonymous".into(),
            "staff.invitation_accept",
            Outcome::Failure,
        );
        audit::record_in(&tx, state.clock(), e).await?;
        tx.commit().await?;
        return Err(invalid());
    };
    if accepted.needs_password && new_password.is_none() {
        tx.rollback().await?;
        return Err(ApiError::Invalid("Choose a password.".into()));
    }
    let mut e = ctx.entry(
        format!("user:{}", accepted.user),
        "staff.invitation_accept",
        Outcome::Success,
    );
    e.details = Some(serde_json::json!({ "role": accepted.role }));
    audit::record_in(&tx, state.clock(), e).await?;
    tx.commit().await?;
    if let (true, Some(p)) = (accepted.needs_password, new_password) {
        credentials::set_password(state.db(), accepted.user, p).await?;
    }
    Ok(accepted)
}

/// `POST /api/v1/invitations/accept` body; `password` is required when
/// the person has none yet (ignored otherwise).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptBody {
    token: Secret,
    #[serde(default)]
    display_name: String,
    password: Option<Secret>,
}

async fn accept_json(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<AcceptBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let a = accept_flow(
        &state,
        &ctx,
        &body.token,
        &body.display_name,
        body.password.as_ref(),
    )
    .await?;
    Ok(Json(
        serde_json::json!({ "user_id": a.user, "role": a.role }),
    ))
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

fn accept_html(token: &str, message: Option<&str>) -> Html<String> {
    let message = message.map_or_else(String::new, |m| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(m))
    });
    Html(layout(
        "Accept invitation",
        &format!(
            "<h1>Join your association on Aqueduct</h1>{message}<form method=\"post\" \
             action=\"/invite\" class=\"card\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
             <label>Your name <input name=\"display_name\" maxlength=\"200\"></label>\
             <label>Choose a password (if you have none yet) <input type=\"password\" \
             name=\"password\" autocomplete=\"new-password\" minlength=\"8\" maxlength=\"128\"></label>\
             <button type=\"submit\">Accept</button></form>",
            escape(token)
        ),
    ))
}

async fn accept_page(Query(q): Query<TokenQuery>) -> Html<String> {
    accept_html(q.token.as_deref().unwrap_or(""), None)
}

#[derive(Debug, Deserialize)]
struct AcceptForm {
    token: Secret,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "csrf_token")]
    _csrf: Option<String>,
}

async fn accept_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<AcceptForm>,
) -> Result<Response, ApiError> {
    let password = (!f.password.is_empty()).then(|| Secret::new(f.password.clone()));
    match accept_flow(&state, &ctx, &f.token, &f.display_name, password.as_ref()).await {
        Ok(_) => Ok(Html(layout(
            "Invitation accepted",
            "<h1>Welcome</h1><p>You are now on the staff. <a href=\"/login\">Sign in</a>.</p>",
        ))
        .into_response()),
        Err(ApiError::Invalid(m)) => Ok(accept_html(f.token.expose(), Some(&m)).into_response()),
        Err(e) => Err(e),
    }
}
