//! The ledger: every charge, payment, credit, adjustment, refund, deposit,
//! late fee, write-off and dispute hold is an entry in integer cents.
//!
//! **Double entry, one row per transfer.** Each row moves `amount_cents`
//! (> 0) from its `credit` general-ledger account to its `debit` account
//! (`receivable`, `revenue`, `cash`, `deposits`, `bad_debt`), and the
//! database refuses a row whose two sides are the same account. A posting
//! is therefore balanced by construction: the trial balance (debits minus
//! credits over all accounts) is zero whatever is posted. The customer's
//! balance is what the `receivable` account holds for them.
//!
//! **Never edited.** The table is append-only in the database (triggers
//! refuse UPDATE, DELETE and TRUNCATE); a correction is a `reversal`, which
//! swaps the sides of the entry it reverses and can exist once per entry
//! (a unique key on `reverses_id`).
//!
//! **Idempotent.** Posts carry an external id (a Stripe object id, a bill
//! id, a job run); a unique key on (tenant, external id) and
//! `INSERT … ON CONFLICT DO NOTHING` make a repeat return the first entry.

use crate::entity::{ledger_entry, payment_in_flight};
use crate::error::BillingError;
use aqueduct_core::{AccountId, BillId, Clock, LedgerEntryId, Money};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde::Serialize;

/// General-ledger accounts of an association.
pub mod gl {
    /// What customers owe.
    pub const RECEIVABLE: &str = "receivable";
    /// Earned from bills and fees.
    pub const REVENUE: &str = "revenue";
    /// Money received.
    pub const CASH: &str = "cash";
    /// Customer deposits held (a liability).
    pub const DEPOSITS: &str = "deposits";
    /// Uncollectible balances written off.
    pub const BAD_DEBT: &str = "bad_debt";
    /// Clearing account of transfers between two customer accounts (a
    /// balance or a deposit moved when a customer moves): every transfer
    /// posts both halves, so it nets to zero.
    pub const TRANSFERS: &str = "transfers";
    /// Every account, for the trial balance.
    pub const ALL: [&str; 6] = [RECEIVABLE, REVENUE, CASH, DEPOSITS, BAD_DEBT, TRANSFERS];
}

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A bill's charges: receivable ← revenue.
    Charge,
    /// Money received: cash ← receivable.
    Payment,
    /// A credit to the customer: revenue ← receivable.
    Credit,
    /// A correction that raises the balance (lowering ones are credits).
    Adjustment,
    /// Money given back: receivable ← cash.
    Refund,
    /// A deposit received: cash ← deposits.
    Deposit,
    /// A late fee: receivable ← revenue.
    LateFee,
    /// An uncollectible balance: bad debt ← receivable.
    WriteOff,
    /// A disputed payment's funds held by the bank: receivable ← cash.
    DisputeHold,
    /// Undoes another entry by swapping its sides.
    Reversal,
    /// A held deposit applied to the balance: deposits ← receivable.
    DepositApplied,
    /// A held deposit to give back: the deposit becomes a credit on the
    /// customer's balance, owed to them until paid out: deposits ←
    /// receivable. (Entries posted before deposit refunds were tracked as
    /// payables read deposits ← cash: paid at posting.)
    DepositRefund,
    /// A deposit refund paid out (check, transfer…): the credit it left is
    /// zeroed: receivable ← cash.
    DepositRefundPaid,
    /// Half of a transfer between two customer accounts; sides set by
    /// [`transfer`].
    Transfer,
}

impl EntryKind {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Charge => "charge",
            EntryKind::Payment => "payment",
            EntryKind::Credit => "credit",
            EntryKind::Adjustment => "adjustment",
            EntryKind::Refund => "refund",
            EntryKind::Deposit => "deposit",
            EntryKind::LateFee => "late_fee",
            EntryKind::WriteOff => "write_off",
            EntryKind::DisputeHold => "dispute_hold",
            EntryKind::Reversal => "reversal",
            EntryKind::DepositApplied => "deposit_applied",
            EntryKind::DepositRefund => "deposit_refund",
            EntryKind::DepositRefundPaid => "deposit_refund_paid",
            EntryKind::Transfer => "transfer",
        }
    }

    /// (debit, credit) general-ledger accounts; `None` for reversals, whose
    /// sides come from the reversed entry, and transfers, whose sides
    /// depend on the direction.
    pub fn sides(self) -> Option<(&'static str, &'static str)> {
        use gl::*;
        Some(match self {
            EntryKind::Charge | EntryKind::Adjustment | EntryKind::LateFee => (RECEIVABLE, REVENUE),
            EntryKind::Payment => (CASH, RECEIVABLE),
            EntryKind::Credit => (REVENUE, RECEIVABLE),
            EntryKind::Refund | EntryKind::DisputeHold => (RECEIVABLE, CASH),
            EntryKind::Deposit => (CASH, DEPOSITS),
            EntryKind::WriteOff => (BAD_DEBT, RECEIVABLE),
            EntryKind::DepositApplied => (DEPOSITS, RECEIVABLE),
            EntryKind::DepositRefund => (DEPOSITS, RECEIVABLE),
            EntryKind::DepositRefundPaid => (RECEIVABLE, CASH),
            EntryKind::Reversal | EntryKind::Transfer => return None,
        })
    }
}

/// An entry to post.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// Customer account.
    pub account: AccountId,
    /// What it records (not `Reversal`: use [`reverse`]).
    pub kind: EntryKind,
    /// Amount, > 0.
    pub amount: Money,
    /// Accounting date.
    pub effective_on: NaiveDate,
    /// Idempotency id; a repeat returns the first entry.
    pub external_id: Option<String>,
    /// The bill it belongs to.
    pub bill: Option<BillId>,
    /// For people.
    pub memo: String,
}

/// The result of a post.
#[derive(Debug, Clone)]
pub struct Posted {
    /// The entry (the earlier one on a repeat).
    pub entry: ledger_entry::Model,
    /// False when the external id had already been posted.
    pub created: bool,
}

fn check_external_id(id: &Option<String>) -> Result<(), BillingError> {
    match id {
        Some(x) if x.is_empty() || x.len() > 128 => Err(BillingError::Invalid(
            "an external id is 1 to 128 characters".into(),
        )),
        _ => Ok(()),
    }
}

async fn insert_idempotent(
    tx: &TenantTx,
    row: ledger_entry::ActiveModel,
    id: uuid::Uuid,
    lookup: ledger_entry::Column,
    key: sea_orm::Value,
) -> Result<(ledger_entry::Model, bool), BillingError> {
    let inserted = ledger_entry::Entity::insert(row.clone())
        .on_conflict_do_nothing_on([ledger_entry::Column::TenantId, lookup])
        .exec_without_returning(tx.conn())
        .await?;
    let created = matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0);
    let found = if created {
        scoped::<ledger_entry::Entity>(tx)
            .filter(ledger_entry::Column::Id.eq(id))
            .one(tx.conn())
            .await?
    } else {
        scoped::<ledger_entry::Entity>(tx)
            .filter(lookup.eq(key))
            .one(tx.conn())
            .await?
    };
    let entry = found.ok_or_else(|| BillingError::Invalid("ledger entry vanished".into()))?;
    Ok((entry, created))
}

/// Posts one entry. With an external id already posted, returns that
/// entry if it matches (account, kind, amount) and a conflict otherwise.
pub async fn post(tx: &TenantTx, clock: &dyn Clock, new: NewEntry) -> Result<Posted, BillingError> {
    let Some((debit, credit)) = new.kind.sides() else {
        return Err(BillingError::Invalid(
            "post a reversal with reverse() and a transfer with transfer()".into(),
        ));
    };
    if new.amount.cents <= 0 {
        return Err(BillingError::Invalid("a ledger amount is positive".into()));
    }
    check_external_id(&new.external_id)?;
    crate::accounts::get(tx, new.account).await?;
    let id = LedgerEntryId::new().uuid();
    let row = ledger_entry::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(id),
        account_id: Set(new.account.uuid()),
        kind: Set(new.kind.as_str().into()),
        debit: Set(debit.into()),
        credit: Set(credit.into()),
        amount_cents: Set(new.amount.cents),
        effective_on: Set(new.effective_on),
        posted_at: Set(clock.now()),
        external_id: Set(new.external_id.clone()),
        reverses_id: Set(None),
        bill_id: Set(new.bill.map(BillId::uuid)),
        memo: Set(new.memo),
    };
    let (entry, created) = match &new.external_id {
        Some(x) => {
            insert_idempotent(
                tx,
                row,
                id,
                ledger_entry::Column::ExternalId,
                x.clone().into(),
            )
            .await?
        }
        None => (row.insert(tx.conn()).await?, true),
    };
    if !created
        && (entry.account_id != new.account.uuid()
            || entry.kind != new.kind.as_str()
            || entry.amount_cents != new.amount.cents)
    {
        return Err(BillingError::Conflict(
            "that external id was posted with a different account, kind or amount".into(),
        ));
    }
    Ok(Posted { entry, created })
}

/// Inserts entries that are new by construction (a bill run's charges,
/// whose external ids name bills created in the same transaction), many per
/// statement. Skips the per-entry idempotency lookup of [`post`]; a
/// repeated external id still fails on the unique key.
pub(crate) async fn post_new_many(
    tx: &TenantTx,
    posted_at: chrono::DateTime<chrono::Utc>,
    entries: Vec<NewEntry>,
    chunk: usize,
) -> Result<(), BillingError> {
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        let (debit, credit) = e
            .kind
            .sides()
            .ok_or_else(|| BillingError::Invalid("post a reversal with reverse()".into()))?;
        if e.amount.cents <= 0 {
            return Err(BillingError::Invalid("a ledger amount is positive".into()));
        }
        rows.push(ledger_entry::ActiveModel {
            tenant_id: Set(tx.tenant_id().uuid()),
            id: Set(LedgerEntryId::new().uuid()),
            account_id: Set(e.account.uuid()),
            kind: Set(e.kind.as_str().into()),
            debit: Set(debit.into()),
            credit: Set(credit.into()),
            amount_cents: Set(e.amount.cents),
            effective_on: Set(e.effective_on),
            posted_at: Set(posted_at),
            external_id: Set(e.external_id),
            reverses_id: Set(None),
            bill_id: Set(e.bill.map(BillId::uuid)),
            memo: Set(e.memo),
        });
    }
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let part: Vec<_> = rows.by_ref().take(chunk.max(1)).collect();
        ledger_entry::Entity::insert_many(part)
            .exec_without_returning(tx.conn())
            .await?;
    }
    Ok(())
}

/// Reverses an entry (once: a second call returns the first reversal).
pub async fn reverse(
    tx: &TenantTx,
    clock: &dyn Clock,
    entry: LedgerEntryId,
    effective_on: NaiveDate,
    memo: &str,
) -> Result<Posted, BillingError> {
    let original = get(tx, entry).await?;
    if original.kind == EntryKind::Reversal.as_str() {
        return Err(BillingError::Invalid(
            "a reversal is not reversed; post the entry again".into(),
        ));
    }
    let id = LedgerEntryId::new().uuid();
    let row = ledger_entry::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(id),
        account_id: Set(original.account_id),
        kind: Set(EntryKind::Reversal.as_str().into()),
        debit: Set(original.credit.clone()),
        credit: Set(original.debit.clone()),
        amount_cents: Set(original.amount_cents),
        effective_on: Set(effective_on),
        posted_at: Set(clock.now()),
        external_id: Set(None),
        reverses_id: Set(Some(original.id)),
        bill_id: Set(original.bill_id),
        memo: Set(memo.to_owned()),
    };
    let (entry, created) = insert_idempotent(
        tx,
        row,
        id,
        ledger_entry::Column::ReversesId,
        original.id.into(),
    )
    .await?;
    Ok(Posted { entry, created })
}

/// Moves `cents` of general-ledger account `gl_account` (`receivable` or
/// `deposits`) held for customer account `from` to customer account `to`:
/// two `transfer` entries through the `transfers` clearing account,
/// idempotent on `external_id` (the halves get `…:out` and `…:in`).
/// A negative amount moves a credit (receivable) the same way.
#[allow(clippy::too_many_arguments)]
pub async fn transfer(
    tx: &TenantTx,
    clock: &dyn Clock,
    from: AccountId,
    to: AccountId,
    gl_account: &'static str,
    cents: i64,
    effective_on: NaiveDate,
    external_id: &str,
    memo: &str,
) -> Result<(), BillingError> {
    if cents == 0 || from == to {
        return Ok(());
    }
    // What `from` holds in `gl_account` leaves it; `to` receives it. For
    // receivable (an asset) holding means debit; for deposits (a liability)
    // credit.
    let asset = gl_account == gl::RECEIVABLE;
    let halves = [(from, "out", !asset), (to, "in", asset)];
    for (account, suffix, debit_side) in halves {
        let positive = cents > 0;
        let (debit, credit) = if debit_side == positive {
            (gl_account, gl::TRANSFERS)
        } else {
            (gl::TRANSFERS, gl_account)
        };
        let external = format!("{external_id}:{suffix}");
        check_external_id(&Some(external.clone()))?;
        let id = LedgerEntryId::new().uuid();
        let row = ledger_entry::ActiveModel {
            tenant_id: Set(tx.tenant_id().uuid()),
            id: Set(id),
            account_id: Set(account.uuid()),
            kind: Set(EntryKind::Transfer.as_str().into()),
            debit: Set(debit.into()),
            credit: Set(credit.into()),
            amount_cents: Set(cents.abs()),
            effective_on: Set(effective_on),
            posted_at: Set(clock.now()),
            external_id: Set(Some(external.clone())),
            reverses_id: Set(None),
            bill_id: Set(None),
            memo: Set(memo.to_owned()),
        };
        insert_idempotent(
            tx,
            row,
            id,
            ledger_entry::Column::ExternalId,
            external.into(),
        )
        .await?;
    }
    Ok(())
}

/// The deposit held for an account (cents): what its `deposits` entries
/// hold (credits minus debits).
pub fn deposit_held(entries: &[ledger_entry::Model]) -> i64 {
    entries
        .iter()
        .map(|e| {
            if e.credit == gl::DEPOSITS {
                e.amount_cents
            } else if e.debit == gl::DEPOSITS {
                -e.amount_cents
            } else {
                0
            }
        })
        .sum()
}

/// One entry.
pub async fn get(tx: &TenantTx, id: LedgerEntryId) -> Result<ledger_entry::Model, BillingError> {
    scoped::<ledger_entry::Entity>(tx)
        .filter(ledger_entry::Column::Id.eq(id.uuid()))
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)
}

/// The entry posted with this external id, if any.
pub async fn by_external_id(
    tx: &TenantTx,
    external_id: &str,
) -> Result<Option<ledger_entry::Model>, BillingError> {
    Ok(scoped::<ledger_entry::Entity>(tx)
        .filter(ledger_entry::Column::ExternalId.eq(external_id))
        .one(tx.conn())
        .await?)
}

/// An account's entries in posting order.
pub async fn for_account(
    tx: &TenantTx,
    account: AccountId,
) -> Result<Vec<ledger_entry::Model>, BillingError> {
    Ok(scoped::<ledger_entry::Entity>(tx)
        .filter(ledger_entry::Column::AccountId.eq(account.uuid()))
        .order_by_asc(ledger_entry::Column::Id)
        .all(tx.conn())
        .await?)
}

/// Every entry of the association in posting order.
pub async fn all(tx: &TenantTx) -> Result<Vec<ledger_entry::Model>, BillingError> {
    Ok(scoped::<ledger_entry::Entity>(tx)
        .order_by_asc(ledger_entry::Column::Id)
        .all(tx.conn())
        .await?)
}

/// The customer's balance (what the receivable account holds for them;
/// negative is a credit balance).
pub async fn balance(tx: &TenantTx, account: AccountId) -> Result<Money, BillingError> {
    Ok(Money::usd(crate::aging::receivable(
        &for_account(tx, account).await?,
    )))
}

// --- The functions the payments crate calls ------------------------------

/// Posts a payment received (idempotent on `external_id`, e.g. the Stripe
/// charge or PaymentIntent id) and clears the in-flight flag it may carry.
pub async fn post_payment(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    amount: Money,
    effective_on: NaiveDate,
    external_id: &str,
) -> Result<Posted, BillingError> {
    let posted = post_external(
        tx,
        clock,
        account,
        EntryKind::Payment,
        amount,
        effective_on,
        external_id,
    )
    .await?;
    payment_settled(tx, clock, external_id).await?;
    Ok(posted)
}

/// Posts a refund (idempotent on `external_id`, e.g. the Stripe refund id).
pub async fn post_refund(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    amount: Money,
    effective_on: NaiveDate,
    external_id: &str,
) -> Result<Posted, BillingError> {
    post_external(
        tx,
        clock,
        account,
        EntryKind::Refund,
        amount,
        effective_on,
        external_id,
    )
    .await
}

/// Posts a dispute hold (idempotent on `external_id`, e.g. the Stripe
/// dispute id). A won dispute is released with [`release_dispute_hold`].
pub async fn post_dispute_hold(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    amount: Money,
    effective_on: NaiveDate,
    external_id: &str,
) -> Result<Posted, BillingError> {
    post_external(
        tx,
        clock,
        account,
        EntryKind::DisputeHold,
        amount,
        effective_on,
        external_id,
    )
    .await
}

/// Releases the hold posted with `hold_external_id` (a won dispute) by
/// reversing it; idempotent.
pub async fn release_dispute_hold(
    tx: &TenantTx,
    clock: &dyn Clock,
    hold_external_id: &str,
    effective_on: NaiveDate,
) -> Result<Posted, BillingError> {
    let hold = by_external_id(tx, hold_external_id)
        .await?
        .filter(|e| e.kind == EntryKind::DisputeHold.as_str())
        .ok_or(BillingError::NotFound)?;
    reverse(
        tx,
        clock,
        LedgerEntryId::from_uuid(hold.id),
        effective_on,
        "Dispute won: hold released",
    )
    .await
}

async fn post_external(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    kind: EntryKind,
    amount: Money,
    effective_on: NaiveDate,
    external_id: &str,
) -> Result<Posted, BillingError> {
    let memo = match kind {
        EntryKind::Payment => "Payment received",
        EntryKind::Refund => "Refund",
        _ => "Payment disputed: funds held",
    };
    post(
        tx,
        clock,
        NewEntry {
            account,
            kind,
            amount,
            effective_on,
            external_id: Some(external_id.to_owned()),
            bill: None,
            memo: memo.into(),
        },
    )
    .await
}

/// Marks a payment as started but not settled (e.g. ACH): late fees wait
/// for it. Idempotent on `external_id`.
pub async fn payment_processing(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    external_id: &str,
) -> Result<(), BillingError> {
    let row = payment_in_flight::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(uuid::Uuid::now_v7()),
        account_id: Set(account.uuid()),
        external_id: Set(external_id.to_owned()),
        started_at: Set(clock.now()),
        settled_at: Set(None),
    };
    payment_in_flight::Entity::insert(row)
        .on_conflict_do_nothing_on([
            payment_in_flight::Column::TenantId,
            payment_in_flight::Column::ExternalId,
        ])
        .exec_without_returning(tx.conn())
        .await?;
    Ok(())
}

/// Marks a payment settled or failed: no longer in flight.
pub async fn payment_settled(
    tx: &TenantTx,
    clock: &dyn Clock,
    external_id: &str,
) -> Result<(), BillingError> {
    payment_in_flight::Entity::update_many()
        .col_expr(
            payment_in_flight::Column::SettledAt,
            sea_orm::sea_query::Expr::value(Some(clock.now())),
        )
        .filter(payment_in_flight::Column::TenantId.eq(tx.tenant_id().uuid()))
        .filter(payment_in_flight::Column::ExternalId.eq(external_id))
        .filter(payment_in_flight::Column::SettledAt.is_null())
        .exec(tx.conn())
        .await?;
    Ok(())
}

/// Whether the account has a payment in flight.
pub async fn has_payment_in_flight(
    tx: &TenantTx,
    account: AccountId,
) -> Result<bool, BillingError> {
    Ok(scoped::<payment_in_flight::Entity>(tx)
        .filter(payment_in_flight::Column::AccountId.eq(account.uuid()))
        .filter(payment_in_flight::Column::SettledAt.is_null())
        .one(tx.conn())
        .await?
        .is_some())
}
