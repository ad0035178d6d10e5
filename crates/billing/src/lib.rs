#![doc = include_str!("../README.md")]

pub mod accounts;
pub mod entity;
mod error;
pub mod locations;
pub mod meters;

pub use error::BillingError;
