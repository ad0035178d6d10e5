//! The end-to-end suite: the real router and the real `aqueduct` binary
//! against real databases. Every database test runs on SQLite and, when
//! `TEST_DATABASE_URL` names a PostgreSQL server, on PostgreSQL too, each in
//! a fresh database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod support;

mod api;
mod audit_view;
mod backup;
mod bill_runs;
mod branding_logo;
mod cancellation;
mod cli;
mod concurrency;
mod cross_tenant;
mod customer_imports;
mod customers;
mod dashboard;
mod demo;
mod deploy;
mod deposit_refunds;
mod documents;
mod dsar;
mod fast_paths;
mod identity;
mod identity_ops;
mod imports;
mod isolation;
mod jobs;
mod late_fees;
mod ledger;
mod lifecycle;
mod limits;
mod log_secrets;
mod notifications;
mod notify_triggers;
mod openapi;
mod otel;
mod payment_plans;
mod payments;
mod privacy_routes;
mod rate_impact;
mod rates_pages;
mod reads;
mod replicas;
mod reports;
mod retention;
mod schedule;
mod second_factor;
mod sso;
mod sso_hardening;
mod staff;
mod tenant_admin;
mod throttle_race;
mod tls;
mod totp_at_rest;
mod true_up;
mod web;
mod web_admin_pages;
mod web_pages;
