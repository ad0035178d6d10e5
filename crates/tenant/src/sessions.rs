//! Server-side sessions for people signed in through a browser (or a
//! client that keeps cookies). The cookie carries a random id; the table
//! keeps only its SHA-256, so reading the table signs nobody in. Any
//! replica can serve any request.

use crate::db::Db;
use crate::entity::{session, user};
use aqueduct_core::{Clock, Secret, TenantId, UserId};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, JoinType, QueryFilter, QuerySelect,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How long sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Ends after this long without a request.
    pub idle: Duration,
    /// Ends this long after sign-in, whatever happens.
    pub absolute: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::minutes(30),
            absolute: Duration::hours(12),
        }
    }
}

/// A live session and the person behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Hex SHA-256 of the session id (the row key; safe to log).
    pub id_hash: String,
    /// Who.
    pub user: UserId,
    /// Whether that person is a platform operator.
    pub is_operator: bool,
    /// The association selected for staff work.
    pub active_tenant: Option<TenantId>,
    /// The CSRF token bound to this session.
    pub csrf_token: String,
    /// The password was right but the second factor is still due.
    pub second_factor_pending: bool,
    /// Absolute end.
    pub expires_at: DateTime<Utc>,
    /// A customer session, bound to this association (staff and operator
    /// sessions have none; each kind of route refuses the other kind).
    pub customer_tenant: Option<TenantId>,
}

/// Random hex of `n` bytes.
pub(crate) fn random_hex(n: usize) -> Result<String, DbErr> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| DbErr::Custom(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// Hex SHA-256 of a presented token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Starts a session for `user`; returns the id for the cookie (only place
/// it exists in clear) and the session.
pub async fn create(
    db: &Db,
    clock: &dyn Clock,
    policy: SessionPolicy,
    user: UserId,
    is_operator: bool,
    active_tenant: Option<TenantId>,
    second_factor_pending: bool,
) -> Result<(Secret, Session), DbErr> {
    insert(
        db,
        clock,
        policy,
        user,
        is_operator,
        (active_tenant, None),
        second_factor_pending,
    )
    .await
}

/// Starts a customer session for `user` in `tenant` (never an operator's
/// or a staff session, whatever else the person is).
pub async fn create_customer(
    db: &Db,
    clock: &dyn Clock,
    policy: SessionPolicy,
    user: UserId,
    tenant: TenantId,
) -> Result<(Secret, Session), DbErr> {
    insert(db, clock, policy, user, false, (None, Some(tenant)), false).await
}

async fn insert(
    db: &Db,
    clock: &dyn Clock,
    policy: SessionPolicy,
    user: UserId,
    is_operator: bool,
    (active_tenant, customer_tenant): (Option<TenantId>, Option<TenantId>),
    second_factor_pending: bool,
) -> Result<(Secret, Session), DbErr> {
    let token = random_hex(32)?;
    let now = clock.now();
    let s = Session {
        id_hash: hash_token(&token),
        user,
        is_operator,
        active_tenant,
        csrf_token: random_hex(32)?,
        second_factor_pending,
        expires_at: now + policy.absolute,
        customer_tenant,
    };
    session::Entity::insert(session::ActiveModel {
        id_hash: Set(s.id_hash.clone()),
        user_id: Set(user.uuid()),
        active_tenant: Set(active_tenant.map(TenantId::uuid)),
        csrf_token: Set(s.csrf_token.clone()),
        second_factor_pending: Set(second_factor_pending),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(s.expires_at),
        customer_tenant: Set(customer_tenant.map(TenantId::uuid)),
    })
    .exec_without_returning(db.maintenance())
    .await?;
    Ok((Secret::new(token), s))
}

/// How stale `last_seen_at` may get before a request touches it: the
/// idle limit is checked to within this, and a busy session costs one
/// write a minute instead of one per request.
pub const TOUCH_AFTER: Duration = Duration::seconds(60);

/// Resolves a presented session id. Idle, expired sessions and sessions of
/// disabled users are deleted and answer `None`; a live one is touched
/// (at most once per [`TOUCH_AFTER`]).
///
/// The fast path of every signed-in request: the session and its person
/// come back in one query (a join on the user's primary key), and the
/// touch is the only write, once a minute.
pub async fn lookup(
    db: &Db,
    clock: &dyn Clock,
    policy: SessionPolicy,
    token: &str,
) -> Result<Option<Session>, DbErr> {
    if !well_formed(token) {
        return Ok(None);
    }
    Ok(lookup_hashed(db, clock, policy, hash_token(token))
        .await?
        .map(|(s, _)| s))
}

/// Whether a presented session id has the shape we issue (64 hex digits).
pub(crate) fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// [`lookup`] by row key, also answering when the session was last
/// seen as far as the database knows after this call (the touch included).
pub(crate) async fn lookup_hashed(
    db: &Db,
    clock: &dyn Clock,
    policy: SessionPolicy,
    id_hash: String,
) -> Result<Option<(Session, DateTime<Utc>)>, DbErr> {
    type Row = (
        Uuid,
        Option<Uuid>,
        String,
        bool,
        DateTime<Utc>,
        DateTime<Utc>,
        Option<Uuid>,
        bool,
        Option<DateTime<Utc>>,
    );
    let found: Option<Row> = session::Entity::find_by_id(id_hash.clone())
        .select_only()
        .columns([
            session::Column::UserId,
            session::Column::ActiveTenant,
            session::Column::CsrfToken,
            session::Column::SecondFactorPending,
            session::Column::LastSeenAt,
            session::Column::ExpiresAt,
            session::Column::CustomerTenant,
        ])
        .column(user::Column::IsOperator)
        .column(user::Column::DisabledAt)
        .join(
            JoinType::InnerJoin,
            session::Entity::belongs_to(user::Entity)
                .from(session::Column::UserId)
                .to(user::Column::Id)
                .into(),
        )
        .into_tuple()
        .one(db.maintenance())
        .await?;
    let Some((
        user_id,
        active_tenant,
        csrf_token,
        pending,
        last_seen,
        expires_at,
        customer_tenant,
        op,
        disabled,
    )) = found
    else {
        return Ok(None);
    };
    let now = clock.now();
    let idle_over = now - last_seen >= policy.idle;
    if idle_over || now >= expires_at || disabled.is_some() {
        end(db, &id_hash).await?;
        return Ok(None);
    }
    let mut seen = last_seen;
    if now - last_seen >= TOUCH_AFTER {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, now.into())
            .filter(session::Column::IdHash.eq(id_hash.clone()))
            .exec(db.maintenance())
            .await?;
        seen = now;
    }
    let customer_tenant = customer_tenant.map(TenantId::from_uuid);
    Ok(Some((
        Session {
            id_hash,
            user: UserId::from_uuid(user_id),
            // A customer session never carries operator rights.
            is_operator: op && customer_tenant.is_none(),
            customer_tenant,
            active_tenant: active_tenant.map(TenantId::from_uuid),
            csrf_token,
            second_factor_pending: pending,
            expires_at,
        },
        seen,
    )))
}

/// Replaces a session by a new one with the same person and absolute end,
/// with the given tenant and second-factor state (privilege changes rotate
/// the id, so a session id seen before the change is worthless after it).
pub async fn rotate(
    db: &Db,
    clock: &dyn Clock,
    old: &Session,
    active_tenant: Option<TenantId>,
    second_factor_pending: bool,
) -> Result<(Secret, Session), DbErr> {
    let remaining = old.expires_at - clock.now();
    let (token, new) = insert(
        db,
        clock,
        SessionPolicy {
            idle: Duration::minutes(30),
            absolute: remaining,
        },
        old.user,
        old.is_operator,
        (active_tenant, old.customer_tenant),
        second_factor_pending,
    )
    .await?;
    end(db, &old.id_hash).await?;
    Ok((token, new))
}

/// Ends one session.
pub async fn end(db: &Db, id_hash: &str) -> Result<(), DbErr> {
    session::Entity::delete_by_id(id_hash.to_owned())
        .exec(db.maintenance())
        .await?;
    Ok(())
}

/// Ends every session of `user` except `keep` (a row key); returns how many.
pub async fn end_all_for_user(db: &Db, user: UserId, keep: Option<&str>) -> Result<u64, DbErr> {
    let mut q = session::Entity::delete_many().filter(session::Column::UserId.eq(user.uuid()));
    if let Some(keep) = keep {
        q = q.filter(session::Column::IdHash.ne(keep));
    }
    Ok(q.exec(db.maintenance()).await?.rows_affected)
}

/// Ends every session of `user` working in `tenant` (removal from its
/// staff); returns how many.
pub async fn end_for_tenant(db: &Db, user: UserId, tenant: TenantId) -> Result<u64, DbErr> {
    Ok(session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user.uuid()))
        .filter(session::Column::ActiveTenant.eq(tenant.uuid()))
        .exec(db.maintenance())
        .await?
        .rows_affected)
}
