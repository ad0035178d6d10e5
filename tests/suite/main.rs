//! The end-to-end suite: the real router and the real `aqueduct` binary
//! against real databases. Every database test runs on SQLite and, when
//! `TEST_DATABASE_URL` names a PostgreSQL server, on PostgreSQL too, each in
//! a fresh database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod support;

mod api;
mod cli;
mod cross_tenant;
mod deploy;
mod identity;
mod identity_ops;
mod isolation;
mod jobs;
mod second_factor;
mod staff;
mod tenant_admin;
mod tls;
