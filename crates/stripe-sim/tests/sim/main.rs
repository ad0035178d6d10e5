//! Integration tests: the sim over HTTP, parsed with async-stripe's own types.
#![expect(
    clippy::unwrap_used,
    reason = "test harness helpers outside #[test] fns: a panic is a failed test"
)]

mod client;
mod common;
mod faithfulness;
mod flows;
mod protocol;
mod webhooks;
