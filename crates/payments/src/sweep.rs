//! The reconciliation sweep: per connected account, list recent Checkout
//! Sessions, PaymentIntents, refunds and disputes from Stripe and apply
//! each through the same code a webhook takes, with the event kind the
//! object's state implies. Everything there is idempotent on our own ids
//! (a payment posts once, a refund once, a dispute hold once), so a sweep
//! repairs what lost webhooks left out and a second sweep changes nothing.

use crate::entity::autopay_mandate;
use crate::stripe_client::{get_json, list_all};
use crate::{PaymentsError, Stripe, connect, events};
use aqueduct_core::Clock;
use aqueduct_tenant::{Db, TenantCtx, scoped};
use sea_orm::{ColumnTrait, QueryFilter};
use serde::Serialize;
use serde_json::Value;

/// How many of each kind (newest first) one sweep looks at.
pub const RECENT: usize = 300;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Objects looked at.
    pub seen: u32,
    /// Objects applied (most change nothing: they were applied already).
    pub applied: u32,
    /// Objects about payments we do not know (made outside Aqueduct).
    pub unknown: u32,
    /// Objects that failed to apply (logged).
    pub errors: u32,
    /// Saved autopay methods detached (turned off while Stripe was away).
    pub detached: u32,
}

impl SweepReport {
    fn add(&mut self, other: &SweepReport) {
        self.seen += other.seen;
        self.applied += other.applied;
        self.unknown += other.unknown;
        self.errors += other.errors;
        self.detached += other.detached;
    }
}

/// Sweeps every association with a connected account.
pub async fn run(
    db: &Db,
    clock: &dyn Clock,
    stripe: &Stripe,
) -> Result<SweepReport, PaymentsError> {
    let mut total = SweepReport::default();
    for ctx in connect::connected_tenants(db).await? {
        match run_tenant(db, &ctx, clock, stripe).await {
            Ok(r) => total.add(&r),
            Err(e) => {
                tracing::error!(tenant = %ctx.slug(), error = %e, "reconciliation sweep failed for an association");
                total.errors += 1;
            }
        }
    }
    Ok(total)
}

/// The event kind a Checkout Session's state implies (`None`: nothing to do yet).
fn session_kind(cs: &Value) -> Option<&'static str> {
    match cs["status"].as_str() {
        Some("complete") => Some("checkout.session.completed"),
        Some("expired") => Some("checkout.session.expired"),
        _ => None,
    }
}

/// The event kind a PaymentIntent's state implies.
fn intent_kind(pi: &Value) -> Option<&'static str> {
    match pi["status"].as_str() {
        Some("succeeded") => Some("payment_intent.succeeded"),
        Some("processing") => Some("payment_intent.processing"),
        Some("requires_payment_method") if !pi["last_payment_error"].is_null() => {
            Some("payment_intent.payment_failed")
        }
        _ => None,
    }
}

/// Sweeps one association.
#[tracing::instrument(skip_all, fields(tenant = %ctx.slug()))]
pub async fn run_tenant(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    stripe: &Stripe,
) -> Result<SweepReport, PaymentsError> {
    let mut report = SweepReport::default();
    let tx = db.tenant(ctx).await?;
    let Some(acct) = connect::account(&tx).await? else {
        tx.commit().await?;
        return Ok(report);
    };
    // Setup pages still open: the SetupIntent saves the method.
    let open_setups: Vec<String> = scoped::<autopay_mandate::Entity>(&tx)
        .filter(autopay_mandate::Column::SetupUrl.is_not_null())
        .all(tx.conn())
        .await?
        .into_iter()
        .filter_map(|m| m.setup_session_id)
        .collect();
    tx.commit().await?;
    let account = acct.stripe_account_id.as_str();
    let now = clock.now().timestamp();

    let mut work: Vec<(&'static str, Value)> = Vec::new();
    for cs in list_all(stripe, account, "/checkout/sessions", "", RECENT).await? {
        if cs["mode"] == "payment"
            && cs["metadata"]["aqueduct_payment_id"].is_string()
            && let Some(kind) = session_kind(&cs)
        {
            work.push((kind, cs));
        }
    }
    for pi in list_all(stripe, account, "/payment_intents", "", RECENT).await? {
        if pi["metadata"]["aqueduct_payment_id"].is_string()
            && let Some(kind) = intent_kind(&pi)
        {
            work.push((kind, pi));
        }
    }
    for re in list_all(stripe, account, "/refunds", "", RECENT).await? {
        work.push(("refund.updated", re));
    }
    for du in list_all(stripe, account, "/disputes", "", RECENT).await? {
        work.push(("charge.dispute.updated", du));
    }
    for id in open_setups {
        let cs = get_json(
            stripe,
            account,
            &format!("/checkout/sessions/{id}"),
            "expand[]=setup_intent",
        )
        .await?;
        if cs["status"] == "complete" && cs["setup_intent"].is_object() {
            work.push(("setup_intent.succeeded", cs["setup_intent"].clone()));
        }
        if session_kind(&cs).is_some() {
            work.push(("checkout.session.completed", cs));
        }
    }

    for (kind, obj) in work {
        report.seen += 1;
        let created = obj["created"].as_i64().unwrap_or(now);
        // One transaction per object: one bad object does not stop the rest.
        let tx = db.tenant(ctx).await?;
        match events::apply(&tx, clock, kind, &obj, created).await {
            Ok(()) => {
                tx.commit().await?;
                report.applied += 1;
            }
            Err(PaymentsError::NotFound) => {
                tx.rollback().await?;
                report.unknown += 1;
            }
            Err(e) => {
                tx.rollback().await?;
                tracing::warn!(kind, id = %obj["id"], error = %e, "sweep could not apply an object");
                report.errors += 1;
            }
        }
    }
    // Autopay turned off while Stripe could not be reached: detach now.
    report.detached = crate::autopay::detach_pending(db, ctx, clock, stripe).await?;
    tracing::info!(?report, "reconciliation sweep done");
    Ok(report)
}
