//! Payment records past their period (`payment_years` after the payment):
//! the per-payment rows are removed and, in the ledger, replaced by
//! per-period totals so every balance still holds.
//!
//! **The period is the calendar month of an entry's effective date.** For
//! each customer account, month, kind and pair of sides, the entries past
//! the cutoff are replaced by one summary entry of the same kind and sides
//! whose amount is their sum, dated on the latest of their dates (so it
//! stays in the month). A payment that passes the cutoff later in the same
//! month is folded into the existing summary the next day: the old summary
//! is one of the entries replaced, and there is always at most one summary
//! per account, month, kind and sides. Every account's balance, the trial
//! balance and the general-ledger totals (per account and per month) are
//! unchanged.
//!
//! Payment records are `payment`, `refund` and `dispute_hold` entries and
//! the reversals of those. An entry whose reversal is not yet past the
//! cutoff waits for it (they go together). Summary entries carry the
//! external id `retention:<id>` and a `ledger_period_totals` row.
//!
//! The ledger is append-only in the database; the one exception (see the
//! migration `m20261129_10_retention_payments_usage`) lets a payment-record
//! entry be deleted only while a totals row of its account, month, kind and
//! sides is `open`, which happens only inside this job's transaction: the
//! rows are written `open`, the entries deleted, then every row `closed`.
//!
//! Outside the ledger, past the cutoff and not under a legal hold: the
//! `payments` rows (Stripe ids, method, amounts, failure reasons) with
//! their `refunds` and `disputes` (a payment waits while one of those is
//! younger), `autopay_charges` (charge day), settled `payments_in_flight`
//! markers, `payout_items` (the per-payment lines of a payout; the
//! payout itself, the association's bank deposit total, stays) and the
//! webhook events (`stripe_events`) of the association's connected account
//! — those only while no account hold is in force, as an event's account
//! is known only from its payload.

use crate::entity::ledger_period_total;
use aqueduct_billing::entity::{ledger_entry, payment_in_flight};
use aqueduct_billing::ledger::EntryKind;
use aqueduct_payments::entity::{
    autopay_charge, dispute, payment, payout_item, refund, stripe_account, stripe_event,
};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DbErr, EntityTrait, IntoActiveModel, QueryFilter,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

/// External-id prefix of summary entries.
pub const SUMMARY_PREFIX: &str = "retention:";

/// Rows per `IN (…)` list.
const CHUNK: usize = 500;

/// What the payment-record pass changed (or, in a dry run, would).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PaymentPurge {
    /// Ledger entries removed (earlier summaries included).
    pub ledger_entries: u64,
    /// Summary entries written in their place.
    pub ledger_summaries: u64,
    /// `payments` rows removed.
    pub payments: u64,
    /// `refunds` rows removed.
    pub refunds: u64,
    /// `disputes` rows removed.
    pub disputes: u64,
    /// `autopay_charges` rows removed.
    pub autopay_charges: u64,
    /// `payout_items` rows removed.
    pub payout_items: u64,
    /// Settled `payments_in_flight` markers removed.
    pub in_flight: u64,
    /// Stripe webhook events of the association's connected account
    /// (their payloads name payers) removed.
    pub stripe_events: u64,
}

impl PaymentPurge {
    /// (name, rows) pairs for reports and the audit entry.
    pub fn steps(&self) -> Vec<(String, u64)> {
        [
            ("ledger_entries", self.ledger_entries),
            ("ledger_summaries", self.ledger_summaries),
            ("payments", self.payments),
            ("refunds", self.refunds),
            ("disputes", self.disputes),
            ("autopay_charges", self.autopay_charges),
            ("payout_items", self.payout_items),
            ("payments_in_flight", self.in_flight),
            ("stripe_events", self.stripe_events),
        ]
        .into_iter()
        .map(|(n, c)| (n.to_owned(), c))
        .collect()
    }
}

const RECORD_KINDS: [&str; 3] = ["payment", "refund", "dispute_hold"];

fn label(kind: &str) -> &'static str {
    match kind {
        "payment" => "Payments",
        "refund" => "Refunds",
        "dispute_hold" => "Dispute holds",
        _ => "Reversals",
    }
}

type GroupKey = (Uuid, String, String, String, String);

/// Runs the pass for the transaction's association. `held`: accounts under
/// a legal hold (left alone).
pub async fn purge(
    tx: &TenantTx,
    now: DateTime<Utc>,
    cutoff: DateTime<Utc>,
    held: &HashSet<Uuid>,
) -> Result<PaymentPurge, DbErr> {
    let mut out = PaymentPurge::default();
    ledger(tx, now, cutoff.date_naive(), held, &mut out).await?;
    records(tx, cutoff, held, &mut out).await?;
    Ok(out)
}

async fn ledger(
    tx: &TenantTx,
    now: DateTime<Utc>,
    cutoff_day: NaiveDate,
    held: &HashSet<Uuid>,
    out: &mut PaymentPurge,
) -> Result<(), DbErr> {
    // Entries past the cutoff that are not summaries already.
    let not_summary = Condition::any()
        .add(ledger_entry::Column::ExternalId.is_null())
        .add(ledger_entry::Column::ExternalId.not_like(format!("{SUMMARY_PREFIX}%")));
    let originals: Vec<ledger_entry::Model> = scoped::<ledger_entry::Entity>(tx)
        .filter(ledger_entry::Column::Kind.is_in(RECORD_KINDS))
        .filter(ledger_entry::Column::EffectiveOn.lt(cutoff_day))
        .filter(not_summary)
        .all(tx.conn())
        .await?
        .into_iter()
        .filter(|e| !held.contains(&e.account_id))
        .collect();
    if originals.is_empty() {
        return Ok(());
    }
    // Their reversals, by the entry they reverse: an entry goes together
    // with its reversal, once both are past the cutoff.
    let ids: Vec<Uuid> = originals.iter().map(|e| e.id).collect();
    let mut reversals: HashMap<Uuid, ledger_entry::Model> = HashMap::new();
    for part in ids.chunks(CHUNK) {
        for r in scoped::<ledger_entry::Entity>(tx)
            .filter(ledger_entry::Column::Kind.eq(EntryKind::Reversal.as_str()))
            .filter(ledger_entry::Column::ReversesId.is_in(part.iter().copied()))
            .all(tx.conn())
            .await?
        {
            if let Some(o) = r.reverses_id {
                reversals.insert(o, r);
            }
        }
    }
    let mut groups: BTreeMap<GroupKey, Vec<ledger_entry::Model>> = BTreeMap::new();
    let key = |e: &ledger_entry::Model| -> GroupKey {
        (
            e.account_id,
            e.effective_on.format("%Y-%m").to_string(),
            e.kind.clone(),
            e.debit.clone(),
            e.credit.clone(),
        )
    };
    for e in originals {
        let reversal = reversals.remove(&e.id);
        if reversal
            .as_ref()
            .is_some_and(|r| r.effective_on >= cutoff_day)
        {
            continue;
        }
        for x in reversal.into_iter().chain(std::iter::once(e)) {
            groups.entry(key(&x)).or_default().push(x);
        }
    }
    // Earlier summaries of the same groups are folded in: at most one
    // summary per account, month, kind and sides. One that staff reversed
    // stays (its reversal refers to it).
    let accounts: Vec<Uuid> = groups
        .keys()
        .map(|k| k.0)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut earlier = Vec::new();
    for part in accounts.chunks(CHUNK) {
        earlier.extend(
            scoped::<ledger_entry::Entity>(tx)
                .filter(ledger_entry::Column::AccountId.is_in(part.iter().copied()))
                .filter(ledger_entry::Column::ExternalId.starts_with(SUMMARY_PREFIX))
                .filter(ledger_entry::Column::EffectiveOn.lt(cutoff_day))
                .all(tx.conn())
                .await?
                .into_iter()
                .filter(|s| groups.contains_key(&key(s))),
        );
    }
    let earlier_ids: Vec<Uuid> = earlier.iter().map(|s| s.id).collect();
    let mut reversed: HashSet<Uuid> = HashSet::new();
    for part in earlier_ids.chunks(CHUNK) {
        reversed.extend(
            scoped::<ledger_entry::Entity>(tx)
                .filter(ledger_entry::Column::ReversesId.is_in(part.iter().copied()))
                .all(tx.conn())
                .await?
                .into_iter()
                .filter_map(|r| r.reverses_id),
        );
    }
    for s in earlier {
        if !reversed.contains(&s.id)
            && let Some(g) = groups.get_mut(&key(&s))
        {
            g.push(s);
        }
    }
    let mut doomed_reversals = Vec::new();
    let mut doomed = Vec::new();
    for ((account, period, kind, debit, credit), entries) in groups {
        let amount: i64 = entries.iter().map(|e| e.amount_cents).sum();
        let Some(day) = entries.iter().map(|e| e.effective_on).max() else {
            continue;
        };
        let summary = Uuid::now_v7();
        ledger_period_total::Entity::insert(
            ledger_period_total::Model {
                tenant_id: tx.tenant_id().uuid(),
                id: Uuid::now_v7(),
                account_id: account,
                period: period.clone(),
                kind: kind.clone(),
                debit: debit.clone(),
                credit: credit.clone(),
                entries: i32::try_from(entries.len()).unwrap_or(i32::MAX),
                amount_cents: amount,
                summary_entry_id: summary,
                state: "open".into(),
                created_at: now,
            }
            .into_active_model(),
        )
        .exec_without_returning(tx.conn())
        .await?;
        ledger_entry::Entity::insert(ledger_entry::ActiveModel {
            tenant_id: Set(tx.tenant_id().uuid()),
            id: Set(summary),
            account_id: Set(account),
            kind: Set(kind.clone()),
            debit: Set(debit),
            credit: Set(credit),
            amount_cents: Set(amount),
            effective_on: Set(day),
            posted_at: Set(now),
            external_id: Set(Some(format!("{SUMMARY_PREFIX}{summary}"))),
            reverses_id: Set(None),
            bill_id: Set(None),
            memo: Set(format!(
                "{} of {period} (total; details removed after the retention period)",
                label(&kind)
            )),
        })
        .exec_without_returning(tx.conn())
        .await?;
        out.ledger_summaries += 1;
        for e in entries {
            if e.reverses_id.is_some() {
                doomed_reversals.push(e.id);
            } else {
                doomed.push(e.id);
            }
        }
    }
    // Reversals first: they reference the entries they reverse.
    for ids in [doomed_reversals, doomed] {
        for part in ids.chunks(CHUNK) {
            let r = ledger_entry::Entity::delete_many()
                .filter(ledger_entry::Column::TenantId.eq(tx.tenant_id().uuid()))
                .filter(ledger_entry::Column::Id.is_in(part.iter().copied()))
                .exec(tx.conn())
                .await?;
            out.ledger_entries += r.rows_affected;
        }
    }
    ledger_period_total::Entity::update_many()
        .col_expr(ledger_period_total::Column::State, "closed".into())
        .filter(ledger_period_total::Column::TenantId.eq(tx.tenant_id().uuid()))
        .filter(ledger_period_total::Column::State.eq("open"))
        .exec(tx.conn())
        .await?;
    Ok(())
}

async fn records(
    tx: &TenantTx,
    cutoff: DateTime<Utc>,
    held: &HashSet<Uuid>,
    out: &mut PaymentPurge,
) -> Result<(), DbErr> {
    let tenant = tx.tenant_id().uuid();
    // What a held account's payments are known by (payout items match
    // payments, refunds and disputes).
    let held_list: Vec<Uuid> = held.iter().copied().collect();
    let mut held_ids: HashSet<Uuid> = HashSet::new();
    for part in held_list.chunks(CHUNK) {
        let ps: Vec<Uuid> = scoped::<payment::Entity>(tx)
            .filter(payment::Column::AccountId.is_in(part.iter().copied()))
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        for p in ps.chunks(CHUNK) {
            held_ids.extend(
                scoped::<refund::Entity>(tx)
                    .filter(refund::Column::PaymentId.is_in(p.iter().copied()))
                    .all(tx.conn())
                    .await?
                    .into_iter()
                    .map(|r| r.id),
            );
            held_ids.extend(
                scoped::<dispute::Entity>(tx)
                    .filter(dispute::Column::PaymentId.is_in(p.iter().copied()))
                    .all(tx.conn())
                    .await?
                    .into_iter()
                    .map(|d| d.id),
            );
        }
        held_ids.extend(ps);
    }
    let candidates: Vec<Uuid> = scoped::<payment::Entity>(tx)
        .filter(payment::Column::CreatedAt.lt(cutoff))
        .all(tx.conn())
        .await?
        .into_iter()
        .filter(|p| !held.contains(&p.account_id))
        .map(|p| p.id)
        .collect();
    // A payment waits for its youngest refund or dispute.
    let mut young: HashSet<Uuid> = HashSet::new();
    for part in candidates.chunks(CHUNK) {
        young.extend(
            scoped::<refund::Entity>(tx)
                .filter(refund::Column::PaymentId.is_in(part.iter().copied()))
                .filter(refund::Column::CreatedAt.gte(cutoff))
                .all(tx.conn())
                .await?
                .into_iter()
                .map(|r| r.payment_id),
        );
        young.extend(
            scoped::<dispute::Entity>(tx)
                .filter(dispute::Column::PaymentId.is_in(part.iter().copied()))
                .filter(dispute::Column::CreatedAt.gte(cutoff))
                .all(tx.conn())
                .await?
                .into_iter()
                .map(|d| d.payment_id),
        );
    }
    let due: Vec<Uuid> = candidates
        .into_iter()
        .filter(|p| !young.contains(p))
        .collect();
    for part in due.chunks(CHUNK) {
        let ids = part.iter().copied();
        out.refunds += refund::Entity::delete_many()
            .filter(refund::Column::TenantId.eq(tenant))
            .filter(refund::Column::PaymentId.is_in(ids.clone()))
            .exec(tx.conn())
            .await?
            .rows_affected;
        out.disputes += dispute::Entity::delete_many()
            .filter(dispute::Column::TenantId.eq(tenant))
            .filter(dispute::Column::PaymentId.is_in(ids.clone()))
            .exec(tx.conn())
            .await?
            .rows_affected;
        out.payments += payment::Entity::delete_many()
            .filter(payment::Column::TenantId.eq(tenant))
            .filter(payment::Column::Id.is_in(ids))
            .exec(tx.conn())
            .await?
            .rows_affected;
    }
    let charges: Vec<Uuid> = scoped::<autopay_charge::Entity>(tx)
        .filter(autopay_charge::Column::ChargeOn.lt(cutoff.date_naive()))
        .all(tx.conn())
        .await?
        .into_iter()
        .filter(|c| !held.contains(&c.account_id))
        .map(|c| c.id)
        .collect();
    for part in charges.chunks(CHUNK) {
        out.autopay_charges += autopay_charge::Entity::delete_many()
            .filter(autopay_charge::Column::TenantId.eq(tenant))
            .filter(autopay_charge::Column::Id.is_in(part.iter().copied()))
            .exec(tx.conn())
            .await?
            .rows_affected;
    }
    let items: Vec<Uuid> = scoped::<payout_item::Entity>(tx)
        .filter(payout_item::Column::CreatedAt.lt(cutoff))
        .all(tx.conn())
        .await?
        .into_iter()
        .filter(|i| i.matched_id.is_none_or(|m| !held_ids.contains(&m)))
        .map(|i| i.id)
        .collect();
    for part in items.chunks(CHUNK) {
        out.payout_items += payout_item::Entity::delete_many()
            .filter(payout_item::Column::TenantId.eq(tenant))
            .filter(payout_item::Column::Id.is_in(part.iter().copied()))
            .exec(tx.conn())
            .await?
            .rows_affected;
    }
    let flights: Vec<Uuid> = scoped::<payment_in_flight::Entity>(tx)
        .filter(payment_in_flight::Column::SettledAt.is_not_null())
        .filter(payment_in_flight::Column::SettledAt.lt(cutoff))
        .all(tx.conn())
        .await?
        .into_iter()
        .filter(|f| !held.contains(&f.account_id))
        .map(|f| f.id)
        .collect();
    for part in flights.chunks(CHUNK) {
        out.in_flight += payment_in_flight::Entity::delete_many()
            .filter(payment_in_flight::Column::TenantId.eq(tenant))
            .filter(payment_in_flight::Column::Id.is_in(part.iter().copied()))
            .exec(tx.conn())
            .await?
            .rows_affected;
    }
    // The webhook inbox is platform machinery keyed by Stripe's event id;
    // its rows for this association's connected account are payment
    // records too. Which account an event concerns is known only inside
    // its payload, so while any account hold is in force they all stay.
    if held.is_empty() {
        let connected: Vec<String> = scoped::<stripe_account::Entity>(tx)
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|a| a.stripe_account_id)
            .collect();
        if !connected.is_empty() {
            out.stripe_events += stripe_event::Entity::delete_many()
                .filter(stripe_event::Column::StripeAccountId.is_in(connected))
                .filter(stripe_event::Column::ReceivedAt.lt(cutoff))
                .exec(tx.conn())
                .await?
                .rows_affected;
        }
    }
    Ok(())
}
