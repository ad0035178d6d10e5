//! Disputes: a hold entry when the bank takes the money back, released when
//! the association wins. A closed dispute never reopens.

use crate::entity::dispute;
use crate::{PaymentsError, events, ledger};
use aqueduct_core::{AccountId, Clock, Money};
use aqueduct_tenant::{TenantTx, scoped};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

const FINAL: [&str; 2] = ["won", "lost"];

/// Applies any `charge.dispute.*` object.
pub(crate) async fn apply(
    tx: &TenantTx,
    clock: &dyn Clock,
    obj: &Value,
) -> Result<(), PaymentsError> {
    let Some(du) = obj["id"].as_str() else {
        return Err(PaymentsError::Invalid("dispute without an id".into()));
    };
    let pay = events::find(tx, obj).await?;
    let status = obj["status"].as_str().unwrap_or("needs_response");
    let amount = obj["amount"].as_i64().unwrap_or(pay.captured_cents);
    let now = clock.now();
    dispute::Entity::insert(dispute::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(uuid::Uuid::now_v7()),
        payment_id: Set(pay.id),
        stripe_dispute_id: Set(du.to_owned()),
        amount_cents: Set(amount),
        status: Set(status.to_owned()),
        reason: Set(obj["reason"].as_str().map(str::to_owned)),
        evidence_due_by: Set(obj["evidence_details"]["due_by"].as_i64()),
        hold_posted_at: Set(None),
        released_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict_do_nothing_on([dispute::Column::TenantId, dispute::Column::StripeDisputeId])
    .exec_without_returning(tx.conn())
    .await?;
    let row = scoped::<dispute::Entity>(tx)
        .filter(dispute::Column::StripeDisputeId.eq(du))
        .one(tx.conn())
        .await?
        .ok_or(PaymentsError::NotFound)?;
    let same = || {
        dispute::Entity::update_many()
            .filter(dispute::Column::TenantId.eq(row.tenant_id))
            .filter(dispute::Column::Id.eq(row.id))
    };
    // A final status is never replaced by an earlier one.
    same()
        .col_expr(dispute::Column::Status, Expr::value(status))
        .col_expr(
            dispute::Column::EvidenceDueBy,
            Expr::value(
                obj["evidence_details"]["due_by"]
                    .as_i64()
                    .or(row.evidence_due_by),
            ),
        )
        .col_expr(dispute::Column::UpdatedAt, Expr::value(now))
        .filter(dispute::Column::Status.is_not_in(FINAL))
        .exec(tx.conn())
        .await?;
    let account = AccountId::from_uuid(pay.account_id);
    let held = same()
        .col_expr(dispute::Column::HoldPostedAt, Expr::value(Some(now)))
        .filter(dispute::Column::HoldPostedAt.is_null())
        .exec(tx.conn())
        .await?;
    if held.rows_affected == 1 {
        ledger::post_dispute_hold(tx, clock, account, Money::usd(row.amount_cents), du).await?;
        crate::notices::to_staff(
            tx,
            clock,
            aqueduct_notify::Kind::DisputeOpened,
            format!("dispute:{}", row.id),
            serde_json::json!({
                "amount_cents": row.amount_cents,
                "detail": row.reason.clone().unwrap_or_default(),
                "account": pay.account_id.to_string(),
            }),
        )
        .await?;
    }
    if status == "won" {
        let released = same()
            .col_expr(dispute::Column::ReleasedAt, Expr::value(Some(now)))
            .filter(dispute::Column::ReleasedAt.is_null())
            .exec(tx.conn())
            .await?;
        if released.rows_affected == 1 {
            ledger::release_dispute_hold(tx, clock, du).await?;
        }
    }
    Ok(())
}

/// A payment's disputes.
pub async fn for_payment(
    tx: &TenantTx,
    payment: aqueduct_core::PaymentId,
) -> Result<Vec<dispute::Model>, PaymentsError> {
    Ok(scoped::<dispute::Entity>(tx)
        .filter(dispute::Column::PaymentId.eq(payment.uuid()))
        .all(tx.conn())
        .await?)
}

/// The association's disputes, newest first (at most 200).
pub async fn list(tx: &TenantTx) -> Result<Vec<dispute::Model>, PaymentsError> {
    use sea_orm::{QueryOrder, QuerySelect};
    Ok(scoped::<dispute::Entity>(tx)
        .order_by_desc(dispute::Column::CreatedAt)
        .limit(200)
        .all(tx.conn())
        .await?)
}
