//! sea-orm entities for the billing tables. Data only.

pub mod account;
pub mod account_closure;
pub mod bill;
pub mod bill_run;
pub mod bill_void;
pub mod deposit_refund_payment;
pub mod estimate_setting;
pub mod import_mapping;
pub mod late_fee_rule;
pub mod ledger_entry;
pub mod meter;
pub mod meter_change;
pub mod meter_read;
pub mod occupancy;
pub mod payment_in_flight;
pub mod payment_plan;
pub mod rate_schedule;
pub mod rate_schedule_version;
pub mod service_location;
pub mod usage_aggregate;
pub mod usage_aggregated_account;

macro_rules! tenant_owned {
    ($($m:ident),*) => {$(
        impl aqueduct_tenant::TenantOwned for $m::Entity {
            fn tenant_column() -> Self::Column {
                $m::Column::TenantId
            }
        }
    )*};
}
tenant_owned!(
    account,
    bill,
    bill_run,
    bill_void,
    deposit_refund_payment,
    import_mapping,
    late_fee_rule,
    ledger_entry,
    meter,
    meter_read,
    occupancy,
    payment_in_flight,
    rate_schedule,
    rate_schedule_version,
    service_location,
    payment_plan,
    account_closure,
    meter_change,
    estimate_setting,
    usage_aggregate,
    usage_aggregated_account
);
