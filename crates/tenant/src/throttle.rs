//! Throttling of sign-in, password reset and sign-up attempts, per client
//! address and per account, in fixed windows stored in the database (so it
//! holds across replicas). A window ends by itself: no permanent lockout.

use crate::db::Db;
use crate::entity::throttle_bucket;
use aqueduct_core::Clock;
use chrono::Duration;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, EntityTrait, Statement};
use sha2::{Digest, Sha256};

/// At most `max` attempts per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Attempts allowed in one window.
    pub max: i32,
    /// Window length.
    pub window: Duration,
}

/// Failed sign-ins per account.
pub const SIGN_IN_ACCOUNT: Limit = Limit {
    max: 5,
    window: Duration::minutes(15),
};
/// Failed sign-ins per client address.
pub const SIGN_IN_IP: Limit = Limit {
    max: 30,
    window: Duration::minutes(15),
};
/// Reset requests per account.
pub const RESET_ACCOUNT: Limit = Limit {
    max: 3,
    window: Duration::hours(1),
};
/// Reset requests per client address.
pub const RESET_IP: Limit = Limit {
    max: 20,
    window: Duration::hours(1),
};

/// Association sign-ups per client address.
pub const SIGN_UP_IP: Limit = Limit {
    max: 5,
    window: Duration::hours(1),
};

/// The bucket key for a client address.
pub fn ip_key(action: &str, ip: &str) -> String {
    format!("{action}:ip:{ip}")
}

/// The bucket key for an account (the email is hashed: no personal data).
pub fn account_key(action: &str, email: &str) -> String {
    let digest = hex::encode(Sha256::digest(email.trim().to_lowercase().as_bytes()));
    format!("{action}:acct:{}", &digest[..40])
}

/// Seconds until the bucket `key` accepts attempts again, or `None` when it
/// is under `limit` now.
pub async fn blocked_for(
    db: &Db,
    clock: &dyn Clock,
    key: &str,
    limit: Limit,
) -> Result<Option<u64>, DbErr> {
    let now = clock.now();
    let row = throttle_bucket::Entity::find_by_id(key.to_owned())
        .one(db.maintenance())
        .await?;
    Ok(row.and_then(|b| {
        let ends = b.window_start + limit.window;
        (b.attempts >= limit.max && ends > now)
            .then(|| u64::try_from(Ord::max((ends - now).num_seconds(), 1)).unwrap_or(1))
    }))
}

/// Counts one attempt against `key`, starting a new window when the old
/// one is over. One upsert statement on both engines: concurrent attempts
/// on the same key (several replicas, parallel requests) each count — an
/// update-then-insert pair could let two first attempts both insert and
/// one overwrite the other.
pub async fn hit(db: &Db, clock: &dyn Clock, key: &str, limit: Limit) -> Result<(), DbErr> {
    let now = clock.now();
    let cutoff = now - limit.window;
    let conn = db.maintenance();
    let backend = conn.get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        "INSERT INTO throttle_buckets (key, window_start, attempts) VALUES ($1, $2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
         attempts = CASE WHEN throttle_buckets.window_start > $3 \
           THEN throttle_buckets.attempts + 1 ELSE 1 END, \
         window_start = CASE WHEN throttle_buckets.window_start > $3 \
           THEN throttle_buckets.window_start ELSE excluded.window_start END"
    } else {
        "INSERT INTO throttle_buckets (key, window_start, attempts) VALUES (?1, ?2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
         attempts = CASE WHEN throttle_buckets.window_start > ?3 \
           THEN throttle_buckets.attempts + 1 ELSE 1 END, \
         window_start = CASE WHEN throttle_buckets.window_start > ?3 \
           THEN throttle_buckets.window_start ELSE excluded.window_start END"
    };
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [key.into(), now.into(), cutoff.into()],
    ))
    .await?;
    Ok(())
}

/// Forgets the attempts against `key` (after a successful sign-in).
pub async fn clear(db: &Db, key: &str) -> Result<(), DbErr> {
    throttle_bucket::Entity::delete_by_id(key.to_owned())
        .exec(db.maintenance())
        .await?;
    Ok(())
}
