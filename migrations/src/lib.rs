#![doc = include_str!("../README.md")]

pub use sea_orm_migration::prelude::*;

pub mod app_role;
mod m20261126_000001_foundation;
mod m20261126_000002_jobs;
mod m20261126_000101_meter_reads;
mod m20261126_000102_import_mappings;
mod m20261126_000103_ledger;
mod m20261126_000104_bill_runs;
mod m20261126_000105_late_fees;
mod m20261126_000201_payments;
mod m20261126_000301_identity;
mod m20261126_000302_second_factor;
mod m20261126_000303_staff;
mod m20261126_600001_retention;
mod m20261126_600002_scheduled_runs;
mod m20261127_0001_payment_plans;
mod m20261127_000201_payment_settings;
mod m20261127_000301_sso;
mod m20261127_000302_totp_sealed;
mod m20261127_0004_notifications;
mod m20261127_000501_branding;
mod m20261127_000601_drop_scheduled_runs;
mod m20261128_01_customers;
mod m20261128_02_bill_pdf_setting;
mod m20261128_03_lifecycle;
mod m20261128_04_autopay_payouts;
mod m20261128_060001_notice_rules;
mod m20261128_070001_backup_records;
mod m20261129_01_token_scope;
mod m20261129_02_usage_alert_summary;
mod m20261129_03_bill_run_kind;
mod m20261129_10_retention_payments_usage;
mod m20261129_20_autopay_move;
mod m20261129_30_api_key_last_used;
mod m20261129_40_branding_logo;
mod m20261130_01_auth_notify;
mod m20261130_10_deposit_refunds;
mod m20261201_01_customer_links_notify;
mod m20261201_01_meter_reads_tenant_fk;
pub mod rls;
pub mod schema;

/// Every migration, in order.
#[derive(Debug)]
pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_foundation::Migration),
            Box::new(m20261126_000002_jobs::Migration),
            Box::new(m20261126_000301_identity::Migration),
            Box::new(m20261126_000101_meter_reads::Migration),
            Box::new(m20261126_000102_import_mappings::Migration),
            Box::new(m20261126_000103_ledger::Migration),
            Box::new(m20261126_000104_bill_runs::Migration),
            Box::new(m20261126_000105_late_fees::Migration),
            Box::new(m20261126_600001_retention::Migration),
            Box::new(m20261126_600002_scheduled_runs::Migration),
            Box::new(m20261126_000201_payments::Migration),
            Box::new(m20261126_000302_second_factor::Migration),
            Box::new(m20261126_000303_staff::Migration),
            Box::new(m20261127_000601_drop_scheduled_runs::Migration),
            Box::new(m20261127_000501_branding::Migration),
            Box::new(m20261127_0001_payment_plans::Migration),
            Box::new(m20261127_000201_payment_settings::Migration),
            Box::new(m20261127_000301_sso::Migration),
            Box::new(m20261127_000302_totp_sealed::Migration),
            Box::new(m20261127_0004_notifications::Migration),
            Box::new(m20261128_02_bill_pdf_setting::Migration),
            Box::new(m20261128_04_autopay_payouts::Migration),
            Box::new(m20261128_070001_backup_records::Migration),
            Box::new(m20261128_03_lifecycle::Migration),
            Box::new(m20261128_060001_notice_rules::Migration),
            Box::new(m20261128_01_customers::Migration),
            Box::new(m20261129_01_token_scope::Migration),
            Box::new(m20261129_02_usage_alert_summary::Migration),
            Box::new(m20261129_03_bill_run_kind::Migration),
            Box::new(m20261129_10_retention_payments_usage::Migration),
            Box::new(m20261129_20_autopay_move::Migration),
            Box::new(m20261129_30_api_key_last_used::Migration),
            Box::new(m20261129_40_branding_logo::Migration),
            Box::new(m20261130_01_auth_notify::Migration),
            Box::new(m20261130_10_deposit_refunds::Migration),
            Box::new(m20261201_01_customer_links_notify::Migration),
            Box::new(m20261201_01_meter_reads_tenant_fk::Migration),
        ]
    }
}

/// Names of all migrations this build knows, in order.
pub fn known_migrations() -> Vec<String> {
    Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect()
}
