//! `ledger_period_totals`: one row per summary entry the retention job
//! wrote in place of one account's payment entries of one calendar month
//! (one kind, one pair of sides). `state` is `open` only inside the job's
//! transaction: the database lets those entries be deleted only then.

use sea_orm::entity::prelude::*;

/// One period total.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_period_totals")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The customer account.
    pub account_id: Uuid,
    /// `YYYY-MM` of the entries' effective date.
    pub period: String,
    /// Entry kind (payment, refund, dispute_hold, reversal).
    pub kind: String,
    /// General-ledger account debited.
    pub debit: String,
    /// General-ledger account credited.
    pub credit: String,
    /// Entries replaced (an earlier summary counts as one).
    pub entries: i32,
    /// Their total, in cents (the summary entry's amount).
    pub amount_cents: i64,
    /// The summary entry.
    pub summary_entry_id: Uuid,
    /// `open` during the job's transaction, `closed` after.
    pub state: String,
    /// When (UTC).
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
