//! Association export ("exit"): every table of one association as JSON and
//! CSV in a zip, with a README describing the format. Secrets (API key
//! hashes, the anonymisation salt) are left out. Each table is read through
//! the association's own transaction, so no other association's rows can
//! appear. Tables added later register one line in [`tables`].

use crate::entity::{
    anonymised_account, erasure_request, ledger_period_total, legal_hold, retention_policy,
};
use crate::error::RetentionError;
use crate::export::to_csv;
use aqueduct_billing::entity::{
    account, bill, bill_run, bill_void, ledger_entry, meter, meter_read, occupancy, rate_schedule,
    rate_schedule_version, service_location, usage_aggregate,
};
use aqueduct_core::Clock;
use aqueduct_payments::entity::{
    autopay_charge, autopay_mandate, dispute, payment, payout, payout_item, refund,
};
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::entity::{api_key, audit_log, membership};
use aqueduct_tenant::{TenantOwned, TenantTx, scoped};
use sea_orm::DbErr;
use serde_json::Value;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;

/// Columns never exported.
const SECRET_COLUMNS: &[&str] = &["key_hash", "hash_salt"];

type Rows<'a> = Pin<Box<dyn Future<Output = Result<Vec<Value>, DbErr>> + Send + 'a>>;

/// One exported table: its file name and how to read its rows.
pub struct Table {
    /// File stem, e.g. `accounts`.
    pub name: &'static str,
    /// What the table holds (for the README).
    pub about: &'static str,
    read: for<'a> fn(&'a TenantTx) -> Rows<'a>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

fn rows<E>(tx: &TenantTx) -> Rows<'_>
where
    E: TenantOwned,
    E::Model: Sync,
{
    Box::pin(async move { scoped::<E>(tx).into_json().all(tx.conn()).await })
}

/// Every table of an association, in export order.
pub fn tables() -> Vec<Table> {
    vec![
        Table {
            name: "accounts",
            about: "customer accounts (anonymised ones show [anonymised] and a hashed number)",
            read: rows::<account::Entity>,
        },
        Table {
            name: "service_locations",
            about: "where water is delivered",
            read: rows::<service_location::Entity>,
        },
        Table {
            name: "occupancies",
            about: "which account was at which location, from/to",
            read: rows::<occupancy::Entity>,
        },
        Table {
            name: "meters",
            about: "meters at each location",
            read: rows::<meter::Entity>,
        },
        Table {
            name: "meter_reads",
            about: "meter reads (those of accounts whose usage passed its period are gone; see usage_aggregates)",
            read: rows::<meter_read::Entity>,
        },
        Table {
            name: "rate_schedules",
            about: "rate schedules",
            read: rows::<rate_schedule::Entity>,
        },
        Table {
            name: "rate_schedule_versions",
            about: "each version of a rate schedule (its tariff as JSON) and when it took effect",
            read: rows::<rate_schedule_version::Entity>,
        },
        Table {
            name: "bill_runs",
            about: "bill runs",
            read: rows::<bill_run::Entity>,
        },
        Table {
            name: "bills",
            about: "finalized bills with their line items",
            read: rows::<bill::Entity>,
        },
        Table {
            name: "bill_voids",
            about: "voided bills and why",
            read: rows::<bill_void::Entity>,
        },
        Table {
            name: "ledger_entries",
            about: "the ledger: each row moves amount_cents from its credit to its debit account (cents); external ids starting retention: are monthly totals that replaced payment records past their period",
            read: rows::<ledger_entry::Entity>,
        },
        Table {
            name: "ledger_period_totals",
            about: "what each monthly total in the ledger replaced (count and amount)",
            read: rows::<ledger_period_total::Entity>,
        },
        Table {
            name: "usage_aggregates",
            about: "consumption by month and meter size of accounts whose usage data passed its period (no account, no person)",
            read: rows::<usage_aggregate::Entity>,
        },
        Table {
            name: "payments",
            about: "online payments (Stripe ids, amounts, status; never card or bank details)",
            read: rows::<payment::Entity>,
        },
        Table {
            name: "refunds",
            about: "refunds of online payments",
            read: rows::<refund::Entity>,
        },
        Table {
            name: "disputes",
            about: "disputed payments",
            read: rows::<dispute::Entity>,
        },
        Table {
            name: "autopay_mandates",
            about: "autopay sign-ups (Stripe ids only)",
            read: rows::<autopay_mandate::Entity>,
        },
        Table {
            name: "autopay_charges",
            about: "autopay charges, one per bill",
            read: rows::<autopay_charge::Entity>,
        },
        Table {
            name: "payouts",
            about: "payouts to the association's bank account",
            read: rows::<payout::Entity>,
        },
        Table {
            name: "payout_items",
            about: "what each payout was made of, matched to payments",
            read: rows::<payout_item::Entity>,
        },
        Table {
            name: "memberships",
            about: "staff users and their roles",
            read: rows::<membership::Entity>,
        },
        Table {
            name: "api_keys",
            about: "API keys (names and roles; never the key or its hash)",
            read: rows::<api_key::Entity>,
        },
        Table {
            name: "audit_log",
            about: "the association's audit log",
            read: rows::<audit_log::Entity>,
        },
        Table {
            name: "retention_policies",
            about: "the retention period in force",
            read: rows::<retention_policy::Entity>,
        },
        Table {
            name: "legal_holds",
            about: "legal holds, set and released",
            read: rows::<legal_hold::Entity>,
        },
        Table {
            name: "erasure_requests",
            about: "customers' erasure requests and the answers",
            read: rows::<erasure_request::Entity>,
        },
        Table {
            name: "anonymised_accounts",
            about: "accounts the retention job anonymised, and when",
            read: rows::<anonymised_account::Entity>,
        },
    ]
}

/// Exports every table of the transaction's association as a zip and
/// audits it. `actor` is who asked.
pub async fn association(
    tx: &TenantTx,
    clock: &dyn Clock,
    actor: &str,
) -> Result<Vec<u8>, RetentionError> {
    let err = |e: zip::result::ZipError| RetentionError::Export(e.to_string());
    let io = |e: std::io::Error| RetentionError::Export(e.to_string());
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut readme = format!(
        "Aqueduct association export\r\nformat: aqueduct-association-export/1\r\n\
         association: {}\r\ngenerated: {}\r\n\r\n\
         Each table is here twice: NAME.json (an array of objects, one per row) and \
         NAME.csv (the same rows, RFC 4180, first line = column names). Times are UTC \
         (RFC 3339), money is integer cents, ids are UUIDs.\r\n\r\n",
        tx.tenant_id(),
        clock.now().to_rfc3339()
    );
    let mut counts = serde_json::Map::new();
    for t in tables() {
        let mut rows = (t.read)(tx).await?;
        for r in &mut rows {
            if let Value::Object(m) = r {
                for c in SECRET_COLUMNS {
                    m.remove(*c);
                }
            }
        }
        readme.push_str(&format!(
            "{:<22} {:>7} rows  {}\r\n",
            t.name,
            rows.len(),
            t.about
        ));
        counts.insert(t.name.into(), rows.len().into());
        let json = serde_json::to_string_pretty(&rows)
            .map_err(|e| RetentionError::Export(e.to_string()))?;
        w.start_file(format!("{}.json", t.name), opts)
            .map_err(err)?;
        w.write_all(json.as_bytes()).map_err(io)?;
        w.start_file(format!("{}.csv", t.name), opts).map_err(err)?;
        w.write_all(to_csv(&rows).as_bytes()).map_err(io)?;
    }
    w.start_file("README.txt", opts).map_err(err)?;
    w.write_all(readme.as_bytes()).map_err(io)?;
    let bytes = w.finish().map_err(err)?.into_inner();
    audit::record_in(
        tx,
        clock,
        AuditEntry {
            tenant: None,
            actor: actor.to_owned(),
            action: "retention.export.association".into(),
            target: None,
            outcome: Outcome::Success,
            request_id: None,
            ip: None,
            details: Some(Value::Object(counts)),
        },
    )
    .await?;
    Ok(bytes)
}
