//! An association's staff: invitations by email with a role (single-use
//! token, 7 days), accepting one (creates the membership), listing members,
//! changing a role and removing a member. Every function takes the
//! association's transaction first; an association always keeps an admin.

use crate::db::TenantTx;
use crate::entity::{invitation, membership, user};
use crate::error::TenantError;
use crate::role::Role;
use crate::sessions::{hash_token, random_hex};
use crate::users;
use aqueduct_core::{Clock, InvitationId, Secret, TenantId, UserId};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

/// How long an invitation is valid.
pub const INVITATION_TTL: Duration = Duration::days(7);

/// An invitation as admins see it.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// Id.
    pub id: InvitationId,
    /// Invited email.
    pub email: String,
    /// Role on acceptance.
    pub role: Role,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
    /// Expires (UTC).
    pub expires_at: DateTime<Utc>,
}

fn parse_role(s: &str) -> Result<Role, DbErr> {
    s.parse()
        .map_err(|e: String| DbErr::Custom(format!("stored role: {e}")))
}

impl TryFrom<invitation::Model> for Invitation {
    type Error = DbErr;
    fn try_from(m: invitation::Model) -> Result<Self, DbErr> {
        Ok(Self {
            id: InvitationId::from_uuid(m.id),
            role: parse_role(&m.role)?,
            email: m.email,
            created_at: m.created_at,
            expires_at: m.expires_at,
        })
    }
}

/// Invites `email` with `role`; returns the invitation and its token (mail
/// it, never store or log it). The token names its association so the
/// accepting request can open the right transaction.
pub async fn invite(
    tx: &TenantTx,
    clock: &dyn Clock,
    invited_by: &str,
    email: &str,
    role: Role,
) -> Result<(Invitation, Secret), TenantError> {
    let email = users::normalize_email(email)?;
    let token = format!("{}.{}", tx.tenant_id().uuid().simple(), random_hex(32)?);
    let now = clock.now();
    let id = InvitationId::new();
    let row = invitation::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(id.uuid()),
        email: Set(email),
        role: Set(role.as_str().to_owned()),
        token_hash: Set(hash_token(&token)),
        invited_by: Set(invited_by.chars().take(64).collect()),
        created_at: Set(now),
        expires_at: Set(now + INVITATION_TTL),
        accepted_at: Set(None),
        accepted_by: Set(None),
    };
    let model = invitation::Entity::insert(row)
        .exec_with_returning(tx.conn())
        .await?;
    Ok((Invitation::try_from(model)?, Secret::new(token)))
}

/// The association an invitation token belongs to (unverified: the token
/// itself is checked inside that association's transaction).
pub fn tenant_of_token(token: &Secret) -> Option<TenantId> {
    let (tenant, _) = token.expose().split_once('.')?;
    uuid::Uuid::parse_str(tenant).ok().map(TenantId::from_uuid)
}

/// Invitations not yet accepted nor expired, newest first.
pub async fn pending(tx: &TenantTx, clock: &dyn Clock) -> Result<Vec<Invitation>, DbErr> {
    crate::scoped::<invitation::Entity>(tx)
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(clock.now()))
        .order_by_desc(invitation::Column::Id)
        .all(tx.conn())
        .await?
        .into_iter()
        .map(Invitation::try_from)
        .collect()
}

/// Withdraws a pending invitation; `false` when there is none by that id.
pub async fn revoke(tx: &TenantTx, id: InvitationId) -> Result<bool, DbErr> {
    let res = invitation::Entity::delete_many()
        .filter(invitation::Column::TenantId.eq(tx.tenant_id().uuid()))
        .filter(invitation::Column::Id.eq(id.uuid()))
        .filter(invitation::Column::AcceptedAt.is_null())
        .exec(tx.conn())
        .await?;
    Ok(res.rows_affected == 1)
}

/// What accepting an invitation did.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The person (created if new).
    pub user: UserId,
    /// Their role now.
    pub role: Role,
    /// Whether they still need a first password.
    pub needs_password: bool,
}

/// Accepts an invitation by its token: at most once, before it expires.
/// Creates the person if new and the membership. `None` for a wrong, used
/// or expired token.
pub async fn accept(
    tx: &TenantTx,
    clock: &dyn Clock,
    token: &Secret,
    display_name: &str,
) -> Result<Option<Accepted>, TenantError> {
    let hash = hash_token(token.expose());
    let now = clock.now();
    let Some(row) = crate::scoped::<invitation::Entity>(tx)
        .filter(invitation::Column::TokenHash.eq(hash.clone()))
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    let claimed = invitation::Entity::update_many()
        .col_expr(invitation::Column::AcceptedAt, Some(now).into())
        .filter(invitation::Column::TenantId.eq(tx.tenant_id().uuid()))
        .filter(invitation::Column::TokenHash.eq(hash))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now))
        .exec(tx.conn())
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(None);
    }
    let role = parse_role(&row.role)?;
    let name = if display_name.trim().is_empty() {
        row.email.clone()
    } else {
        display_name.trim().chars().take(200).collect()
    };
    let user = users::ensure_staff(tx, clock, &row.email, &name, role).await?;
    invitation::Entity::update_many()
        .col_expr(invitation::Column::AcceptedBy, Some(user.uuid()).into())
        .filter(invitation::Column::TenantId.eq(tx.tenant_id().uuid()))
        .filter(invitation::Column::Id.eq(row.id))
        .exec(tx.conn())
        .await?;
    let needs_password = user::Entity::find_by_id(user.uuid())
        .one(tx.conn())
        .await?
        .is_none_or(|u| u.password_hash.is_none());
    Ok(Some(Accepted {
        user,
        role,
        needs_password,
    }))
}

/// A member of the association's staff.
#[derive(Debug, Clone)]
pub struct Member {
    /// Person.
    pub user: UserId,
    /// Email.
    pub email: String,
    /// Name.
    pub display_name: String,
    /// Role here.
    pub role: Role,
    /// Member since (UTC).
    pub since: DateTime<Utc>,
}

/// Every member, by email.
pub async fn list(tx: &TenantTx) -> Result<Vec<Member>, DbErr> {
    let rows = crate::scoped::<membership::Entity>(tx)
        .all(tx.conn())
        .await?;
    let ids: Vec<_> = rows.iter().map(|m| m.user_id).collect();
    let people = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(tx.conn())
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for m in rows {
        let Some(u) = people.iter().find(|u| u.id == m.user_id) else {
            continue;
        };
        out.push(Member {
            user: UserId::from_uuid(m.user_id),
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            role: parse_role(&m.role)?,
            since: m.created_at,
        });
    }
    out.sort_by(|a, b| a.email.cmp(&b.email));
    Ok(out)
}

async fn member_role(tx: &TenantTx, user: UserId) -> Result<Option<Role>, DbErr> {
    crate::scoped::<membership::Entity>(tx)
        .filter(membership::Column::UserId.eq(user.uuid()))
        .one(tx.conn())
        .await?
        .map(|m| parse_role(&m.role))
        .transpose()
}

async fn other_admins(tx: &TenantTx, user: UserId) -> Result<u64, DbErr> {
    crate::scoped::<membership::Entity>(tx)
        .filter(membership::Column::Role.eq(Role::Admin.as_str()))
        .filter(membership::Column::UserId.ne(user.uuid()))
        .count(tx.conn())
        .await
}

/// Changes a member's role; returns the previous one, or `None` when
/// `user` is not a member. Refuses to demote the last admin.
pub async fn change_role(
    tx: &TenantTx,
    user: UserId,
    role: Role,
) -> Result<Option<Role>, TenantError> {
    let Some(old) = member_role(tx, user).await? else {
        return Ok(None);
    };
    if old == Role::Admin && role != Role::Admin && other_admins(tx, user).await? == 0 {
        return Err(TenantError::LastAdmin);
    }
    membership::Entity::update_many()
        .col_expr(membership::Column::Role, role.as_str().into())
        .filter(membership::Column::TenantId.eq(tx.tenant_id().uuid()))
        .filter(membership::Column::UserId.eq(user.uuid()))
        .exec(tx.conn())
        .await?;
    Ok(Some(old))
}

/// Removes a member; returns the role they had, or `None` when not a
/// member. Refuses to remove the last admin. End their sessions in this
/// association after committing ([`crate::sessions::end_for_tenant`]).
pub async fn remove(tx: &TenantTx, user: UserId) -> Result<Option<Role>, TenantError> {
    let Some(old) = member_role(tx, user).await? else {
        return Ok(None);
    };
    if old == Role::Admin && other_admins(tx, user).await? == 0 {
        return Err(TenantError::LastAdmin);
    }
    membership::Entity::delete_many()
        .filter(membership::Column::TenantId.eq(tx.tenant_id().uuid()))
        .filter(membership::Column::UserId.eq(user.uuid()))
        .exec(tx.conn())
        .await?;
    Ok(Some(old))
}

/// Accepts the open invitation of `email` to the transaction's association
/// (a first single sign-on whose provider vouched for that email). `None`
/// when there is no open, unexpired invitation for it.
pub async fn accept_for_email(
    tx: &TenantTx,
    clock: &dyn Clock,
    email: &str,
    display_name: &str,
) -> Result<Option<Accepted>, TenantError> {
    let Ok(email) = users::normalize_email(email) else {
        return Ok(None);
    };
    let now = clock.now();
    let Some(row) = crate::scoped::<invitation::Entity>(tx)
        .filter(invitation::Column::Email.eq(email))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now))
        .order_by_desc(invitation::Column::CreatedAt)
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    let claimed = invitation::Entity::update_many()
        .col_expr(invitation::Column::AcceptedAt, Some(now).into())
        .filter(invitation::Column::TenantId.eq(tx.tenant_id().uuid()))
        .filter(invitation::Column::Id.eq(row.id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .exec(tx.conn())
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(None);
    }
    let role = parse_role(&row.role)?;
    let name = if display_name.trim().is_empty() {
        row.email.clone()
    } else {
        display_name.trim().chars().take(200).collect()
    };
    let user = users::ensure_staff(tx, clock, &row.email, &name, role).await?;
    invitation::Entity::update_many()
        .col_expr(invitation::Column::AcceptedBy, Some(user.uuid()).into())
        .filter(invitation::Column::TenantId.eq(tx.tenant_id().uuid()))
        .filter(invitation::Column::Id.eq(row.id))
        .exec(tx.conn())
        .await?;
    Ok(Some(Accepted {
        user,
        role,
        needs_password: false,
    }))
}
