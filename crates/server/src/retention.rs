//! `aqueduct retention run [--dry-run] | hold … | policy …`: the data
//! lifecycle from the command line (see docs/operations.md).

use crate::config::Config;
use crate::database;
use anyhow::{Context, bail};
use aqueduct_core::Clock;
use aqueduct_core::id::LegalHoldId;
use aqueduct_retention::holds::{self, HoldScope};
use aqueduct_retention::policy::{self, Limits, Record};
use aqueduct_retention::{accounts, job};
use aqueduct_tenant::{Access, Db, TenantCtx, directory};
use clap::{Args, Subcommand};

/// Prints one line to stdout (a closed pipe is not an error).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `aqueduct retention …`
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: RetentionAction,
}

/// Retention actions.
#[derive(Debug, Subcommand)]
pub enum RetentionAction {
    /// Anonymise what has passed its retention period (every association).
    Run {
        /// Print what would happen; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Legal holds.
    Hold {
        /// Hold action.
        #[command(subcommand)]
        action: HoldAction,
    },
    /// Export everything held on one account (JSON + CSV in a zip), for
    /// a data subject access request. Audited.
    Export {
        /// Association slug.
        #[arg(long)]
        tenant: String,
        /// Account number.
        #[arg(long)]
        account: String,
        /// Where to write the zip.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Who asks (recorded in the audit log).
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Export all of one association's data (every table, JSON + CSV, with
    /// a README) for an exit or an audit. Audited.
    Archive {
        /// Association slug.
        #[arg(long)]
        tenant: String,
        /// Where to write the zip.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Who asks (recorded in the audit log).
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Record an erasure request for one account and print the answer.
    Erase {
        /// Association slug.
        #[arg(long)]
        tenant: String,
        /// Account number.
        #[arg(long)]
        account: String,
        /// Who asks (the customer, or staff for them).
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Set an association's retention period.
    Policy {
        /// Association slug.
        #[arg(long)]
        tenant: String,
        /// Years kept (`default` follows the platform setting).
        #[arg(long)]
        years: String,
        /// Which period: `account` (information, after closure),
        /// `payment` (records, after each payment) or `usage` (data, after
        /// closure; then only in aggregate).
        #[arg(long, default_value = "account")]
        record: String,
        /// Who decides (recorded in the audit log).
        #[arg(long, default_value = "cli")]
        by: String,
    },
}

/// `aqueduct retention hold …`
#[derive(Debug, Subcommand)]
pub enum HoldAction {
    /// Place a hold on one account (`--account NUMBER`) or the whole
    /// association.
    Set {
        /// Association slug.
        #[arg(long)]
        tenant: String,
        /// Account number; without it the hold covers the association.
        #[arg(long)]
        account: Option<String>,
        /// Why (matter, request reference).
        #[arg(long)]
        reason: String,
        /// Who places it.
        #[arg(long)]
        by: String,
    },
    /// Release a hold.
    Release {
        /// Association slug.
        #[arg(long)]
        tenant: String,
        /// Hold id.
        id: LegalHoldId,
        /// Why it ends.
        #[arg(long)]
        reason: String,
        /// Who releases it.
        #[arg(long)]
        by: String,
    },
    /// List an association's holds.
    List {
        /// Association slug.
        #[arg(long)]
        tenant: String,
    },
}

/// The platform limits from the configuration.
pub fn limits(config: &Config) -> Limits {
    let r = &config.retention;
    Limits {
        default_years: r.default_years,
        minimum_years: r.minimum_years,
        payment_default_years: r.payment_default_years,
        payment_minimum_years: r.payment_minimum_years,
        usage_default_years: r.usage_default_years,
        usage_minimum_years: r.usage_minimum_years,
    }
}

async fn tenant(db: &Db, slug: &str) -> anyhow::Result<TenantCtx> {
    directory::by_slug(db, slug)
        .await?
        .with_context(|| format!("no association with slug {slug}"))
}

/// Runs `aqueduct retention …`.
pub async fn run(args: RetentionArgs, config: &Config, clock: &dyn Clock) -> anyhow::Result<()> {
    let db = database::connect(config).await?;
    let limits = limits(config);
    match args.action {
        RetentionAction::Run { dry_run } => {
            let reports = job::run(&db, clock, &limits, dry_run).await?;
            let verb = if dry_run {
                "would anonymise"
            } else {
                "anonymised"
            };
            for r in &reports {
                if r.association_held {
                    out!(
                        "{}: association-wide legal hold; {} account(s) past the period left untouched",
                        r.slug,
                        r.held
                    );
                    continue;
                }
                out!(
                    "{}: policy {} years (closed before {}): {verb} {} account(s); {} held",
                    r.slug,
                    r.policy_years,
                    r.cutoff.format("%Y-%m-%d"),
                    r.anonymised,
                    r.held
                );
                let p = &r.payments;
                out!(
                    "{}: payment records {} years (before {}): {} ledger entries into {} monthly totals; {} payments, {} refunds, {} disputes, {} autopay charges, {} payout items, {} in-flight markers, {} webhook events removed",
                    r.slug,
                    r.payment_years,
                    r.payment_cutoff.format("%Y-%m-%d"),
                    p.ledger_entries,
                    p.ledger_summaries,
                    p.payments,
                    p.refunds,
                    p.disputes,
                    p.autopay_charges,
                    p.payout_items,
                    p.in_flight,
                    p.stripe_events
                );
                out!(
                    "{}: usage {} years (closed before {}): {} account(s) into {} aggregate row(s) ({} bills); {} meter reads removed",
                    r.slug,
                    r.usage_years,
                    r.usage_cutoff.format("%Y-%m-%d"),
                    r.usage.accounts,
                    r.usage.aggregate_rows,
                    r.usage.bills,
                    r.usage.meter_reads
                );
            }
            if dry_run {
                out!("dry run: nothing was changed");
            }
            Ok(())
        }
        RetentionAction::Policy {
            tenant: slug,
            years,
            record,
            by,
        } => {
            let record = match record.as_str() {
                "account" => Record::Account,
                "payment" => Record::Payment,
                "usage" => Record::Usage,
                other => bail!("--record is account, payment or usage, not {other:?}"),
            };
            let ctx = tenant(&db, &slug).await?;
            let years = match years.as_str() {
                "default" => None,
                y => Some(
                    y.parse::<u32>()
                        .context("--years is a number or `default`")?,
                ),
            };
            let tx = db.tenant(&ctx).await?;
            policy::set_years_for(&tx, clock, &by, record, years, &limits).await?;
            let now = policy::years_for(&tx, &limits, record).await?;
            tx.commit().await?;
            match record {
                Record::Account => {
                    out!("{slug}: account information is kept {now} years after closure")
                }
                Record::Payment => {
                    out!("{slug}: payment records are kept {now} years after the payment")
                }
                Record::Usage => out!(
                    "{slug}: usage data is kept {now} years after closure, then only in aggregate"
                ),
            }
            Ok(())
        }
        RetentionAction::Hold { action } => hold(&db, clock, action).await,
        RetentionAction::Export {
            tenant: slug,
            account,
            out: path,
            by,
        } => {
            let ctx = tenant(&db, &slug).await?;
            let tx = db.tenant(&ctx).await?;
            let id = account_id(&tx, &slug, &account).await?;
            let export = aqueduct_retention::export::account(&tx, clock, &by, id).await?;
            let bytes = aqueduct_retention::export::zip(&export)?;
            std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            tx.commit().await?;
            out!("wrote {} ({} bytes)", path.display(), bytes.len());
            Ok(())
        }
        RetentionAction::Archive {
            tenant: slug,
            out: path,
            by,
        } => {
            let ctx = tenant(&db, &slug).await?;
            let tx = db.tenant(&ctx).await?;
            let bytes = aqueduct_retention::archive::association(&tx, clock, &by).await?;
            std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            tx.commit().await?;
            out!("wrote {} ({} bytes)", path.display(), bytes.len());
            Ok(())
        }
        RetentionAction::Erase {
            tenant: slug,
            account,
            by,
        } => {
            let ctx = tenant(&db, &slug).await?;
            let tx = db.tenant(&ctx).await?;
            let id = account_id(&tx, &slug, &account).await?;
            let answer = aqueduct_retention::erasure::request(&tx, clock, &by, id, &limits).await?;
            tx.commit().await?;
            out!("erasure request {}: {}", answer.id, answer.status);
            out!("{}", answer.answer);
            Ok(())
        }
    }
}

async fn account_id(
    tx: &aqueduct_tenant::TenantTx,
    slug: &str,
    number: &str,
) -> anyhow::Result<aqueduct_core::AccountId> {
    match accounts::by_number(tx, number).await? {
        Some(a) => Ok(aqueduct_core::AccountId::from_uuid(a.id)),
        None => bail!("{slug} has no account {number}"),
    }
}

async fn hold(db: &Db, clock: &dyn Clock, action: HoldAction) -> anyhow::Result<()> {
    match action {
        HoldAction::Set {
            tenant: slug,
            account,
            reason,
            by,
        } => {
            let ctx = tenant(db, &slug).await?;
            let tx = db.tenant(&ctx).await?;
            let scope = match &account {
                None => HoldScope::Association,
                Some(n) => HoldScope::Account(account_id(&tx, &slug, n).await?),
            };
            let id = holds::set(&tx, clock, &by, scope, &reason).await?;
            tx.commit().await?;
            out!(
                "legal hold {id} placed on {}",
                account.map_or_else(|| format!("all of {slug}"), |n| format!("account {n}"))
            );
            Ok(())
        }
        HoldAction::Release {
            tenant: slug,
            id,
            reason,
            by,
        } => {
            let ctx = tenant(db, &slug).await?;
            let tx = db.tenant(&ctx).await?;
            holds::release(&tx, clock, &by, id, &reason).await?;
            tx.commit().await?;
            out!("legal hold {id} released");
            Ok(())
        }
        HoldAction::List { tenant: slug } => {
            let ctx = tenant(db, &slug).await?;
            let tx = db.tenant_with(&ctx, Access::Read).await?;
            let all = holds::all(&tx).await?;
            tx.commit().await?;
            for h in all {
                out!(
                    "{} {:<10} {} by {} at {}{}: {}",
                    h.id,
                    if h.released_at.is_some() {
                        "released"
                    } else {
                        "in force"
                    },
                    h.account_id
                        .map_or_else(|| "association".to_owned(), |a| format!("account {a}")),
                    h.set_by,
                    h.set_at.format("%Y-%m-%d %H:%M"),
                    h.released_at
                        .map(|t| format!(", released {}", t.format("%Y-%m-%d %H:%M")))
                        .unwrap_or_default(),
                    h.reason
                );
            }
            Ok(())
        }
    }
}
