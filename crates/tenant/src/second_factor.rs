//! A person's second factor: TOTP enrolment (a secret shown once as an
//! `otpauth://` URI, active only after a valid code), verification with a
//! ±1 step window and no replay, and ten single-use recovery codes stored
//! as SHA-256. People are platform-wide, so these tables carry no tenant.

use crate::db::{Db, TenantTx};
use crate::entity::{recovery_code, tenant, user_totp};
use crate::otp;
use crate::sessions::{hash_token, random_hex};
use aqueduct_core::{Clock, Secret, UserId};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, sea_query::OnConflict,
};

/// Issuer shown in authenticator apps.
pub const ISSUER: &str = "Aqueduct";
/// How many recovery codes a confirmation issues.
pub const RECOVERY_CODES: usize = 10;

/// What an enrolment start hands out (once).
#[derive(Debug)]
pub struct Enrolment {
    /// The secret in base32, for typing into an app.
    pub secret: Secret,
    /// `otpauth://totp/…`, for a QR code.
    pub uri: Secret,
}

/// How a presented code was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// A current TOTP code.
    Totp,
    /// An unused recovery code (now used).
    RecoveryCode,
    /// Wrong, replayed, used, or no second factor.
    Refused,
}

/// Whether `user` has a confirmed TOTP.
pub async fn is_enabled(db: &Db, user: UserId) -> Result<bool, DbErr> {
    Ok(user_totp::Entity::find_by_id(user.uuid())
        .one(db.maintenance())
        .await?
        .is_some_and(|r| r.confirmed_at.is_some()))
}

/// Starts (or restarts) enrolment with a new secret; `None` when a
/// confirmed TOTP already exists (disable it first).
pub async fn begin(
    db: &Db,
    clock: &dyn Clock,
    user: UserId,
    account_name: &str,
) -> Result<Option<Enrolment>, DbErr> {
    if is_enabled(db, user).await? {
        return Ok(None);
    }
    let mut key = [0u8; 20];
    getrandom::fill(&mut key).map_err(|e| DbErr::Custom(format!("no randomness: {e}")))?;
    let secret = otp::base32_encode(&key);
    let stored = match db.seal_key() {
        Some(k) => k
            .seal(&secret, user.uuid().as_bytes())
            .map_err(DbErr::Custom)?,
        None => secret.clone(),
    };
    user_totp::Entity::insert(user_totp::ActiveModel {
        user_id: Set(user.uuid()),
        secret: Set(stored),
        created_at: Set(clock.now()),
        confirmed_at: Set(None),
        last_step: Set(0),
    })
    .on_conflict(
        OnConflict::column(user_totp::Column::UserId)
            .update_columns([
                user_totp::Column::Secret,
                user_totp::Column::CreatedAt,
                user_totp::Column::ConfirmedAt,
                user_totp::Column::LastStep,
            ])
            .to_owned(),
    )
    .exec_without_returning(db.maintenance())
    .await?;
    let uri = otp::otpauth_uri(ISSUER, account_name, &secret);
    Ok(Some(Enrolment {
        secret: Secret::new(secret),
        uri: Secret::new(uri),
    }))
}

/// Accepts `code` for `user`'s secret if it matches a step in the window
/// that is later than the last accepted one (claimed atomically, so two
/// requests with the same code cannot both pass).
async fn accept_code(
    db: &Db,
    clock: &dyn Clock,
    row: &user_totp::Model,
    code: &str,
) -> Result<bool, DbErr> {
    let plain = if crate::sealed::is_sealed(&row.secret) {
        match db
            .seal_key()
            .and_then(|k| k.open(&row.secret, row.user_id.as_bytes()))
        {
            Some(p) => p,
            None => {
                tracing::error!("a sealed TOTP key does not open: is auth.totp_key right?");
                return Ok(false);
            }
        }
    } else {
        row.secret.clone()
    };
    let Some(key) = otp::base32_decode(&plain) else {
        return Ok(false);
    };
    let now_step = otp::step_at(clock.now().timestamp());
    let Some(step) = otp::matching_step(&key, now_step, code) else {
        return Ok(false);
    };
    if step <= row.last_step {
        return Ok(false);
    }
    let claimed = user_totp::Entity::update_many()
        .col_expr(user_totp::Column::LastStep, step.into())
        .filter(user_totp::Column::UserId.eq(row.user_id))
        .filter(user_totp::Column::LastStep.lt(step))
        .exec(db.maintenance())
        .await?;
    Ok(claimed.rows_affected == 1)
}

fn normalize_recovery(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Confirms a pending enrolment with a valid code; returns the recovery
/// codes (shown once; earlier ones are void), or `None` for a wrong code.
pub async fn confirm(
    db: &Db,
    clock: &dyn Clock,
    user: UserId,
    code: &str,
) -> Result<Option<Vec<Secret>>, DbErr> {
    let Some(row) = user_totp::Entity::find_by_id(user.uuid())
        .one(db.maintenance())
        .await?
        .filter(|r| r.confirmed_at.is_none())
    else {
        return Ok(None);
    };
    if !accept_code(db, clock, &row, code).await? {
        return Ok(None);
    }
    user_totp::Entity::update_many()
        .col_expr(user_totp::Column::ConfirmedAt, Some(clock.now()).into())
        .filter(user_totp::Column::UserId.eq(user.uuid()))
        .exec(db.maintenance())
        .await?;
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user.uuid()))
        .exec(db.maintenance())
        .await?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let mut rows = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let raw = random_hex(8)?;
        let shown = format!(
            "{}-{}-{}-{}",
            &raw[..4],
            &raw[4..8],
            &raw[8..12],
            &raw[12..]
        );
        rows.push(recovery_code::ActiveModel {
            code_hash: Set(hash_token(&normalize_recovery(&shown))),
            user_id: Set(user.uuid()),
            created_at: Set(clock.now()),
            used_at: Set(None),
        });
        codes.push(Secret::new(shown));
    }
    recovery_code::Entity::insert_many(rows)
        .exec_without_returning(db.maintenance())
        .await?;
    Ok(Some(codes))
}

/// Checks a second-factor code: a TOTP code (6 digits) or a recovery code
/// (used up by this call).
pub async fn verify(
    db: &Db,
    clock: &dyn Clock,
    user: UserId,
    code: &str,
) -> Result<Verified, DbErr> {
    let Some(row) = user_totp::Entity::find_by_id(user.uuid())
        .one(db.maintenance())
        .await?
        .filter(|r| r.confirmed_at.is_some())
    else {
        return Ok(Verified::Refused);
    };
    let trimmed = code.trim();
    if trimmed.len() == otp::DIGITS as usize && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(if accept_code(db, clock, &row, trimmed).await? {
            Verified::Totp
        } else {
            Verified::Refused
        });
    }
    let hash = hash_token(&normalize_recovery(code));
    let used = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Some(clock.now()).into())
        .filter(recovery_code::Column::CodeHash.eq(hash))
        .filter(recovery_code::Column::UserId.eq(user.uuid()))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(db.maintenance())
        .await?;
    Ok(if used.rows_affected == 1 {
        Verified::RecoveryCode
    } else {
        Verified::Refused
    })
}

/// Unused recovery codes left.
pub async fn recovery_codes_left(db: &Db, user: UserId) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user.uuid()))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(db.maintenance())
        .await
}

/// Removes `user`'s second factor and recovery codes.
pub async fn disable(db: &Db, user: UserId) -> Result<(), DbErr> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user.uuid()))
        .exec(db.maintenance())
        .await?;
    user_totp::Entity::delete_by_id(user.uuid())
        .exec(db.maintenance())
        .await?;
    Ok(())
}

/// Sets whether the transaction's association requires a second factor of
/// its staff (an admin action; audit it in the same transaction).
pub async fn set_staff_required(tx: &TenantTx, required: bool) -> Result<(), DbErr> {
    tenant::Entity::update_many()
        .col_expr(tenant::Column::StaffTotpRequired, required.into())
        .filter(tenant::Column::Id.eq(tx.tenant_id().uuid()))
        .exec(tx.conn())
        .await?;
    Ok(())
}
