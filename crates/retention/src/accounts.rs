//! Reading customer accounts (the billing crate's table) for retention.

use aqueduct_billing::entity::account;
use aqueduct_core::AccountId;
use aqueduct_tenant::{TenantTx, scoped};
use sea_orm::{ColumnTrait, DbErr, QueryFilter};

/// One account of the transaction's association.
pub async fn find(tx: &TenantTx, id: AccountId) -> Result<Option<account::Model>, DbErr> {
    scoped::<account::Entity>(tx)
        .filter(account::Column::Id.eq(id.uuid()))
        .one(tx.conn())
        .await
}

/// One account by its number.
pub async fn by_number(tx: &TenantTx, number: &str) -> Result<Option<account::Model>, DbErr> {
    scoped::<account::Entity>(tx)
        .filter(account::Column::AccountNumber.eq(number))
        .one(tx.conn())
        .await
}
