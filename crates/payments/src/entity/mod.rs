//! sea-orm entities for the payments tables. Data only.

pub mod autopay_charge;
pub mod autopay_mandate;
pub mod dispute;
pub mod payment;
pub mod payment_settings;
pub mod payout;
pub mod payout_item;
pub mod refund;
pub mod stripe_account;
pub mod stripe_event;

macro_rules! tenant_owned {
    ($($m:ident),*) => {$(
        impl aqueduct_tenant::TenantOwned for $m::Entity {
            fn tenant_column() -> Self::Column {
                $m::Column::TenantId
            }
        }
    )*};
}
tenant_owned!(stripe_account, payment, refund, dispute, payment_settings);
tenant_owned!(autopay_mandate, autopay_charge, payout, payout_item);
