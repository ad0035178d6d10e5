#![doc = include_str!("../README.md")]

pub mod checkout;
pub mod connect;
pub mod disputes;
pub mod entity;
mod error;
pub mod events;
pub mod fees;
pub mod ledger;
mod notices;
pub mod refunds;
pub mod signature;
mod stripe_client;
pub mod webhook;

pub use error::PaymentsError;
pub use stripe_client::{Stripe, StripeSettings};

/// The job kind that processes one received Stripe event.
pub const EVENT_JOB: &str = "stripe.event";
