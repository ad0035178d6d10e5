//! Refunds: staff ask, Stripe refunds from the association's balance, the
//! ledger gets one refund entry per Stripe refund. Never more than what was
//! captured; idempotent on the client's key.

use crate::checkout::status;
use crate::entity::{payment, refund};
use crate::stripe_client::{key, stripe_err};
use crate::{PaymentsError, Stripe, connect, ledger};
use aqueduct_core::{AccountId, Clock, Money, PaymentId, RefundId};
use aqueduct_tenant::{Backend, Db, TenantCtx, TenantTx, scoped};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::Value;
use stripe::StripeRequest;
use stripe_core::refund::CreateRefund;

/// A validated refund request.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    /// The payment to refund.
    pub payment: PaymentId,
    /// Amount; `None` means all that is left.
    pub amount: Option<Money>,
    /// Why (shown to staff, kept in the audit trail).
    pub reason: Option<String>,
    /// The client's key: the same key gives the same refund.
    pub idempotency_key: String,
    /// Who asks.
    pub requested_by: String,
}

async fn refunded_or_pending(tx: &TenantTx, payment: uuid::Uuid) -> Result<i64, PaymentsError> {
    let rows = scoped::<refund::Entity>(tx)
        .filter(refund::Column::PaymentId.eq(payment))
        .filter(refund::Column::Status.ne("failed"))
        .all(tx.conn())
        .await?;
    Ok(rows.iter().map(|r| r.amount_cents).sum())
}

/// Refunds (part of) a payment.
#[tracing::instrument(skip_all, fields(tenant = %ctx.slug()))]
pub async fn create(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    stripe: &Stripe,
    req: RefundRequest,
) -> Result<refund::Model, PaymentsError> {
    let tx = db.tenant(ctx).await?;
    let mut q = scoped::<payment::Entity>(&tx).filter(payment::Column::Id.eq(req.payment.uuid()));
    if db.backend() == Backend::Postgres {
        // Serialises refunds of one payment (SQLite already has one writer).
        q = q.lock_exclusive();
    }
    let pay = q.one(tx.conn()).await?.ok_or(PaymentsError::NotFound)?;
    let existing = scoped::<refund::Entity>(&tx)
        .filter(refund::Column::IdempotencyKey.eq(req.idempotency_key.as_str()))
        .one(tx.conn())
        .await?;
    let row = match existing {
        Some(r) => {
            if r.payment_id != pay.id || req.amount.is_some_and(|a| a.cents != r.amount_cents) {
                return Err(PaymentsError::Conflict(
                    "this Idempotency-Key was used for a different refund".into(),
                ));
            }
            r
        }
        None => {
            if pay.status != status::SUCCEEDED {
                return Err(PaymentsError::Invalid(
                    "only a succeeded payment can be refunded".into(),
                ));
            }
            let left = pay.captured_cents - refunded_or_pending(&tx, pay.id).await?;
            let amount = req.amount.map_or(left, |a| a.cents);
            if amount <= 0 || amount > left {
                return Err(PaymentsError::Invalid(format!(
                    "a refund of this payment is between $0.01 and {}",
                    Money::usd(Ord::max(left, 0))
                )));
            }
            let now = clock.now();
            let row = refund::ActiveModel {
                tenant_id: Set(ctx.id().uuid()),
                id: Set(RefundId::new().uuid()),
                payment_id: Set(pay.id),
                idempotency_key: Set(req.idempotency_key.clone()),
                amount_cents: Set(amount),
                status: Set("pending".into()),
                reason: Set(req.reason.clone()),
                stripe_refund_id: Set(None),
                requested_by: Set(req.requested_by.clone()),
                posted_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            };
            refund::Entity::insert(row)
                .exec_with_returning(tx.conn())
                .await?
        }
    };
    let acct = connect::account(&tx)
        .await?
        .ok_or(PaymentsError::NotFound)?;
    tx.commit().await?;
    if row.stripe_refund_id.is_some() || row.status == "failed" {
        return Ok(row);
    }
    let pi = pay
        .payment_intent_id
        .clone()
        .ok_or_else(|| PaymentsError::Invalid("the payment has no Stripe PaymentIntent".into()))?;
    let sent = CreateRefund::new()
        .payment_intent(pi.as_str())
        .amount(row.amount_cents)
        .metadata([("aqueduct_refund_id".to_owned(), row.id.to_string())])
        .customize()
        .account_id(acct.stripe_account_id.as_str().into())
        .request_strategy(key(&format!("aqueduct-refund-{}", row.id))?)
        .send(&stripe.client)
        .await;
    let tx = db.tenant(ctx).await?;
    match sent {
        Ok(r) => {
            let obj = serde_json::json!({
                "id": r.id.as_str(),
                "amount": r.amount,
                "status": r.status.as_deref(),
                "payment_intent": pi,
                "metadata": {"aqueduct_refund_id": row.id.to_string()},
            });
            apply_refund_object(&tx, clock, &obj).await?;
        }
        Err(e) => {
            let e = stripe_err(e);
            if matches!(e, PaymentsError::StripeRefused(_)) {
                refund::Entity::update_many()
                    .col_expr(refund::Column::Status, Expr::value("failed"))
                    .col_expr(refund::Column::UpdatedAt, Expr::value(clock.now()))
                    .filter(refund::Column::TenantId.eq(ctx.id().uuid()))
                    .filter(refund::Column::Id.eq(row.id))
                    .exec(tx.conn())
                    .await?;
                tx.commit().await?;
            }
            return Err(e);
        }
    }
    let out = scoped::<refund::Entity>(&tx)
        .filter(refund::Column::Id.eq(row.id))
        .one(tx.conn())
        .await?
        .ok_or(PaymentsError::NotFound)?;
    tx.commit().await?;
    Ok(out)
}

/// Applies a Stripe refund object (from our own call or a webhook): links
/// it to our row (creating one for refunds made in Stripe's dashboard) and
/// posts it once when it succeeded.
pub(crate) async fn apply_refund_object(
    tx: &TenantTx,
    clock: &dyn Clock,
    obj: &Value,
) -> Result<(), PaymentsError> {
    let Some(re_id) = obj["id"].as_str() else {
        return Err(PaymentsError::Invalid("refund without an id".into()));
    };
    let ours = obj["metadata"]["aqueduct_refund_id"]
        .as_str()
        .and_then(|s| s.parse::<uuid::Uuid>().ok());
    let mut q = scoped::<refund::Entity>(tx);
    q = match ours {
        Some(id) => q.filter(refund::Column::Id.eq(id)),
        None => q.filter(refund::Column::StripeRefundId.eq(re_id)),
    };
    let row = match q.one(tx.conn()).await? {
        Some(r) => r,
        None if ours.is_some() => return Err(PaymentsError::NotFound),
        None => {
            // Made outside Aqueduct (Stripe's dashboard): record it.
            let pay = crate::events::find(tx, obj).await?;
            let now = clock.now();
            let row = refund::ActiveModel {
                tenant_id: Set(tx.tenant_id().uuid()),
                id: Set(RefundId::new().uuid()),
                payment_id: Set(pay.id),
                idempotency_key: Set(format!("stripe:{re_id}")),
                amount_cents: Set(obj["amount"].as_i64().unwrap_or(0)),
                status: Set("pending".into()),
                reason: Set(obj["reason"].as_str().map(str::to_owned)),
                stripe_refund_id: Set(Some(re_id.to_owned())),
                requested_by: Set("stripe".into()),
                posted_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            };
            refund::Entity::insert(row)
                .on_conflict_do_nothing_on([
                    refund::Column::TenantId,
                    refund::Column::IdempotencyKey,
                ])
                .exec_without_returning(tx.conn())
                .await?;
            scoped::<refund::Entity>(tx)
                .filter(refund::Column::StripeRefundId.eq(re_id))
                .one(tx.conn())
                .await?
                .ok_or(PaymentsError::NotFound)?
        }
    };
    let stripe_status = obj["status"].as_str().unwrap_or("pending");
    refund::Entity::update_many()
        .col_expr(refund::Column::StripeRefundId, Expr::value(re_id))
        .filter(refund::Column::TenantId.eq(row.tenant_id))
        .filter(refund::Column::Id.eq(row.id))
        .filter(refund::Column::StripeRefundId.is_null())
        .exec(tx.conn())
        .await?;
    if stripe_status != "succeeded" {
        return Ok(());
    }
    let now = clock.now();
    let won = refund::Entity::update_many()
        .col_expr(refund::Column::Status, Expr::value("succeeded"))
        .col_expr(refund::Column::PostedAt, Expr::value(Some(now)))
        .col_expr(refund::Column::UpdatedAt, Expr::value(now))
        .filter(refund::Column::TenantId.eq(row.tenant_id))
        .filter(refund::Column::Id.eq(row.id))
        .filter(refund::Column::PostedAt.is_null())
        .exec(tx.conn())
        .await?;
    if won.rows_affected == 1 {
        let pay = scoped::<payment::Entity>(tx)
            .filter(payment::Column::Id.eq(row.payment_id))
            .one(tx.conn())
            .await?
            .ok_or(PaymentsError::NotFound)?;
        payment::Entity::update_many()
            .col_expr(
                payment::Column::RefundedCents,
                Expr::col(payment::Column::RefundedCents).add(row.amount_cents),
            )
            .filter(payment::Column::TenantId.eq(pay.tenant_id))
            .filter(payment::Column::Id.eq(pay.id))
            .exec(tx.conn())
            .await?;
        ledger::post_refund(
            tx,
            clock,
            AccountId::from_uuid(pay.account_id),
            Money::usd(row.amount_cents),
            re_id,
        )
        .await?;
        // The convenience fee goes back in proportion (all of it on a full refund).
        let fee_back = crate::fees::convenience_fee_refunded(
            pay.convenience_fee_cents,
            std::cmp::max(pay.captured_cents, pay.amount_cents),
            pay.refunded_cents,
            row.amount_cents,
        );
        if fee_back > 0 {
            ledger::refund_convenience_fee(
                tx,
                clock,
                AccountId::from_uuid(pay.account_id),
                Money::usd(fee_back),
                &format!("{re_id}:convenience_fee"),
            )
            .await?;
        }
        crate::notices::to_customer(
            tx,
            clock,
            aqueduct_notify::Kind::RefundIssued,
            format!("refund:{}", row.id),
            &pay,
            row.amount_cents,
            None,
        )
        .await?;
    }
    Ok(())
}

/// A payment's refunds.
pub async fn for_payment(
    tx: &TenantTx,
    payment: PaymentId,
) -> Result<Vec<refund::Model>, PaymentsError> {
    Ok(scoped::<refund::Entity>(tx)
        .filter(refund::Column::PaymentId.eq(payment.uuid()))
        .all(tx.conn())
        .await?)
}
