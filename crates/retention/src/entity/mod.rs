//! The retention tables (see the migration `m20261126_600001_retention`).

pub mod anonymised_account;
pub mod erasure_request;
pub mod ledger_period_total;
pub mod legal_hold;
pub mod retention_policy;

use aqueduct_tenant::TenantOwned;

macro_rules! tenant_owned {
    ($($m:ident),*) => {$(
        impl TenantOwned for $m::Entity {
            fn tenant_column() -> Self::Column {
                $m::Column::TenantId
            }
        }
    )*};
}
tenant_owned!(
    anonymised_account,
    erasure_request,
    ledger_period_total,
    legal_hold,
    retention_policy
);
