//! Credentials of people: password hashes, single-use set/reset tokens,
//! disabling, and the memberships a signed-in person may act in.

use crate::ctx::TenantCtx;
use crate::db::{Access, Db, TenantTx};
use crate::directory;
use crate::entity::{membership, user, user_token};
use crate::error::TenantError;
use crate::password;
use crate::role::Role;
use crate::sessions::{self, hash_token, random_hex};
use aqueduct_core::{Clock, Secret, TenantId, UserId};
use chrono::Duration;
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter};

/// A person's sign-in record (its `Debug` leaves the hash out).
#[derive(Clone)]
pub struct Person {
    /// User id.
    pub id: UserId,
    /// Email (lower-case).
    pub email: String,
    /// Name.
    pub display_name: String,
    /// Platform operator.
    pub is_operator: bool,
    /// Argon2id PHC string, when a password is set.
    pub(crate) password_hash: Option<String>,
    /// Disabled people cannot sign in.
    pub disabled: bool,
}

impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Person")
            .field("id", &self.id)
            .field("is_operator", &self.is_operator)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

impl From<user::Model> for Person {
    fn from(u: user::Model) -> Self {
        Self {
            id: UserId::from_uuid(u.id),
            email: u.email,
            display_name: u.display_name,
            is_operator: u.is_operator,
            password_hash: u.password_hash,
            disabled: u.disabled_at.is_some(),
        }
    }
}

impl Person {
    /// Whether a password is set.
    pub fn has_password(&self) -> bool {
        self.password_hash.is_some()
    }
    /// Checks `candidate` against the stored hash (false without one).
    pub fn password_matches(&self, candidate: &Secret) -> bool {
        match &self.password_hash {
            Some(phc) => password::verify(candidate, phc),
            None => {
                password::verify_dummy(candidate);
                false
            }
        }
    }
}

/// Finds a person by email.
pub async fn by_email(db: &Db, email: &str) -> Result<Option<Person>, DbErr> {
    let Ok(email) = crate::users::normalize_email(email) else {
        return Ok(None);
    };
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db.maintenance())
        .await?
        .map(Person::from))
}

/// Finds a person by id.
pub async fn by_id(db: &Db, id: UserId) -> Result<Option<Person>, DbErr> {
    Ok(user::Entity::find_by_id(id.uuid())
        .one(db.maintenance())
        .await?
        .map(Person::from))
}

/// Sets a new password (policy checked, argon2id hashed).
pub async fn set_password(db: &Db, user: UserId, new: &Secret) -> Result<(), TenantError> {
    let phc = password::hash(new)?;
    let res = user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Some(phc).into())
        .filter(user::Column::Id.eq(user.uuid()))
        .exec(db.maintenance())
        .await?;
    if res.rows_affected == 1 {
        Ok(())
    } else {
        Err(TenantError::Invalid("no such user".into()))
    }
}

/// Disables a person and ends all their sessions.
pub async fn disable(db: &Db, clock: &dyn Clock, user: UserId) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::DisabledAt, Some(clock.now()).into())
        .filter(user::Column::Id.eq(user.uuid()))
        .exec(db.maintenance())
        .await?;
    sessions::end_all_for_user(db, user, None).await?;
    Ok(())
}

/// What a single-use token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// A first password (new operator, invited staff).
    SetPassword,
    /// A forgotten password.
    Reset,
    /// A customer's one-time sign-in link (also verifies a sign-up).
    SignInLink,
    /// A customer invited by staff: a sign-in link that lives longer.
    CustomerInvite,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::SetPassword => "set_password",
            TokenPurpose::Reset => "reset",
            TokenPurpose::SignInLink => "sign_in_link",
            TokenPurpose::CustomerInvite => "customer_invite",
        }
    }
}

/// How long a reset token is valid.
pub const RESET_TTL: Duration = Duration::minutes(30);
/// How long a set-password token is valid.
pub const SET_PASSWORD_TTL: Duration = Duration::hours(72);
/// How long a customer's emailed sign-in link is valid.
pub const SIGN_IN_LINK_TTL: Duration = Duration::minutes(15);

/// Issues a single-use token for `user`; returns it (send or print it once).
/// With `scope`, the token is good only in that association (a customer's
/// sign-in link); without, anywhere (staff password tokens).
pub async fn issue_token(
    db: &Db,
    clock: &dyn Clock,
    user: UserId,
    purpose: TokenPurpose,
    scope: Option<TenantId>,
) -> Result<Secret, DbErr> {
    let token = random_hex(32)?;
    let now = clock.now();
    let ttl = match purpose {
        TokenPurpose::SetPassword => SET_PASSWORD_TTL,
        TokenPurpose::Reset => RESET_TTL,
        TokenPurpose::SignInLink => SIGN_IN_LINK_TTL,
        TokenPurpose::CustomerInvite => SET_PASSWORD_TTL,
    };
    user_token::Entity::insert(user_token::ActiveModel {
        token_hash: Set(hash_token(&token)),
        user_id: Set(user.uuid()),
        purpose: Set(purpose.as_str().to_owned()),
        scope_tenant_id: Set(scope.map(TenantId::uuid)),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        used_at: Set(None),
    })
    .exec_without_returning(db.maintenance())
    .await?;
    Ok(Secret::new(token))
}

/// Uses a set/reset token and sets the new password: at most once, before
/// it expires. Ends every session of the person. Returns whose it was.
pub async fn redeem_token(
    db: &Db,
    clock: &dyn Clock,
    token: &Secret,
    new_password: &Secret,
) -> Result<Option<UserId>, TenantError> {
    password::check_policy(new_password)?;
    let Some(user) = claim(
        db,
        clock,
        token,
        &[TokenPurpose::SetPassword, TokenPurpose::Reset],
        None,
    )
    .await?
    else {
        return Ok(None);
    };
    set_password(db, user, new_password).await?;
    sessions::end_all_for_user(db, user, None).await?;
    Ok(Some(user))
}

/// Uses a single-use token of one of `purposes`: at most once, before it
/// expires. Returns whose it was.
async fn claim(
    db: &Db,
    clock: &dyn Clock,
    token: &Secret,
    purposes: &[TokenPurpose],
    scope: Option<TenantId>,
) -> Result<Option<UserId>, DbErr> {
    let hash = hash_token(token.expose());
    let now = clock.now();
    let Some(row) = user_token::Entity::find_by_id(hash.clone())
        .one(db.maintenance())
        .await?
    else {
        return Ok(None);
    };
    if !purposes.iter().any(|p| p.as_str() == row.purpose) {
        return Ok(None);
    }
    // A token bound to one association is refused (and left unused)
    // anywhere else.
    if row.scope_tenant_id.is_some() && row.scope_tenant_id != scope.map(TenantId::uuid) {
        return Ok(None);
    }
    // The conditional update is what makes it single-use under races.
    let claimed = user_token::Entity::update_many()
        .col_expr(user_token::Column::UsedAt, Some(now).into())
        .filter(user_token::Column::TokenHash.eq(hash))
        .filter(user_token::Column::UsedAt.is_null())
        .filter(user_token::Column::ExpiresAt.gt(now))
        .exec(db.maintenance())
        .await?;
    Ok((claimed.rows_affected == 1).then(|| UserId::from_uuid(row.user_id)))
}

/// Uses a customer's sign-in link (or staff invitation link): at most once,
/// before it expires, in the association that mailed it. Returns whose it
/// was; a disabled person gets `None`.
pub async fn redeem_sign_in_link(
    db: &Db,
    clock: &dyn Clock,
    token: &Secret,
    tenant: TenantId,
) -> Result<Option<UserId>, DbErr> {
    let Some(user) = claim(
        db,
        clock,
        token,
        &[TokenPurpose::SignInLink, TokenPurpose::CustomerInvite],
        Some(tenant),
    )
    .await?
    else {
        return Ok(None);
    };
    Ok(by_id(db, user).await?.filter(|p| !p.disabled).map(|p| p.id))
}

/// The associations `user` belongs to, with the role in each (read through
/// the person's own scope: on PostgreSQL a policy lets a transaction that
/// names the user see that user's memberships and nothing else).
pub async fn memberships(db: &Db, user: UserId) -> Result<Vec<(TenantCtx, Role)>, DbErr> {
    let tx = db.begin(Access::Read).await?;
    db.set_local(&tx, "app.user_id", &user.to_string()).await?;
    let rows = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user.uuid()))
        .all(&tx)
        .await?;
    tx.commit().await?;
    let mut out = Vec::with_capacity(rows.len());
    for m in rows {
        let Some(ctx) = directory::by_id(db, TenantId::from_uuid(m.tenant_id)).await? else {
            continue;
        };
        let role = m
            .role
            .parse()
            .map_err(|e: String| DbErr::Custom(format!("membership role: {e}")))?;
        out.push((ctx, role));
    }
    out.sort_by(|a, b| a.0.slug().as_str().cmp(b.0.slug().as_str()));
    Ok(out)
}

/// The role of `user` in `tenant`, for the door of every signed-in
/// tenant request, in one round trip on PostgreSQL (`Db::read_once`: the
/// membership is behind row-level security, so it is read in a read-only
/// transaction scoped to the tenant, sent as one message).
pub async fn role_of(db: &Db, tenant: TenantId, user: UserId) -> Result<Option<Role>, DbErr> {
    db.read_once_in(
        tenant,
        membership::Entity::find().filter(membership::Column::UserId.eq(user.uuid())),
    )
    .await?
    .into_iter()
    .next()
    .map(|m| {
        m.role
            .parse()
            .map_err(|e: String| DbErr::Custom(format!("membership role: {e}")))
    })
    .transpose()
}

/// The role of `user` in the transaction's association, if a member.
pub async fn role_in(tx: &TenantTx, user: UserId) -> Result<Option<Role>, DbErr> {
    let row = crate::scoped::<membership::Entity>(tx)
        .filter(membership::Column::UserId.eq(user.uuid()))
        .one(tx.conn())
        .await?;
    row.map(|m| {
        m.role
            .parse()
            .map_err(|e: String| DbErr::Custom(format!("membership role: {e}")))
    })
    .transpose()
}
