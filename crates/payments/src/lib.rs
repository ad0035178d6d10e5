#![doc = include_str!("../README.md")]

pub mod autopay;
pub mod checkout;
pub mod connect;
pub mod disputes;
pub mod entity;
mod error;
pub mod events;
pub mod fees;
pub mod ledger;
mod notices;
pub mod payouts;
pub mod refunds;
pub mod signature;
mod stripe_client;
pub mod sweep;
pub mod webhook;

pub use error::PaymentsError;
pub use stripe_client::{Stripe, StripeSettings};

/// The job kind that processes one received Stripe event.
pub const EVENT_JOB: &str = "stripe.event";

/// The job kind of the daily autopay run.
pub const AUTOPAY_JOB: &str = "payments.autopay";
/// The job kind of the reconciliation sweep.
pub const SWEEP_JOB: &str = "payments.sweep";
/// The job kind that reconciles one payout with the ledger.
pub const PAYOUT_JOB: &str = "payments.payout";
/// The job kind that reads a saved autopay method's brand and last four
/// from Stripe.
pub const AUTOPAY_METHOD_JOB: &str = "payments.autopay_method";
