//! The `aqueduct` binary's library: configuration, commands and wiring.
//! `main.rs` only parses the command line and calls in here, so tests can
//! drive the same code.

pub mod backup;
pub mod cli;
pub mod config;
pub mod database;
pub mod demo;
pub mod health;
pub mod limits;
pub mod otel;
pub mod restore;
pub mod retention;
pub mod schedule;
pub mod serve;
pub mod telemetry;
pub mod tls;
pub mod worker;
