#![doc = include_str!("../README.md")]

pub mod accounts;
pub mod archive;
pub mod backup;
pub mod entity;
pub mod erasure;
mod error;
pub mod export;
pub mod holds;
pub mod job;
pub mod payment_records;
pub mod policy;
pub mod usage;

pub use error::RetentionError;
