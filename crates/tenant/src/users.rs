//! People: platform operators and association staff.

use crate::db::{Db, TenantTx};
use crate::entity::{membership, user};
use crate::error::{TenantError, is_unique_violation};
use crate::role::Role;
use aqueduct_core::{Clock, UserId};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::OnConflict,
};

/// Normalises and checks an email address (lower-cased, trimmed, one `@`
/// with text on both sides, at most 254 characters).
pub fn normalize_email(email: &str) -> Result<String, TenantError> {
    let e = email.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'))
        && !e.chars().any(char::is_whitespace);
    if valid {
        Ok(e)
    } else {
        Err(TenantError::Invalid(format!(
            "not an email address: {email:?}"
        )))
    }
}

/// A user as shown to operators and admins.
#[derive(Debug, Clone)]
pub struct UserSummary {
    /// User id.
    pub id: UserId,
    /// Email.
    pub email: String,
    /// Name.
    pub display_name: String,
    /// Platform operator.
    pub is_operator: bool,
}

async fn insert_user(
    conn: &impl ConnectionTrait,
    clock: &dyn Clock,
    email: &str,
    display_name: &str,
    is_operator: bool,
) -> Result<UserId, TenantError> {
    let email = normalize_email(email)?;
    let id = UserId::new();
    let res = user::Entity::insert(user::ActiveModel {
        id: Set(id.uuid()),
        email: Set(email),
        display_name: Set(display_name.trim().to_owned()),
        is_operator: Set(is_operator),
        password_hash: Set(None),
        created_at: Set(clock.now()),
        disabled_at: Set(None),
    })
    .exec_without_returning(conn)
    .await;
    match res {
        Ok(_) => Ok(id),
        Err(e) if is_unique_violation(&e, &["users.email", "email"]) => {
            Err(TenantError::EmailTaken)
        }
        Err(e) => Err(e.into()),
    }
}

/// Creates a platform operator. A taken email is [`TenantError::EmailTaken`].
pub async fn create_operator(
    db: &Db,
    clock: &dyn Clock,
    email: &str,
    display_name: &str,
) -> Result<UserId, TenantError> {
    insert_user(db.maintenance(), clock, email, display_name, true).await
}

/// Finds a user by email.
pub async fn by_email(db: &Db, email: &str) -> Result<Option<UserSummary>, TenantError> {
    by_email_on(db.maintenance(), email).await
}

async fn by_email_on(
    conn: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<UserSummary>, TenantError> {
    let email = normalize_email(email)?;
    let row = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(conn)
        .await?;
    Ok(row.map(|u| UserSummary {
        id: UserId::from_uuid(u.id),
        email: u.email,
        display_name: u.display_name,
        is_operator: u.is_operator,
    }))
}

/// Makes sure a staff user with `email` exists and is a member of the
/// transaction's association with `role` (idempotent: an existing user and
/// membership are kept, the role updated). Everything happens in `tx`, so
/// it commits or rolls back with the caller's other changes.
pub async fn ensure_staff(
    tx: &TenantTx,
    clock: &dyn Clock,
    email: &str,
    display_name: &str,
    role: Role,
) -> Result<UserId, TenantError> {
    let id = match by_email_on(tx.conn(), email).await? {
        Some(u) => u.id,
        None => insert_user(tx.conn(), clock, email, display_name, false).await?,
    };
    membership::Entity::insert(membership::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        user_id: Set(id.uuid()),
        role: Set(role.as_str().to_owned()),
        created_at: Set(clock.now()),
    })
    .on_conflict(
        OnConflict::columns([membership::Column::TenantId, membership::Column::UserId])
            .update_column(membership::Column::Role)
            .to_owned(),
    )
    .exec_without_returning(tx.conn())
    .await
    .map_err(|e: DbErr| TenantError::Db(e))?;
    Ok(id)
}

/// The person with `email`, created (no password, not an operator) when
/// there is none: a customer signing up or invited by staff. Returns the
/// id and whether it was created.
pub async fn ensure_person(
    db: &Db,
    clock: &dyn Clock,
    email: &str,
) -> Result<(UserId, bool), TenantError> {
    if let Some(u) = by_email(db, email).await? {
        return Ok((u.id, false));
    }
    match insert_user(db.maintenance(), clock, email, "", false).await {
        Ok(id) => Ok((id, true)),
        // Created meanwhile by a concurrent request.
        Err(TenantError::EmailTaken) => by_email(db, email)
            .await?
            .map(|u| (u.id, false))
            .ok_or(TenantError::EmailTaken),
        Err(e) => Err(e),
    }
}
