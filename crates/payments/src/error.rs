//! Errors of the payments crate.

use aqueduct_billing::BillingError;
use sea_orm::{DbErr, SqlErr};

/// What can go wrong with payments.
#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    /// No such object in this association.
    #[error("not found")]
    NotFound,
    /// Stripe is not configured on this deployment.
    #[error("online payments are not configured on this server")]
    NotConfigured,
    /// The association cannot take payments yet (or any more).
    #[error("{0}")]
    PaymentsDisabled(String),
    /// Input that does not describe a valid request.
    #[error("{0}")]
    Invalid(String),
    /// Conflicts with what exists (e.g. an idempotency key reused differently).
    #[error("{0}")]
    Conflict(String),
    /// Stripe refused or failed; the text is for logs.
    #[error("stripe: {0}")]
    Stripe(String),
    /// Stripe refused the request for a reason the client can act on.
    #[error("{0}")]
    StripeRefused(String),
    /// The ledger refused.
    #[error(transparent)]
    Billing(#[from] BillingError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Whether `err` is a unique violation naming one of `names`.
pub(crate) fn is_unique(err: &DbErr, names: &[&str]) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(msg)) if names.iter().any(|n| msg.contains(n)))
}
