#![doc = include_str!("../README.md")]

pub mod accounts;
pub mod aging;
pub mod bill_runs;
pub mod bills;
mod bulk;
pub mod consumption;
pub mod customer_imports;
pub mod deposit_refunds;
pub mod entity;
mod error;
pub mod estimates;
pub mod finalize_job;
pub mod impact;
pub mod imports;
pub mod late_fees;
pub mod ledger;
pub mod lifecycle;
pub mod locations;
pub mod mappings;
pub mod meters;
pub mod notices;
pub mod payment_plans;
pub mod rates;
pub mod reads;
pub mod reports;
pub mod statement;
pub mod summary;
pub mod true_up;

pub use error::BillingError;
