//! sea-orm entities for the billing tables. Data only.

pub mod account;
pub mod meter;
pub mod occupancy;
pub mod service_location;

macro_rules! tenant_owned {
    ($($m:ident),*) => {$(
        impl aqueduct_tenant::TenantOwned for $m::Entity {
            fn tenant_column() -> Self::Column {
                $m::Column::TenantId
            }
        }
    )*};
}
tenant_owned!(account, meter, occupancy, service_location);
