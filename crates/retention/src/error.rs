//! Errors of the retention domain.

use sea_orm::DbErr;

/// Why a retention operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// A policy shorter than the legal minimum was asked for.
    #[error("a retention period of {years} years is below the minimum of {minimum} years")]
    BelowMinimum {
        /// Asked for.
        years: u32,
        /// The configured floor.
        minimum: u32,
    },
    /// No such object in this association.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The hold was already released.
    #[error("that legal hold is already released")]
    AlreadyReleased,
    /// A reason is required.
    #[error("a reason is required")]
    ReasonRequired,
    /// Building an export failed.
    #[error("export: {0}")]
    Export(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbErr),
}
