//! API keys of an association for its machine clients (admins): list,
//! create (the key is answered once and stored hashed) and revoke. Every
//! change is audited in the association's log. The workspace page
//! `/app/api-keys` calls the same functions.

use super::parse_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::signin::Ctx;
use crate::state::AppState;
use aqueduct_core::{ApiKeyId, Secret};
use aqueduct_tenant::audit::{self, Outcome};
use aqueduct_tenant::entity::api_key;
use aqueduct_tenant::{Access, Role, api_keys, scoped};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/api/v1/api-keys", Role::Admin, get(list))
        .tenant(Method::POST, "/api/v1/api-keys", Role::Admin, post(create))
        .tenant(
            Method::DELETE,
            "/api/v1/api-keys/{api_key_id}",
            Role::Admin,
            delete(revoke),
        )
}

/// A key as admins see it (never the key itself, nor its hash).
#[derive(Debug, Serialize)]
pub(crate) struct KeyDto {
    pub id: String,
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Last used, to within a few minutes (`None`: never).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<api_key::Model> for KeyDto {
    fn from(k: api_key::Model) -> Self {
        Self {
            id: k.id.to_string(),
            name: k.name,
            role: k.role,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
        }
    }
}

/// Every key of the association, live ones first, then by name.
pub(crate) async fn all(state: &AppState, caller: &Caller) -> Result<Vec<KeyDto>, ApiError> {
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = scoped::<api_key::Entity>(&tx)
        .order_by_asc(api_key::Column::Name)
        .order_by_asc(api_key::Column::CreatedAt)
        .all(tx.conn())
        .await?;
    tx.commit().await?;
    let mut keys: Vec<KeyDto> = rows.into_iter().map(KeyDto::from).collect();
    keys.sort_by_key(|k| k.revoked_at.is_some());
    Ok(keys)
}

/// Longest key name accepted.
pub(crate) const NAME_MAX: usize = 100;

/// Creates a key called `name` with `role`; returns its id and the key
/// (show it once). A blank or overlong name is refused.
pub(crate) async fn create_key(
    state: &AppState,
    caller: &Caller,
    ctx: &Ctx,
    name: &str,
    role: Role,
) -> Result<(ApiKeyId, Secret), ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(ApiError::Invalid(format!(
            "Give the key a name of 1 to {NAME_MAX} characters."
        )));
    }
    let tx = state.db().tenant(&caller.tenant).await?;
    let (id, key) = api_keys::create(&tx, state.clock(), name, role).await?;
    let mut e = ctx.entry(caller.actor.clone(), "api_key.create", Outcome::Success);
    e.target = Some(format!("api_key:{id}"));
    e.details = Some(serde_json::json!({ "name": name, "role": role }));
    audit::record_in(&tx, state.clock(), e).await?;
    tx.commit().await?;
    Ok((id, key))
}

/// Revokes a key of the association (again: nothing changes). Another
/// association's key, or none, is 404.
pub(crate) async fn revoke_key(
    state: &AppState,
    caller: &Caller,
    ctx: &Ctx,
    id: ApiKeyId,
) -> Result<(), ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    let Some(row) = scoped::<api_key::Entity>(&tx)
        .filter(api_key::Column::Id.eq(id.uuid()))
        .one(tx.conn())
        .await?
    else {
        return Err(ApiError::NotFound);
    };
    if row.revoked_at.is_some() {
        tx.commit().await?;
        return Ok(());
    }
    api_keys::revoke(&tx, state.clock(), id).await?;
    let mut e = ctx.entry(caller.actor.clone(), "api_key.revoke", Outcome::Success);
    e.target = Some(format!("api_key:{id}"));
    e.details = Some(serde_json::json!({ "name": row.name }));
    audit::record_in(&tx, state.clock(), e).await?;
    tx.commit().await?;
    Ok(())
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<KeyDto>>, ApiError> {
    Ok(Json(all(&state, &caller).await?))
}

/// `POST /api/v1/api-keys` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    name: String,
    role: Role,
}

/// The answer to a creation: the only time the key is shown.
#[derive(Debug, Serialize)]
struct Created {
    id: String,
    name: String,
    role: Role,
    key: String,
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    Json(body): Json<NewKey>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let (id, key) = create_key(&state, &caller, &ctx, &body.name, body.role).await?;
    Ok((
        StatusCode::CREATED,
        Json(Created {
            id: id.to_string(),
            name: body.name.trim().to_owned(),
            role: body.role,
            key: key.expose().to_owned(),
        }),
    ))
}

async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    Path(api_key_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: ApiKeyId = parse_id(&api_key_id)?;
    revoke_key(&state, &caller, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
