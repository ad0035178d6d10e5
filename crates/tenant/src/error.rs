//! Errors of the tenant crate.

use sea_orm::{DbErr, SqlErr};

/// What can go wrong with associations, users and keys.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// Another association already uses this slug.
    #[error("the slug is already taken")]
    SlugTaken,
    /// Another user already has this email.
    #[error("a user with this email already exists")]
    EmailTaken,
    /// The change would leave the association without an admin.
    #[error("an association keeps at least one admin")]
    LastAdmin,
    /// Input that does not describe a valid value.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Whether `err` is a unique violation of the constraint or column `name`
/// (PostgreSQL reports the constraint, SQLite the `table.column`).
pub(crate) fn is_unique_violation(err: &DbErr, names: &[&str]) -> bool {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(msg)) => names.iter().any(|n| msg.contains(n)),
        _ => false,
    }
}
