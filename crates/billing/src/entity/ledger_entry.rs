//! `ledger_entries`: append-only; each row moves `amount_cents` from the
//! `credit` account to the `debit` account, so every posting balances.

use sea_orm::entity::prelude::*;

/// A ledger entry row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Entry id (UUIDv7: posting order).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Customer account.
    pub account_id: Uuid,
    /// charge | payment | credit | adjustment | refund | deposit | late_fee |
    /// write_off | dispute_hold | reversal.
    pub kind: String,
    /// General-ledger account debited.
    pub debit: String,
    /// General-ledger account credited.
    pub credit: String,
    /// Cents, > 0.
    pub amount_cents: i64,
    /// Accounting date.
    pub effective_on: Date,
    /// When it was written.
    pub posted_at: DateTimeUtc,
    /// Caller's idempotency id (Stripe object, bill, job run).
    pub external_id: Option<String>,
    /// The entry this one reverses.
    pub reverses_id: Option<Uuid>,
    /// The bill it belongs to.
    pub bill_id: Option<Uuid>,
    /// For people.
    pub memo: String,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
