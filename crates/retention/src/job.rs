//! The retention job: for each association, finds closed accounts past
//! their retention period that no legal hold covers and runs every purge
//! step on them, then writes one audit entry with counts (never personal
//! data). A dry run computes the same report and changes nothing.
//!
//! Purge steps are a list ([`default_steps`]): each table holding personal
//! data about an account registers one [`PurgeStep`] that anonymises or
//! removes that account's rows. Two passes follow with their own clocks:
//! payment records ([`crate::payment_records`], `payment_years` after each
//! payment, replaced in the ledger by per-month totals) and usage data
//! ([`crate::usage`], `usage_years` after closure, then only in aggregate).

use crate::entity::{anonymised_account, erasure_request, legal_hold};
use crate::error::RetentionError;
use crate::payment_records::{self, PaymentPurge};
use crate::policy::{self, Limits, Record};
use crate::usage::{self, UsagePurge};
use aqueduct_billing::entity::account;
use aqueduct_core::{Clock, TenantId};
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::{Db, PlatformAccess, TenantCtx, TenantTx, directory, scoped};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};
use serde::Serialize;
use sha2::Sha256;
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use uuid::Uuid;

/// What the steps are given.
#[derive(Debug)]
pub struct PurgeContext {
    /// The job's time.
    pub now: DateTime<Utc>,
    /// The association's salt for hashing identifiers.
    pub salt: Vec<u8>,
}

impl PurgeContext {
    /// A salted, keyed hash of an identifier, as 24 hex digits prefixed
    /// `h:` — the same input always gives the same output within an
    /// association, so totals by account still reconcile.
    pub fn hash(&self, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.salt)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(value.as_bytes());
        let digest = hex::encode(mac.finalize().into_bytes());
        format!("h:{}", &digest[..24])
    }
}

/// The future a purge step returns: the number of rows it changed.
pub type StepFuture<'a> = Pin<Box<dyn Future<Output = Result<u64, DbErr>> + Send + 'a>>;

/// One table's part of the purge.
pub trait PurgeStep: Send + Sync {
    /// A short name for reports and the audit entry.
    fn name(&self) -> &'static str;
    /// Anonymises or removes the rows of `accounts` (all in the
    /// transaction's association); returns how many rows changed.
    fn apply<'a>(
        &'a self,
        tx: &'a TenantTx,
        ctx: &'a PurgeContext,
        accounts: &'a [Uuid],
    ) -> StepFuture<'a>;
}

/// The steps the job runs, in order.
pub fn default_steps() -> Vec<Box<dyn PurgeStep>> {
    use aqueduct_notify::entity::{notification, preference};
    use aqueduct_payments::entity::autopay_mandate;
    use aqueduct_tenant::entity::customer_link;
    vec![
        Box::new(AnonymiseAccounts),
        // The outbox keeps the recipient's address and the message data.
        Box::new(DeleteByAccount::<notification::Entity> {
            name: "notifications",
            tenant: notification::Column::TenantId,
            account: notification::Column::AccountId,
        }),
        Box::new(DeleteByAccount::<preference::Entity> {
            name: "notification_preferences",
            tenant: preference::Column::TenantId,
            account: preference::Column::AccountId,
        }),
        // The saved payment method (Stripe customer and method ids).
        Box::new(DeleteByAccount::<autopay_mandate::Entity> {
            name: "autopay_mandates",
            tenant: autopay_mandate::Column::TenantId,
            account: autopay_mandate::Column::AccountId,
        }),
        // A customer login no longer reaches the anonymised account.
        Box::new(DeleteByAccount::<customer_link::Entity> {
            name: "customer_links",
            tenant: customer_link::Column::TenantId,
            account: customer_link::Column::AccountId,
        }),
    ]
}

/// Deletes the rows of one table that belong to the accounts.
#[derive(Debug)]
pub struct DeleteByAccount<E: EntityTrait> {
    /// Step name (the table).
    pub name: &'static str,
    /// Its tenant column.
    pub tenant: E::Column,
    /// Its account column.
    pub account: E::Column,
}

impl<E> PurgeStep for DeleteByAccount<E>
where
    E: EntityTrait,
    E::Column: Send + Sync,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn apply<'a>(
        &'a self,
        tx: &'a TenantTx,
        _ctx: &'a PurgeContext,
        accounts: &'a [Uuid],
    ) -> StepFuture<'a> {
        Box::pin(async move {
            let mut n = 0;
            for part in accounts.chunks(500) {
                n += E::delete_many()
                    .filter(self.tenant.eq(tx.tenant_id().uuid()))
                    .filter(self.account.is_in(part.iter().copied()))
                    .exec(tx.conn())
                    .await?
                    .rows_affected;
            }
            Ok(n)
        })
    }
}

/// `accounts`: names, mailing address, email, phone and notes replaced;
/// the account number kept only as a salted hash.
#[derive(Debug)]
pub struct AnonymiseAccounts;

/// The name an anonymised account shows.
pub const ANONYMISED: &str = "[anonymised]";

impl PurgeStep for AnonymiseAccounts {
    fn name(&self) -> &'static str {
        "accounts"
    }

    fn apply<'a>(
        &'a self,
        tx: &'a TenantTx,
        ctx: &'a PurgeContext,
        accounts: &'a [Uuid],
    ) -> StepFuture<'a> {
        Box::pin(async move {
            let rows = scoped::<account::Entity>(tx)
                .filter(account::Column::Id.is_in(accounts.iter().copied()))
                .all(tx.conn())
                .await?;
            let mut n = 0;
            for row in rows {
                let number = ctx.hash(&row.account_number);
                let mut a = row.into_active_model();
                a.account_number = Set(number);
                a.holder_name = Set(ANONYMISED.into());
                a.co_holder_name = Set(None);
                a.email = Set(None);
                a.phone = Set(None);
                a.mailing_line1 = Set(None);
                a.mailing_line2 = Set(None);
                a.mailing_city = Set(None);
                a.mailing_state = Set(None);
                a.mailing_postal_code = Set(None);
                a.notes = Set(None);
                a.updated_at = Set(ctx.now);
                a.update(tx.conn()).await?;
                n += 1;
            }
            Ok(n)
        })
    }
}

/// What the job did (or would do) for one association.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TenantReport {
    /// The association.
    pub tenant: TenantId,
    /// Its slug.
    pub slug: String,
    /// Years in force (account information).
    pub policy_years: u32,
    /// Closures before this instant are past the period.
    pub cutoff: DateTime<Utc>,
    /// An association-wide hold stopped everything.
    pub association_held: bool,
    /// Accounts past their period but covered by an account hold.
    pub held: u64,
    /// Accounts anonymised (or, in a dry run, that would be).
    pub anonymised: u64,
    /// Rows changed per account step.
    pub steps: Vec<(String, u64)>,
    /// Years in force for payment records (after each payment).
    pub payment_years: u32,
    /// Payments before this instant are past their period.
    pub payment_cutoff: DateTime<Utc>,
    /// What the payment-record pass removed and wrote.
    pub payments: PaymentPurge,
    /// Years in force for usage data (after closure).
    pub usage_years: u32,
    /// Closures before this instant: usage kept only in aggregate.
    pub usage_cutoff: DateTime<Utc>,
    /// What the usage pass aggregated and removed.
    pub usage: UsagePurge,
    /// Nothing was changed.
    pub dry_run: bool,
}

impl TenantReport {
    /// Whether the run changed (or, dry, would change) anything.
    pub fn changed(&self) -> bool {
        self.anonymised > 0
            || self.payments != PaymentPurge::default()
            || self.usage != UsagePurge::default()
    }
}

/// Runs the job for one association in one transaction: the account steps
/// on closed accounts past the account-information period, then the
/// payment-record pass ([`payment_records`]) and the usage pass
/// ([`usage`]). A legal hold on an account keeps all three away from it;
/// an association-wide hold stops everything. A dry run does the same work
/// and rolls it back, so its counts are exact and nothing changes.
/// `closed_since`: when the association itself was closed by an operator —
/// then every account counts as closed from that moment at the latest, so
/// a closed association's data follows the same clock as a closed
/// account's.
pub async fn run_tenant(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    limits: &Limits,
    steps: &[Box<dyn PurgeStep>],
    dry_run: bool,
    closed_since: Option<DateTime<Utc>>,
) -> Result<TenantReport, RetentionError> {
    let tx = db.tenant(ctx).await?;
    let now = clock.now();
    let years = policy::years(&tx, limits).await?;
    let cutoff = policy::cutoff(now, years);
    let payment_years = policy::years_for(&tx, limits, Record::Payment).await?;
    let usage_years = policy::years_for(&tx, limits, Record::Usage).await?;
    let holds = scoped::<legal_hold::Entity>(&tx)
        .filter(legal_hold::Column::ReleasedAt.is_null())
        .all(tx.conn())
        .await?;
    let mut report = TenantReport {
        tenant: ctx.id(),
        slug: ctx.slug().as_str().to_owned(),
        policy_years: years,
        cutoff,
        association_held: holds.iter().any(|h| h.account_id.is_none()),
        held: 0,
        anonymised: 0,
        steps: Vec::new(),
        payment_years,
        payment_cutoff: policy::cutoff(now, payment_years),
        payments: PaymentPurge::default(),
        usage_years,
        usage_cutoff: policy::cutoff(now, usage_years),
        usage: UsagePurge::default(),
        dry_run,
    };
    let held: HashSet<Uuid> = holds.iter().filter_map(|h| h.account_id).collect();
    let done: HashSet<Uuid> = scoped::<anonymised_account::Entity>(&tx)
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|a| a.account_id)
        .collect();
    let due = closed_before(&tx, cutoff, closed_since, &done).await?;
    if report.association_held {
        report.held = due.len() as u64;
        tx.rollback().await?;
        return Ok(report);
    }
    let (blocked, due): (Vec<Uuid>, Vec<Uuid>) = due.into_iter().partition(|id| held.contains(id));
    report.held = blocked.len() as u64;
    report.anonymised = due.len() as u64;
    if due.is_empty() {
        report.steps = steps.iter().map(|s| (s.name().to_owned(), 0)).collect();
    } else {
        anonymise(&tx, clock, steps, &due, years, &mut report).await?;
    }
    report.payments = payment_records::purge(&tx, now, report.payment_cutoff, &held).await?;
    let aggregated = usage::aggregated(&tx).await?;
    let usage_due: Vec<Uuid> = closed_before(&tx, report.usage_cutoff, closed_since, &aggregated)
        .await?
        .into_iter()
        .filter(|id| !held.contains(id))
        .collect();
    report.usage = usage::aggregate(&tx, now, usage_years, &usage_due).await?;
    if !report.changed() {
        tx.rollback().await?;
        return Ok(report);
    }
    let mut counts: Vec<(String, u64)> = report.steps.clone();
    counts.extend(report.payments.steps());
    counts.extend(report.usage.steps());
    audit::record_in(
        &tx,
        clock,
        AuditEntry {
            tenant: None,
            actor: "system:retention".into(),
            action: "retention.purge".into(),
            target: None,
            outcome: Outcome::Success,
            request_id: None,
            ip: None,
            details: Some(serde_json::json!({
                "policy_years": years,
                "cutoff": cutoff,
                "payment_years": payment_years,
                "payment_cutoff": report.payment_cutoff,
                "usage_years": usage_years,
                "usage_cutoff": report.usage_cutoff,
                "accounts_anonymised": report.anonymised,
                "accounts_held": report.held,
                "steps": counts.iter().map(|(n, c)| serde_json::json!({"step": n, "rows": c})).collect::<Vec<_>>(),
            })),
        },
    )
    .await?;
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(report)
}

/// Accounts closed before `cutoff` (every account when the association
/// itself closed before it), minus `skip`, in id order.
async fn closed_before(
    tx: &TenantTx,
    cutoff: DateTime<Utc>,
    closed_since: Option<DateTime<Utc>>,
    skip: &HashSet<Uuid>,
) -> Result<Vec<Uuid>, RetentionError> {
    let mut candidates = scoped::<account::Entity>(tx);
    if closed_since.is_none_or(|c| c > cutoff) {
        candidates = candidates
            .filter(account::Column::ClosedAt.is_not_null())
            .filter(account::Column::ClosedAt.lte(cutoff));
    }
    Ok(candidates
        .order_by_asc(account::Column::Id)
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|a| a.id)
        .filter(|id| !skip.contains(id))
        .collect())
}

/// The account steps on `due`, their record and fulfilled erasure requests.
async fn anonymise(
    tx: &TenantTx,
    clock: &dyn Clock,
    steps: &[Box<dyn PurgeStep>],
    due: &[Uuid],
    years: u32,
    report: &mut TenantReport,
) -> Result<(), RetentionError> {
    let now = clock.now();
    let salt = policy::ensure(tx, clock, "system:retention")
        .await?
        .hash_salt;
    let pctx = PurgeContext {
        now,
        salt: hex::decode(&salt).unwrap_or_else(|_| salt.into_bytes()),
    };
    for step in steps {
        let n = step.apply(tx, &pctx, due).await?;
        report.steps.push((step.name().to_owned(), n));
    }
    for id in due {
        anonymised_account::Entity::insert(
            anonymised_account::Model {
                tenant_id: tx.tenant_id().uuid(),
                id: Uuid::now_v7(),
                account_id: *id,
                anonymised_at: now,
                policy_years: i32::try_from(years).unwrap_or(i32::MAX),
            }
            .into_active_model(),
        )
        .exec_without_returning(tx.conn())
        .await?;
    }
    // Pending erasure requests of these accounts are now fulfilled.
    erasure_request::Entity::update_many()
        .col_expr(erasure_request::Column::Status, "erased".into())
        .col_expr(
            erasure_request::Column::Answer,
            "Erased by the retention job once the retention period ended.".into(),
        )
        .filter(erasure_request::Column::TenantId.eq(tx.tenant_id().uuid()))
        .filter(erasure_request::Column::AccountId.is_in(due.iter().copied()))
        .exec(tx.conn())
        .await?;
    Ok(())
}

/// Runs the job for every association (listed through the audited
/// platform path).
pub async fn run(
    db: &Db,
    clock: &dyn Clock,
    limits: &Limits,
    dry_run: bool,
) -> Result<Vec<TenantReport>, RetentionError> {
    let tx = db
        .platform(
            PlatformAccess {
                actor: "system:retention".into(),
                reason: if dry_run {
                    "retention.dry_run"
                } else {
                    "retention.run"
                },
                request_id: None,
            },
            clock,
        )
        .await?;
    let tenants = directory::list(&tx).await?;
    // When each closed association was closed: its last status change.
    let closed: std::collections::HashMap<Uuid, DateTime<Utc>> =
        aqueduct_tenant::entity::tenant::Entity::find()
            .filter(aqueduct_tenant::entity::tenant::Column::Status.eq("closed"))
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|t| (t.id, t.updated_at))
            .collect();
    tx.commit().await?;
    let steps = default_steps();
    let mut out = Vec::new();
    for t in tenants {
        let since = closed.get(&t.id().uuid()).copied();
        out.push(run_tenant(db, &t, clock, limits, &steps, dry_run, since).await?);
    }
    Ok(out)
}
