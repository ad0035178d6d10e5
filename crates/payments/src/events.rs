//! The `stripe.event` job: applies one received event to the association
//! it belongs to. Idempotent and order-independent: states only move
//! forward, every ledger posting happens once, and an event about an object
//! we do not know yet is retried later.

use crate::checkout::status;
use crate::entity::{payment, stripe_event};
use crate::{PaymentsError, connect, disputes, ledger, refunds};
use aqueduct_core::{AccountId, Clock, Money, TenantId};
use aqueduct_jobs::{JobCtx, JobError};
use aqueduct_tenant::{Db, TenantTx, directory, scoped};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

/// Runs one `stripe.event` job.
pub async fn handle(db: &Db, clock: &dyn Clock, job: JobCtx) -> Result<(), JobError> {
    let row_id: uuid::Uuid = serde_json::from_value(job.payload["event_row"].clone())
        .map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
    let tenant = job
        .tenant
        .ok_or_else(|| JobError::Permanent("stripe.event without a tenant".into()))?;
    let tx = db.system("stripe.event.load").await?;
    let event = stripe_event::Entity::find_by_id(row_id)
        .one(tx.conn())
        .await?;
    tx.commit().await?;
    let event = event.ok_or_else(|| JobError::Permanent("event row missing".into()))?;
    match process(db, clock, tenant, &event).await {
        Ok(()) => Ok(()),
        // The object may not be ours yet (its session is being created, an
        // earlier event is late): try again later, backing off from 30 s
        // to an hour; the reconciliation sweep repairs what never converges.
        Err(PaymentsError::NotFound) => Err(JobError::RetryAfter {
            after: unknown_object_backoff(job.attempt),
            message: format!(
                "{} {}: object not known yet",
                event.event_type, event.event_id
            ),
        }),
        Err(PaymentsError::Db(e)) => Err(JobError::Retry(e.to_string())),
        Err(e) => Err(JobError::Permanent(e.to_string())),
    }
}

/// Attempts for one event before its job is dead (about five hours of
/// backoff for an object we do not know yet).
pub const EVENT_MAX_ATTEMPTS: i32 = 12;

/// The wait before retrying an event about an unknown object.
pub fn unknown_object_backoff(attempt: i32) -> chrono::Duration {
    let shift = u32::try_from((attempt - 1).clamp(0, 7)).unwrap_or(0);
    (chrono::Duration::seconds(30) * (1 << shift)).min(chrono::Duration::hours(1))
}

#[tracing::instrument(skip_all, fields(event_id = %event.event_id, event_type = %event.event_type))]
async fn process(
    db: &Db,
    clock: &dyn Clock,
    tenant: TenantId,
    event: &stripe_event::Model,
) -> Result<(), PaymentsError> {
    let ctx = directory::by_id(db, tenant)
        .await?
        .ok_or_else(|| PaymentsError::Invalid("tenant gone".into()))?;
    let body: Value = serde_json::from_str(&event.payload)
        .map_err(|e| PaymentsError::Invalid(format!("stored event does not parse: {e}")))?;
    let obj = &body["data"]["object"];
    let tx = db.tenant(&ctx).await?;
    // Second line: the event's account must be this tenant's own.
    let own = connect::account(&tx).await?;
    if own.as_ref().map(|a| a.stripe_account_id.as_str()) != event.stripe_account_id.as_deref() {
        return Err(PaymentsError::Invalid(
            "the event's connected account is not this association's".into(),
        ));
    }
    apply(&tx, clock, &event.event_type, obj, event.created).await?;
    tx.commit().await?;
    Ok(())
}

/// Applies one Stripe object as the event `kind` says (webhooks, and the
/// reconciliation sweep with the kind the object's state implies).
pub(crate) async fn apply(
    tx: &TenantTx,
    clock: &dyn Clock,
    kind: &str,
    obj: &Value,
    created: i64,
) -> Result<(), PaymentsError> {
    match kind {
        "account.updated" => connect::apply_account_updated(tx, clock, obj, created).await?,
        "checkout.session.completed" | "checkout.session.expired" if obj["mode"] == "setup" => {
            crate::autopay::apply_setup_session(tx, clock, obj).await?;
        }
        "setup_intent.succeeded" => {
            let at = chrono::DateTime::from_timestamp(created, 0).unwrap_or_else(|| clock.now());
            crate::autopay::apply_setup_intent(tx, clock, obj, at).await?;
        }
        kind if kind.starts_with("payout.") => {
            crate::payouts::apply(tx, clock, obj).await?;
        }
        "checkout.session.completed" => {
            let p = find(tx, obj).await?;
            if obj["payment_status"] == "paid" {
                succeed(tx, clock, &p, obj, obj["amount_total"].as_i64()).await?;
            } else {
                processing(tx, clock, &p, obj).await?;
            }
        }
        "checkout.session.async_payment_succeeded" => {
            let p = find(tx, obj).await?;
            succeed(tx, clock, &p, obj, obj["amount_total"].as_i64()).await?;
        }
        "checkout.session.async_payment_failed" => {
            let p = find(tx, obj).await?;
            fail(tx, clock, &p, "The bank payment failed.").await?;
        }
        "checkout.session.expired" => {
            let p = find(tx, obj).await?;
            if p.status == status::PENDING {
                fail(tx, clock, &p, "The payment page expired.").await?;
            }
        }
        "payment_intent.succeeded" => {
            let p = find(tx, obj).await?;
            succeed(tx, clock, &p, obj, obj["amount_received"].as_i64()).await?;
        }
        "payment_intent.processing" => {
            let p = find(tx, obj).await?;
            processing(tx, clock, &p, obj).await?;
        }
        "payment_intent.payment_failed" => {
            let p = find(tx, obj).await?;
            let error = &obj["last_payment_error"];
            let bank = error["payment_method"]["type"] == "us_bank_account"
                || p.status == status::PROCESSING;
            let reason = error["message"].as_str().unwrap_or("The payment failed.");
            if bank {
                fail(tx, clock, &p, reason).await?;
            } else {
                // A declined card: the customer may try again on the same page.
                note_failure(tx, clock, &p, reason).await?;
            }
            if crate::autopay::is_autopay(&p) {
                let code = error["code"].as_str().unwrap_or("payment_failed");
                crate::autopay::failed(tx, clock, &p, code, reason).await?;
            }
        }
        "refund.created" | "refund.updated" => refunds::apply_refund_object(tx, clock, obj).await?,
        "charge.refunded" => {
            for r in obj["refunds"]["data"].as_array().into_iter().flatten() {
                refunds::apply_refund_object(tx, clock, r).await?;
            }
        }
        kind if kind.starts_with("charge.dispute.") => {
            disputes::apply(tx, clock, obj).await?;
        }
        other => tracing::debug!(event_type = other, "event not used"),
    }
    Ok(())
}

fn text(v: &Value) -> Option<&str> {
    v.as_str().or_else(|| v["id"].as_str())
}

/// The payment an object (session, PaymentIntent, charge, dispute, refund)
/// is about: by our id in its metadata, else by Stripe ids we stored.
pub(crate) async fn find(tx: &TenantTx, obj: &Value) -> Result<payment::Model, PaymentsError> {
    let by_meta = obj["metadata"]["aqueduct_payment_id"]
        .as_str()
        .and_then(|s| s.parse::<uuid::Uuid>().ok());
    let mut q = scoped::<payment::Entity>(tx);
    q = if let Some(id) = by_meta {
        q.filter(payment::Column::Id.eq(id))
    } else if obj["object"] == "checkout.session" {
        q.filter(payment::Column::CheckoutSessionId.eq(text(&obj["id"]).unwrap_or_default()))
    } else {
        let pi = if obj["object"] == "payment_intent" {
            text(&obj["id"])
        } else {
            text(&obj["payment_intent"])
        };
        q.filter(payment::Column::PaymentIntentId.eq(pi.unwrap_or_default()))
    };
    q.one(tx.conn()).await?.ok_or(PaymentsError::NotFound)
}

fn intent_id(obj: &Value) -> Option<String> {
    if obj["object"] == "payment_intent" {
        text(&obj["id"]).map(str::to_owned)
    } else {
        text(&obj["payment_intent"]).map(str::to_owned)
    }
}

fn update(p: &payment::Model) -> sea_orm::UpdateMany<payment::Entity> {
    payment::Entity::update_many()
        .filter(payment::Column::TenantId.eq(p.tenant_id))
        .filter(payment::Column::Id.eq(p.id))
}

/// The ledger's external id for a payment: ours, so every event about it
/// agrees.
pub(crate) fn external_id(p: &payment::Model) -> String {
    format!("payment:{}", p.id)
}

/// pending | processing | failed → succeeded, posting once.
async fn succeed(
    tx: &TenantTx,
    clock: &dyn Clock,
    p: &payment::Model,
    obj: &Value,
    amount: Option<i64>,
) -> Result<(), PaymentsError> {
    let captured = amount.unwrap_or(p.amount_cents);
    let mut q = update(p)
        .col_expr(payment::Column::Status, Expr::value(status::SUCCEEDED))
        .col_expr(payment::Column::CapturedCents, Expr::value(captured))
        .col_expr(payment::Column::PostedAt, Expr::value(Some(clock.now())))
        .col_expr(payment::Column::UpdatedAt, Expr::value(clock.now()))
        .filter(payment::Column::PostedAt.is_null());
    if let Some(pi) = intent_id(obj) {
        q = q.col_expr(payment::Column::PaymentIntentId, Expr::value(pi));
    }
    if let Some(ch) = text(&obj["latest_charge"]) {
        q = q.col_expr(payment::Column::ChargeId, Expr::value(ch));
    }
    if q.exec(tx.conn()).await?.rows_affected == 1 {
        ledger::post_payment(
            tx,
            clock,
            AccountId::from_uuid(p.account_id),
            Money::usd(captured),
            &external_id(p),
        )
        .await?;
        if p.convenience_fee_cents > 0 {
            ledger::post_convenience_fee(
                tx,
                clock,
                AccountId::from_uuid(p.account_id),
                Money::usd(p.convenience_fee_cents),
                &format!("{}:convenience_fee", external_id(p)),
            )
            .await?;
        }
        crate::notices::to_customer(
            tx,
            clock,
            aqueduct_notify::Kind::PaymentReceived,
            external_id(p),
            p,
            captured,
            None,
        )
        .await?;
        tracing::info!(payment = %p.id, cents = captured, "payment succeeded and posted");
    } else if let Some(pi) = intent_id(obj) {
        // Already posted: still remember Stripe's ids.
        update(p)
            .col_expr(payment::Column::PaymentIntentId, Expr::value(pi))
            .filter(payment::Column::PaymentIntentId.is_null())
            .exec(tx.conn())
            .await?;
    }
    Ok(())
}

/// pending → processing (a bank debit on its way; late fees skip it).
async fn processing(
    tx: &TenantTx,
    clock: &dyn Clock,
    p: &payment::Model,
    obj: &Value,
) -> Result<(), PaymentsError> {
    let mut q = update(p)
        .col_expr(payment::Column::Status, Expr::value(status::PROCESSING))
        .col_expr(payment::Column::Method, Expr::value("us_bank_account"))
        .col_expr(payment::Column::UpdatedAt, Expr::value(clock.now()))
        .filter(payment::Column::Status.eq(status::PENDING));
    if let Some(pi) = intent_id(obj) {
        q = q.col_expr(payment::Column::PaymentIntentId, Expr::value(pi));
    }
    if q.exec(tx.conn()).await?.rows_affected == 1 {
        ledger::payment_processing(
            tx,
            clock,
            AccountId::from_uuid(p.account_id),
            &external_id(p),
        )
        .await?;
    }
    Ok(())
}

/// pending | processing → failed; undoes the in-flight mark.
async fn fail(
    tx: &TenantTx,
    clock: &dyn Clock,
    p: &payment::Model,
    reason: &str,
) -> Result<(), PaymentsError> {
    let res = update(p)
        .col_expr(payment::Column::Status, Expr::value(status::FAILED))
        .col_expr(payment::Column::FailureReason, Expr::value(reason))
        .col_expr(payment::Column::UpdatedAt, Expr::value(clock.now()))
        .filter(payment::Column::Status.is_in([status::PENDING, status::PROCESSING]))
        .exec(tx.conn())
        .await?;
    if res.rows_affected == 1 {
        ledger::payment_failed(tx, clock, &external_id(p)).await?;
        if p.status == status::PROCESSING || p.method.as_deref() == Some("us_bank_account") {
            crate::notices::to_customer(
                tx,
                clock,
                aqueduct_notify::Kind::PaymentFailed,
                external_id(p),
                p,
                p.amount_cents,
                Some(reason),
            )
            .await?;
        }
    }
    Ok(())
}

async fn note_failure(
    tx: &TenantTx,
    clock: &dyn Clock,
    p: &payment::Model,
    reason: &str,
) -> Result<(), PaymentsError> {
    update(p)
        .col_expr(payment::Column::FailureReason, Expr::value(reason))
        .col_expr(payment::Column::UpdatedAt, Expr::value(clock.now()))
        .filter(payment::Column::Status.eq(status::PENDING))
        .exec(tx.conn())
        .await?;
    Ok(())
}
