//! Errors of the billing crate.

use sea_orm::{DbErr, SqlErr};

/// What can go wrong in billing.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// No such object in this association.
    #[error("not found")]
    NotFound,
    /// Another account of the association has this number.
    #[error("account number already in use")]
    AccountNumberTaken,
    /// Another meter of the association has this serial.
    #[error("meter serial already in use")]
    MeterSerialTaken,
    /// Conflicts with stored data (a name in use, an external id reused
    /// for a different posting).
    #[error("{0}")]
    Conflict(String),
    /// A long job stopped before the end (as asked, or killed); running it
    /// again resumes.
    #[error("interrupted; run it again to resume")]
    Interrupted,
    /// Input that does not describe a valid value.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Maps a unique violation naming one of `names` to `then`, anything else
/// to a database error.
pub(crate) fn unique_or(err: DbErr, names: &[&str], then: BillingError) -> BillingError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(msg)) if names.iter().any(|n| msg.contains(n)) => {
            then
        }
        _ => BillingError::Db(err),
    }
}
