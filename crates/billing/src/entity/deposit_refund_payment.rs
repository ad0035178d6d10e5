//! `deposit_refund_payments`: how a deposit refund owed was paid out, one
//! row per refund.

use sea_orm::entity::prelude::*;

/// A deposit refund payment row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deposit_refund_payments")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Payment id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The (closed) account the refund is owed to.
    pub account_id: Uuid,
    /// The `deposit_refund` ledger entry paid.
    pub refund_entry_id: Uuid,
    /// The entry that paid it.
    pub ledger_entry_id: Uuid,
    /// Cents paid.
    pub amount_cents: i64,
    /// check | ach | cash | other | applied.
    pub method: String,
    /// The check's number (method `check`).
    pub check_number: Option<String>,
    /// Free text: the transfer's reference, a note.
    pub reference: Option<String>,
    /// The account the credit was applied to (method `applied`).
    pub applied_to_account_id: Option<Uuid>,
    /// Day paid.
    pub paid_on: Date,
    /// The request's idempotency key.
    pub idempotency_key: String,
    /// Who recorded it (`user:…`, `api_key:…`).
    pub recorded_by: String,
    /// When it was recorded.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
