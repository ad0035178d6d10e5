//! Payouts: Stripe moves the association's balance to its bank
//! (`payout.paid` / `payout.failed`). Each paid payout is reconciled with
//! our records: its balance transactions (`GET /v1/balance_transactions?
//! payout=po_…` on the connected account) are matched one by one to our
//! payments, refunds and disputes; an amount that differs, an item we do
//! not know, or items that do not add up to the payout flag it as a
//! mismatch for staff to look at. A failed payout is mailed to staff
//! (`payout_failed`).

use crate::entity::{dispute, payment, payout, payout_item, refund};
use crate::stripe_client::list_all;
use crate::{PAYOUT_JOB, PaymentsError, Stripe, connect};
use aqueduct_core::Clock;
use aqueduct_jobs::{NewJob, enqueue};
use aqueduct_notify::Kind;
use aqueduct_tenant::{Db, TenantCtx, TenantTx, scoped};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use serde_json::{Value, json};

/// Reconciliation states.
pub mod reconciliation {
    /// Not reconciled yet (or not paid).
    pub const PENDING: &str = "pending";
    /// Every item matches the ledger.
    pub const MATCHED: &str = "matched";
    /// At least one item differs, is unknown, or the items do not add up.
    pub const MISMATCH: &str = "mismatch";
}

/// Item states.
pub mod item_status {
    /// Matches our records.
    pub const OK: &str = "ok";
    /// Our record has a different amount.
    pub const AMOUNT_MISMATCH: &str = "amount_mismatch";
    /// Nothing of ours matches it.
    pub const UNKNOWN: &str = "unknown";
}

/// Final payout states never go back to `in_transit`.
fn rank(status: &str) -> u8 {
    match status {
        "pending" => 0,
        "in_transit" => 1,
        _ => 2,
    }
}

/// Applies a payout object (webhook): records it, moves its state forward.
/// Returns the row and whether it just became paid (then it is reconciled)
/// or failed (then staff are told).
pub(crate) async fn apply(
    tx: &TenantTx,
    clock: &dyn Clock,
    obj: &Value,
) -> Result<payout::Model, PaymentsError> {
    let Some(po_id) = obj["id"].as_str() else {
        return Err(PaymentsError::Invalid("payout without an id".into()));
    };
    let status = obj["status"].as_str().unwrap_or("in_transit");
    let now = clock.now();
    payout::Entity::insert(payout::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(uuid::Uuid::now_v7()),
        stripe_payout_id: Set(po_id.to_owned()),
        amount_cents: Set(obj["amount"].as_i64().unwrap_or(0)),
        currency: Set(obj["currency"].as_str().unwrap_or("usd").to_owned()),
        status: Set("in_transit".into()),
        arrival_date: Set(obj["arrival_date"].as_i64()),
        failure_message: Set(None),
        reconciliation: Set(reconciliation::PENDING.into()),
        mismatches: Set(0),
        reconciled_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict_do_nothing_on([payout::Column::TenantId, payout::Column::StripePayoutId])
    .exec_without_returning(tx.conn())
    .await?;
    let row = by_stripe_id(tx, po_id)
        .await?
        .ok_or(PaymentsError::NotFound)?;
    if rank(status) > rank(&row.status) {
        let won = payout::Entity::update_many()
            .col_expr(payout::Column::Status, Expr::value(status))
            .col_expr(
                payout::Column::FailureMessage,
                Expr::value(obj["failure_message"].as_str()),
            )
            .col_expr(
                payout::Column::AmountCents,
                Expr::value(obj["amount"].as_i64().unwrap_or(row.amount_cents)),
            )
            .col_expr(payout::Column::UpdatedAt, Expr::value(now))
            .filter(payout::Column::TenantId.eq(row.tenant_id))
            .filter(payout::Column::Id.eq(row.id))
            .filter(payout::Column::Status.eq(row.status.as_str()))
            .exec(tx.conn())
            .await?;
        if won.rows_affected == 1 {
            match status {
                "paid" => {
                    enqueue(
                        tx.conn(),
                        clock,
                        NewJob::new(PAYOUT_JOB, json!({ "payout": row.id }))
                            .for_tenant(aqueduct_core::TenantId::from_uuid(row.tenant_id))
                            .dedupe(format!("reconcile:{po_id}")),
                    )
                    .await
                    .map_err(|e| PaymentsError::Invalid(e.to_string()))?;
                }
                "failed" => {
                    crate::notices::to_staff(
                        tx,
                        clock,
                        Kind::PayoutFailed,
                        format!("payout_failed:{po_id}"),
                        json!({
                            "amount_cents": obj["amount"].as_i64().unwrap_or(0),
                            "detail": obj["failure_message"].as_str().unwrap_or_default(),
                            "at": now.to_rfc3339(),
                        }),
                    )
                    .await?;
                }
                _ => {}
            }
        }
    }
    by_stripe_id(tx, po_id)
        .await?
        .ok_or(PaymentsError::NotFound)
}

async fn by_stripe_id(tx: &TenantTx, po: &str) -> Result<Option<payout::Model>, PaymentsError> {
    Ok(scoped::<payout::Entity>(tx)
        .filter(payout::Column::StripePayoutId.eq(po))
        .one(tx.conn())
        .await?)
}

/// Records a payout object without Stripe (seeding and tests).
pub async fn record(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    obj: &Value,
) -> Result<payout::Model, PaymentsError> {
    let tx = db.tenant(ctx).await?;
    let row = apply(&tx, clock, obj).await?;
    tx.commit().await?;
    Ok(row)
}

/// What a reconciliation found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciled {
    /// matched | mismatch.
    pub reconciliation: String,
    /// Items looked at.
    pub items: usize,
    /// Items (and the total) that do not match.
    pub mismatches: i32,
}

/// Reconciles one payout with the ledger (again, if asked twice: the items
/// are replaced, nothing is posted).
#[tracing::instrument(skip_all, fields(tenant = %ctx.slug()))]
pub async fn reconcile(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    stripe: &Stripe,
    payout_id: uuid::Uuid,
) -> Result<Reconciled, PaymentsError> {
    let tx = db.tenant(ctx).await?;
    let po = scoped::<payout::Entity>(&tx)
        .filter(payout::Column::Id.eq(payout_id))
        .one(tx.conn())
        .await?
        .ok_or(PaymentsError::NotFound)?;
    let acct = connect::account(&tx)
        .await?
        .ok_or(PaymentsError::NotFound)?;
    tx.commit().await?;
    let txns = list_all(
        stripe,
        &acct.stripe_account_id,
        "/balance_transactions",
        &format!("payout={}&expand[]=data.source", po.stripe_payout_id),
        20_000,
    )
    .await?;
    let tx = db.tenant(ctx).await?;
    let now = clock.now();
    let mut rows = Vec::with_capacity(txns.len());
    let mut mismatches = 0;
    let mut sum_net = 0_i64;
    for t in &txns {
        let kind = t["type"].as_str().unwrap_or_default().to_owned();
        let amount = t["amount"].as_i64().unwrap_or(0);
        let fee = t["fee"].as_i64().unwrap_or(0);
        let net = t["net"].as_i64().unwrap_or(0);
        let source = &t["source"];
        let source_id = source
            .as_str()
            .or_else(|| source["id"].as_str())
            .map(str::to_owned);
        let (matched, matched_id, expected) = match kind.as_str() {
            "payout" => ("payout", Some(po.id), Some(-po.amount_cents)),
            "payout_failure" => ("payout", Some(po.id), Some(po.amount_cents)),
            _ => {
                sum_net += net;
                let category = t["reporting_category"].as_str().unwrap_or_default();
                match_source(&tx, source, category).await?
            }
        };
        let status = match expected {
            None => item_status::UNKNOWN,
            Some(e) if e != amount => item_status::AMOUNT_MISMATCH,
            Some(_) => item_status::OK,
        };
        if status != item_status::OK {
            mismatches += 1;
        }
        rows.push(payout_item::ActiveModel {
            tenant_id: Set(ctx.id().uuid()),
            id: Set(uuid::Uuid::now_v7()),
            payout_id: Set(po.id),
            balance_transaction_id: Set(t["id"].as_str().unwrap_or_default().to_owned()),
            kind: Set(kind),
            source_id: Set(source_id),
            amount_cents: Set(amount),
            fee_cents: Set(fee),
            net_cents: Set(net),
            matched: Set(matched.into()),
            matched_id: Set(matched_id),
            expected_cents: Set(expected),
            status: Set(status.into()),
            created_at: Set(now),
        });
    }
    if sum_net != po.amount_cents {
        // The items do not add up to what reached the bank.
        mismatches += 1;
    }
    payout_item::Entity::delete_many()
        .filter(payout_item::Column::TenantId.eq(ctx.id().uuid()))
        .filter(payout_item::Column::PayoutId.eq(po.id))
        .exec(tx.conn())
        .await?;
    let n = rows.len();
    for chunk in rows.chunks(200) {
        payout_item::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(tx.conn())
            .await?;
    }
    let state = if mismatches == 0 {
        reconciliation::MATCHED
    } else {
        reconciliation::MISMATCH
    };
    payout::Entity::update_many()
        .col_expr(payout::Column::Reconciliation, Expr::value(state))
        .col_expr(payout::Column::Mismatches, Expr::value(mismatches))
        .col_expr(payout::Column::ReconciledAt, Expr::value(Some(now)))
        .col_expr(payout::Column::UpdatedAt, Expr::value(now))
        .filter(payout::Column::TenantId.eq(po.tenant_id))
        .filter(payout::Column::Id.eq(po.id))
        .exec(tx.conn())
        .await?;
    tx.commit().await?;
    if mismatches > 0 {
        tracing::warn!(payout = %po.stripe_payout_id, mismatches, "payout does not match the ledger");
    }
    Ok(Reconciled {
        reconciliation: state.into(),
        items: n,
        mismatches,
    })
}

/// What of ours a balance transaction's source is: (kind, our id, the
/// amount our records expect on the balance transaction).
async fn match_source(
    tx: &TenantTx,
    source: &Value,
    category: &str,
) -> Result<(&'static str, Option<uuid::Uuid>, Option<i64>), PaymentsError> {
    let id = source
        .as_str()
        .or_else(|| source["id"].as_str())
        .unwrap_or_default();
    let object = source["object"].as_str().unwrap_or_else(|| {
        if id.starts_with("ch_") || id.starts_with("py_") {
            "charge"
        } else if id.starts_with("re_") || id.starts_with("pyr_") {
            "refund"
        } else if id.starts_with("du_") || id.starts_with("dp_") {
            "dispute"
        } else {
            ""
        }
    });
    match object {
        "charge" => {
            let pi = source["payment_intent"]
                .as_str()
                .or_else(|| source["payment_intent"]["id"].as_str());
            let ours = source["metadata"]["aqueduct_payment_id"]
                .as_str()
                .and_then(|s| s.parse::<uuid::Uuid>().ok());
            let q = scoped::<payment::Entity>(tx);
            let q = match (ours, pi) {
                (Some(p), _) => q.filter(payment::Column::Id.eq(p)),
                (None, Some(pi)) => q.filter(payment::Column::PaymentIntentId.eq(pi)),
                (None, None) => q.filter(payment::Column::ChargeId.eq(id)),
            };
            Ok(match q.one(tx.conn()).await? {
                Some(p) if p.posted_at.is_some() => ("payment", Some(p.id), Some(p.captured_cents)),
                // Stripe has the money, our ledger does not: a missed webhook.
                Some(p) => ("payment", Some(p.id), Some(0)),
                None => ("none", None, None),
            })
        }
        "refund" => Ok(
            match scoped::<refund::Entity>(tx)
                .filter(refund::Column::StripeRefundId.eq(id))
                .one(tx.conn())
                .await?
            {
                Some(r) if r.posted_at.is_some() => ("refund", Some(r.id), Some(-r.amount_cents)),
                Some(r) => ("refund", Some(r.id), Some(0)),
                None => ("none", None, None),
            },
        ),
        "dispute" => {
            let row = scoped::<dispute::Entity>(tx)
                .filter(dispute::Column::StripeDisputeId.eq(id))
                .one(tx.conn())
                .await?;
            // A dispute debits its amount; a won dispute credits it back.
            let sign = if category == "dispute_reversal" {
                1
            } else {
                -1
            };
            Ok(match row {
                Some(d) => ("dispute", Some(d.id), Some(sign * d.amount_cents)),
                None => ("none", None, None),
            })
        }
        _ => Ok(("none", None, None)),
    }
}

/// The association's payouts, newest first.
pub async fn list(tx: &TenantTx) -> Result<Vec<payout::Model>, PaymentsError> {
    Ok(scoped::<payout::Entity>(tx)
        .order_by_desc(payout::Column::Id)
        .all(tx.conn())
        .await?)
}

/// The next payout on its way to the association's bank: the one not yet
/// paid, failed or canceled (`pending` or `in_transit`) that arrives first
/// (a payout with no arrival date last). `None` when none is scheduled.
pub async fn next(tx: &TenantTx) -> Result<Option<payout::Model>, PaymentsError> {
    Ok(scoped::<payout::Entity>(tx)
        .filter(payout::Column::Status.is_in(["pending", "in_transit"]))
        .order_by_with_nulls(
            payout::Column::ArrivalDate,
            sea_orm::Order::Asc,
            sea_orm::sea_query::NullOrdering::Last,
        )
        .order_by_asc(payout::Column::Id)
        .one(tx.conn())
        .await?)
}

/// One payout and its items.
pub async fn get(
    tx: &TenantTx,
    id: uuid::Uuid,
) -> Result<(payout::Model, Vec<payout_item::Model>), PaymentsError> {
    let po = scoped::<payout::Entity>(tx)
        .filter(payout::Column::Id.eq(id))
        .one(tx.conn())
        .await?
        .ok_or(PaymentsError::NotFound)?;
    let items = scoped::<payout_item::Entity>(tx)
        .filter(payout_item::Column::PayoutId.eq(id))
        .order_by_asc(payout_item::Column::Id)
        .all(tx.conn())
        .await?;
    Ok((po, items))
}

/// The `payments.payout` job: reconciles one paid payout.
pub async fn handle(
    db: &Db,
    clock: &dyn Clock,
    stripe: &Stripe,
    job: aqueduct_jobs::JobCtx,
) -> Result<(), aqueduct_jobs::JobError> {
    use aqueduct_jobs::JobError;
    let id: uuid::Uuid = serde_json::from_value(job.payload["payout"].clone())
        .map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
    let tenant = job
        .tenant
        .ok_or_else(|| JobError::Permanent("payments.payout without a tenant".into()))?;
    let ctx = aqueduct_tenant::directory::by_id(db, tenant)
        .await?
        .ok_or_else(|| JobError::Permanent("tenant gone".into()))?;
    match reconcile(db, &ctx, clock, stripe, id).await {
        Ok(r) => {
            tracing::info!(payout = %id, reconciliation = %r.reconciliation, items = r.items, "payout reconciled");
            Ok(())
        }
        Err(PaymentsError::NotFound) => Err(JobError::Permanent("payout row missing".into())),
        Err(e @ (PaymentsError::Stripe(_) | PaymentsError::Db(_))) => {
            Err(JobError::Retry(e.to_string()))
        }
        Err(e) => Err(JobError::Permanent(e.to_string())),
    }
}
