//! Throttling of sign-in, password reset and sign-up attempts, per client
//! address and per account, in fixed windows stored in the database (so it
//! holds across replicas). A window ends by itself: no permanent lockout.

use crate::db::Db;
use crate::entity::throttle_bucket;
use aqueduct_core::Clock;
use chrono::Duration;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::OnConflict,
    sea_query::{Expr, ExprTrait},
};
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
/// one is over.
pub async fn hit(db: &Db, clock: &dyn Clock, key: &str, limit: Limit) -> Result<(), DbErr> {
    let now = clock.now();
    let bumped = throttle_bucket::Entity::update_many()
        .col_expr(
            throttle_bucket::Column::Attempts,
            Expr::col(throttle_bucket::Column::Attempts).add(1),
        )
        .filter(throttle_bucket::Column::Key.eq(key))
        .filter(throttle_bucket::Column::WindowStart.gt(now - limit.window))
        .exec(db.maintenance())
        .await?;
    if bumped.rows_affected == 0 {
        throttle_bucket::Entity::insert(throttle_bucket::ActiveModel {
            key: Set(key.to_owned()),
            window_start: Set(now),
            attempts: Set(1),
        })
        .on_conflict(
            OnConflict::column(throttle_bucket::Column::Key)
                .update_columns([
                    throttle_bucket::Column::WindowStart,
                    throttle_bucket::Column::Attempts,
                ])
                .to_owned(),
        )
        .exec_without_returning(db.maintenance())
        .await?;
    }
    Ok(())
}

/// Forgets the attempts against `key` (after a successful sign-in).
pub async fn clear(db: &Db, key: &str) -> Result<(), DbErr> {
    throttle_bucket::Entity::delete_by_id(key.to_owned())
        .exec(db.maintenance())
        .await?;
    Ok(())
}
