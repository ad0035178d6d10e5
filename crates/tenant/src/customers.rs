//! Customer logins: a person (a row of `users`) holds accounts of an
//! association, each linked by proving account number + service ZIP or by
//! a staff invitation. Every query runs in the association's transaction.

use crate::db::TenantTx;
use crate::entity::customer_link;
use crate::scoped;
use aqueduct_core::{AccountId, Clock, UserId};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::OnConflict,
};

/// How an account came to be linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The customer proved account number + service ZIP.
    Proof,
    /// Staff invited the customer to the account.
    Invitation,
}

impl Via {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Proof => "proof",
            Via::Invitation => "invitation",
        }
    }
}

/// Links `account` to `user` (idempotent). Returns whether it is new.
pub async fn link(
    tx: &TenantTx,
    clock: &dyn Clock,
    user: UserId,
    account: AccountId,
    via: Via,
    linked_by: &str,
) -> Result<bool, DbErr> {
    if is_linked(tx, user, account).await? {
        return Ok(false);
    }
    customer_link::Entity::insert(customer_link::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(uuid::Uuid::now_v7()),
        user_id: Set(user.uuid()),
        account_id: Set(account.uuid()),
        via: Set(via.as_str().to_owned()),
        linked_by: Set(linked_by.to_owned()),
        created_at: Set(clock.now()),
    })
    .on_conflict(
        OnConflict::columns([
            customer_link::Column::TenantId,
            customer_link::Column::UserId,
            customer_link::Column::AccountId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(tx.conn())
    .await?;
    Ok(true)
}

/// The accounts `user` holds in the transaction's association, oldest
/// link first.
pub async fn accounts_of(tx: &TenantTx, user: UserId) -> Result<Vec<AccountId>, DbErr> {
    Ok(scoped::<customer_link::Entity>(tx)
        .filter(customer_link::Column::UserId.eq(user.uuid()))
        .order_by_asc(customer_link::Column::CreatedAt)
        .order_by_asc(customer_link::Column::Id)
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|l| AccountId::from_uuid(l.account_id))
        .collect())
}

/// [`accounts_of`] in association `ctx`, in one round trip of its own
/// (`Db::read_once`).
pub async fn accounts_of_once(
    db: &crate::Db,
    ctx: &crate::TenantCtx,
    user: UserId,
) -> Result<Vec<AccountId>, DbErr> {
    Ok(db
        .read_once(
            ctx,
            customer_link::Entity::find()
                .filter(customer_link::Column::UserId.eq(user.uuid()))
                .order_by_asc(customer_link::Column::CreatedAt)
                .order_by_asc(customer_link::Column::Id),
        )
        .await?
        .into_iter()
        .map(|l| AccountId::from_uuid(l.account_id))
        .collect())
}

/// Whether `user` holds `account` in the transaction's association.
pub async fn is_linked(tx: &TenantTx, user: UserId, account: AccountId) -> Result<bool, DbErr> {
    Ok(scoped::<customer_link::Entity>(tx)
        .filter(customer_link::Column::UserId.eq(user.uuid()))
        .filter(customer_link::Column::AccountId.eq(account.uuid()))
        .one(tx.conn())
        .await?
        .is_some())
}
