//! Deposit refunds payable: what move-outs left owed to customers, and
//! recording how each was paid.
//!
//! At a move-out the deposit pays the final balance and the rest is a
//! `deposit_refund` entry (deposits ← receivable): a **credit** on the
//! closed account, owed to the customer. It stays on the list of refunds
//! owed — closed account or not — until staff record its disbursement:
//!
//! * **paid** by check (with its number), ACH, cash or another method, on
//!   a day: a `deposit_refund_paid` entry (receivable ← cash) that zeroes
//!   the credit; or
//! * **applied** to another account of the association that owes money: a
//!   ledger transfer of the credit (two `transfer` entries through the
//!   `transfers` clearing account), which lowers that account's balance.
//!
//! **Once.** A refund is paid in one disbursement, of what is owed: the
//! refund, or less when other charges posted to the closed account since
//! have used part of its credit (never more than the account's credit
//! balance). A second disbursement of the same refund is a conflict; the
//! same request again (its idempotency key — by default the check number)
//! returns the first. The `deposit_refund_payments` row holds the method,
//! check number and day, and its unique keys (refund, key, check number)
//! make "once" a database rule; the ledger entry's external id
//! (`deposit_refund_paid:<refund entry>`) is unique too.
//!
//! Refund entries posted before this existed went deposits ← cash (paid at
//! posting): they are never listed as owed.

use crate::entity::{account, deposit_refund_payment as payment, ledger_entry};
use crate::error::{BillingError, unique_or};
use crate::ledger::{self, EntryKind, NewEntry, gl};
use aqueduct_core::{AccountId, Clock, LedgerEntryId, Money};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::NaiveDate;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, SqlErr};
use std::collections::HashMap;

/// Which refunds to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Still owed.
    Owed,
    /// Paid or applied.
    Paid,
    /// All of them.
    All,
}

impl Listing {
    /// `owed` (default), `paid` or `all`.
    pub fn parse(s: Option<&str>) -> Result<Listing, BillingError> {
        match s.unwrap_or("owed") {
            "owed" => Ok(Listing::Owed),
            "paid" => Ok(Listing::Paid),
            "all" => Ok(Listing::All),
            other => Err(BillingError::Invalid(format!(
                "status {other:?}: use owed, paid or all"
            ))),
        }
    }
}

/// One deposit refund and where it stands.
#[derive(Debug, Clone)]
pub struct Refund {
    /// The `deposit_refund` entry.
    pub refund_id: uuid::Uuid,
    /// The account it is owed to.
    pub account_id: uuid::Uuid,
    /// Its number.
    pub account_number: String,
    /// Its holder.
    pub holder_name: String,
    /// Its status (usually `closed`).
    pub account_status: String,
    /// Day the refund was posted (the move-out).
    pub refunded_on: NaiveDate,
    /// The refund (cents).
    pub refund_cents: i64,
    /// Still owed (cents): 0 once paid; less than the refund when other
    /// charges since used part of the credit.
    pub owed_cents: i64,
    /// How it was paid, once it was.
    pub payment: Option<payment::Model>,
}

/// How a disbursement was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// A check, by its number.
    Check(String),
    /// A bank transfer.
    Ach,
    /// Cash.
    Cash,
    /// Anything else (describe it in the reference).
    Other,
    /// The credit applied to another account's balance.
    Applied(AccountId),
}

impl Method {
    /// Parses `check` (with a number of 1–32 characters), `ach`, `cash`,
    /// `other`, or `applied` (with the account it goes to).
    pub fn parse(
        method: &str,
        check_number: Option<&str>,
        to_account: Option<AccountId>,
    ) -> Result<Method, BillingError> {
        let check = check_number.map(str::trim).filter(|c| !c.is_empty());
        let m = match method {
            "check" => {
                let n = check.ok_or_else(|| {
                    BillingError::Invalid("a check payment needs its check number".into())
                })?;
                if n.chars().count() > 32 || n.chars().any(char::is_control) {
                    return Err(BillingError::Invalid(
                        "a check number is 1 to 32 printable characters".into(),
                    ));
                }
                return Ok(Method::Check(n.to_owned()));
            }
            "ach" => Method::Ach,
            "cash" => Method::Cash,
            "other" => Method::Other,
            "applied" => Method::Applied(to_account.ok_or_else(|| {
                BillingError::Invalid("applying the credit needs the account it goes to".into())
            })?),
            other => {
                return Err(BillingError::Invalid(format!(
                    "method {other:?}: use check, ach, cash, other or applied"
                )));
            }
        };
        if check.is_some() {
            return Err(BillingError::Invalid(
                "a check number goes with the check method".into(),
            ));
        }
        Ok(m)
    }

    /// Storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Check(_) => "check",
            Method::Ach => "ach",
            Method::Cash => "cash",
            Method::Other => "other",
            Method::Applied(_) => "applied",
        }
    }
}

/// A disbursement to record.
#[derive(Debug, Clone)]
pub struct Disbursement {
    /// How.
    pub method: Method,
    /// Day paid.
    pub paid_on: NaiveDate,
    /// The amount, when the caller states it (must be what is owed).
    pub amount_cents: Option<i64>,
    /// A note, a transfer's reference (at most 200 characters).
    pub reference: Option<String>,
    /// The request's idempotency key; by default `check:<number>` for a
    /// check (required otherwise).
    pub key: Option<String>,
    /// Who records it.
    pub recorded_by: String,
}

/// The result of recording a disbursement.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The payment (the first one on a repeat).
    pub payment: payment::Model,
    /// False when the same request had already been recorded.
    pub created: bool,
}

/// Whether an entry is a refund owed (the payable kind, not the legacy
/// deposits ← cash one).
fn payable(e: &ledger_entry::Model) -> bool {
    e.kind == EntryKind::DepositRefund.as_str() && e.credit == gl::RECEIVABLE
}

/// What is owed on `refund` given its account's entries: the refund, at
/// most the account's credit balance; 0 once paid or reversed.
fn owed(
    refund: &ledger_entry::Model,
    entries: &[ledger_entry::Model],
    paid: Option<&payment::Model>,
) -> i64 {
    let reversed = entries.iter().any(|e| e.reverses_id == Some(refund.id));
    if paid.is_some() || reversed {
        return 0;
    }
    let credit = -crate::aging::receivable(entries);
    refund.amount_cents.min(credit.max(0))
}

/// Refunds owed (or paid, or all), oldest first.
pub async fn list(tx: &TenantTx, which: Listing) -> Result<Vec<Refund>, BillingError> {
    let refunds = scoped::<ledger_entry::Entity>(tx)
        .filter(ledger_entry::Column::Kind.eq(EntryKind::DepositRefund.as_str()))
        .filter(ledger_entry::Column::Credit.eq(gl::RECEIVABLE))
        .order_by_asc(ledger_entry::Column::Id)
        .all(tx.conn())
        .await?;
    if refunds.is_empty() {
        return Ok(Vec::new());
    }
    let accounts: Vec<uuid::Uuid> = refunds.iter().map(|r| r.account_id).collect();
    let mut entries: HashMap<uuid::Uuid, Vec<ledger_entry::Model>> = HashMap::new();
    for e in scoped::<ledger_entry::Entity>(tx)
        .filter(ledger_entry::Column::AccountId.is_in(accounts.clone()))
        .order_by_asc(ledger_entry::Column::Id)
        .all(tx.conn())
        .await?
    {
        entries.entry(e.account_id).or_default().push(e);
    }
    let holders: HashMap<uuid::Uuid, account::Model> = scoped::<account::Entity>(tx)
        .filter(account::Column::Id.is_in(accounts))
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let payments: HashMap<uuid::Uuid, payment::Model> = scoped::<payment::Entity>(tx)
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|p| (p.refund_entry_id, p))
        .collect();
    let mut out = Vec::with_capacity(refunds.len());
    for r in refunds {
        let Some(a) = holders.get(&r.account_id) else {
            continue;
        };
        let paid = payments.get(&r.id);
        let owed_cents = owed(
            &r,
            entries.get(&r.account_id).map(Vec::as_slice).unwrap_or(&[]),
            paid,
        );
        let keep = match which {
            Listing::Owed => owed_cents > 0,
            Listing::Paid => paid.is_some(),
            Listing::All => true,
        };
        if keep {
            out.push(Refund {
                refund_id: r.id,
                account_id: r.account_id,
                account_number: a.account_number.clone(),
                holder_name: a.holder_name.clone(),
                account_status: a.status.clone(),
                refunded_on: r.effective_on,
                refund_cents: r.amount_cents,
                owed_cents,
                payment: paid.cloned(),
            });
        }
    }
    Ok(out)
}

/// One refund entry (404 for any other entry).
pub async fn refund_entry(
    tx: &TenantTx,
    id: LedgerEntryId,
) -> Result<ledger_entry::Model, BillingError> {
    let e = ledger::get(tx, id).await?;
    if e.kind != EntryKind::DepositRefund.as_str() {
        return Err(BillingError::NotFound);
    }
    Ok(e)
}

async fn by_key(tx: &TenantTx, key: &str) -> Result<Option<payment::Model>, BillingError> {
    Ok(scoped::<payment::Entity>(tx)
        .filter(payment::Column::IdempotencyKey.eq(key))
        .one(tx.conn())
        .await?)
}

/// Records how refund `id` was paid (see the module docs): posts the entry
/// that settles the credit and the payment row, in the caller's
/// transaction. The same key again returns the first payment.
pub async fn pay(
    tx: &TenantTx,
    clock: &dyn Clock,
    id: LedgerEntryId,
    d: Disbursement,
) -> Result<Recorded, BillingError> {
    let refund = refund_entry(tx, id).await?;
    let key = match (&d.key, &d.method) {
        (Some(k), _) => k.trim().to_owned(),
        (None, Method::Check(n)) => format!("check:{n}"),
        (None, _) => {
            return Err(BillingError::Invalid(
                "send an Idempotency-Key (or pay by check, whose number is the key)".into(),
            ));
        }
    };
    if key.is_empty() || key.chars().count() > 100 {
        return Err(BillingError::Invalid(
            "an idempotency key is 1 to 100 characters".into(),
        ));
    }
    if let Some(p) = by_key(tx, &key).await? {
        if p.refund_entry_id == refund.id {
            return Ok(Recorded {
                payment: p,
                created: false,
            });
        }
        return Err(BillingError::Conflict(
            "that idempotency key (or check number) was used for another refund".into(),
        ));
    }
    if !payable(&refund) {
        return Err(BillingError::Conflict(
            "this refund was recorded as paid when it was posted".into(),
        ));
    }
    if let Some(p) = scoped::<payment::Entity>(tx)
        .filter(payment::Column::RefundEntryId.eq(refund.id))
        .one(tx.conn())
        .await?
    {
        return Err(BillingError::Conflict(format!(
            "this refund was already paid ({} on {})",
            p.method, p.paid_on
        )));
    }
    let account = AccountId::from_uuid(refund.account_id);
    let entries = ledger::for_account(tx, account).await?;
    let owed_cents = owed(&refund, &entries, None);
    if owed_cents <= 0 {
        return Err(BillingError::Conflict(
            "nothing is owed on this refund: the account has no credit left".into(),
        ));
    }
    let amount = d.amount_cents.unwrap_or(owed_cents);
    if amount > owed_cents {
        return Err(BillingError::Invalid(format!(
            "{amount} cents is more than the {owed_cents} owed"
        )));
    }
    if amount != owed_cents {
        return Err(BillingError::Invalid(format!(
            "a refund is paid in one disbursement of what is owed ({owed_cents} cents)"
        )));
    }
    let reference = d
        .reference
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reference.as_ref().is_some_and(|r| r.chars().count() > 200) {
        return Err(BillingError::Invalid(
            "a reference is at most 200 characters".into(),
        ));
    }
    if d.paid_on < refund.effective_on {
        return Err(BillingError::Invalid(
            "a refund is paid on or after the day it was posted".into(),
        ));
    }
    let external = format!("deposit_refund_paid:{}", refund.id);
    let entry_id = match &d.method {
        Method::Applied(to) => {
            if *to == account {
                return Err(BillingError::Invalid(
                    "apply the credit to another account".into(),
                ));
            }
            crate::accounts::get(tx, *to).await?;
            ledger::transfer(
                tx,
                clock,
                account,
                *to,
                gl::RECEIVABLE,
                -amount,
                d.paid_on,
                &external,
                "Deposit refund applied to another account",
            )
            .await?;
            ledger::by_external_id(tx, &format!("{external}:out"))
                .await?
                .ok_or_else(|| BillingError::Invalid("transfer entry missing".into()))?
                .id
        }
        m => {
            let memo = match m {
                Method::Check(n) => format!("Deposit refund paid by check {n}"),
                Method::Ach => "Deposit refund paid by bank transfer".into(),
                Method::Cash => "Deposit refund paid in cash".into(),
                _ => "Deposit refund paid".into(),
            };
            let posted = ledger::post(
                tx,
                clock,
                NewEntry {
                    account,
                    kind: EntryKind::DepositRefundPaid,
                    amount: Money::usd(amount),
                    effective_on: d.paid_on,
                    external_id: Some(external),
                    bill: None,
                    memo,
                },
            )
            .await?;
            if !posted.created {
                return Err(BillingError::Conflict(
                    "this refund was already paid".into(),
                ));
            }
            posted.entry.id
        }
    };
    let row = payment::Model {
        tenant_id: tx.tenant_id().uuid(),
        id: uuid::Uuid::now_v7(),
        account_id: refund.account_id,
        refund_entry_id: refund.id,
        ledger_entry_id: entry_id,
        amount_cents: amount,
        method: d.method.as_str().into(),
        check_number: match &d.method {
            Method::Check(n) => Some(n.clone()),
            _ => None,
        },
        reference,
        applied_to_account_id: match &d.method {
            Method::Applied(to) => Some(to.uuid()),
            _ => None,
        },
        paid_on: d.paid_on,
        idempotency_key: key,
        recorded_by: d.recorded_by,
        created_at: clock.now(),
    };
    let active = payment::ActiveModel {
        tenant_id: Set(row.tenant_id),
        id: Set(row.id),
        account_id: Set(row.account_id),
        refund_entry_id: Set(row.refund_entry_id),
        ledger_entry_id: Set(row.ledger_entry_id),
        amount_cents: Set(row.amount_cents),
        method: Set(row.method.clone()),
        check_number: Set(row.check_number.clone()),
        reference: Set(row.reference.clone()),
        applied_to_account_id: Set(row.applied_to_account_id),
        paid_on: Set(row.paid_on),
        idempotency_key: Set(row.idempotency_key.clone()),
        recorded_by: Set(row.recorded_by.clone()),
        created_at: Set(row.created_at),
    };
    payment::Entity::insert(active)
        .exec_without_returning(tx.conn())
        .await
        .map_err(|e| {
            let check = matches!(
                e.sql_err(),
                Some(SqlErr::UniqueConstraintViolation(m)) if m.contains("check")
            );
            if check {
                BillingError::Conflict("that check number was already recorded".into())
            } else {
                unique_or(
                    e,
                    &["uq_deposit_refund_payments", "deposit_refund_payments."],
                    BillingError::Conflict("this refund was already paid".into()),
                )
            }
        })?;
    Ok(Recorded {
        payment: row,
        created: true,
    })
}

/// Per account: (refunds owed now, refunds paid) in cents, for the
/// deposit register.
pub async fn totals_by_account(
    tx: &TenantTx,
) -> Result<HashMap<uuid::Uuid, (i64, i64)>, BillingError> {
    let mut out: HashMap<uuid::Uuid, (i64, i64)> = HashMap::new();
    for r in list(tx, Listing::All).await? {
        let t = out.entry(r.account_id).or_default();
        t.0 += r.owed_cents;
        t.1 += r.payment.as_ref().map_or(0, |p| p.amount_cents);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_parse_with_what_they_need() {
        assert_eq!(
            Method::parse("check", Some(" 1042 "), None).unwrap(),
            Method::Check("1042".into())
        );
        assert!(Method::parse("check", None, None).is_err());
        assert!(Method::parse("check", Some(&"9".repeat(33)), None).is_err());
        assert!(Method::parse("cash", Some("1"), None).is_err());
        assert_eq!(Method::parse("ach", None, None).unwrap(), Method::Ach);
        assert!(Method::parse("applied", None, None).is_err());
        assert!(Method::parse("wire", None, None).is_err());
    }

    #[test]
    fn listing_defaults_to_owed() {
        assert_eq!(Listing::parse(None).unwrap(), Listing::Owed);
        assert_eq!(Listing::parse(Some("all")).unwrap(), Listing::All);
        assert!(Listing::parse(Some("x")).is_err());
    }
}
