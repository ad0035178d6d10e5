//! Data subject access: everything Aqueduct holds on one account, as JSON
//! and CSV in a zip. Every query is scoped to the transaction's association
//! and filtered on the account (or the locations it occupies), so nothing of
//! another customer or association can enter the archive.

use crate::entity::erasure_request;
use crate::error::RetentionError;
use aqueduct_billing::entity::{account, meter, occupancy, service_location};
use aqueduct_core::{AccountId, Clock};
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::entity::audit_log;
use aqueduct_tenant::{TenantTx, scoped};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use std::io::Write;

/// One account's data: the JSON document and one CSV table per kind.
#[derive(Debug, Clone)]
pub struct AccountExport {
    /// Everything, as one JSON document.
    pub json: Value,
    /// `(file name, CSV text)` per table.
    pub csv: Vec<(String, String)>,
}

/// Gathers everything held on `id` and audits the export (`actor` asked).
pub async fn account(
    tx: &TenantTx,
    clock: &dyn Clock,
    actor: &str,
    id: AccountId,
) -> Result<AccountExport, RetentionError> {
    let conn = tx.conn();
    let acct = scoped::<account::Entity>(tx)
        .filter(account::Column::Id.eq(id.uuid()))
        .into_json()
        .one(conn)
        .await?
        .ok_or(RetentionError::NotFound("account"))?;
    let occupancies = scoped::<occupancy::Entity>(tx)
        .filter(occupancy::Column::AccountId.eq(id.uuid()))
        .order_by_asc(occupancy::Column::StartsOn)
        .into_json()
        .all(conn)
        .await?;
    let location_ids: Vec<uuid::Uuid> = occupancies
        .iter()
        .filter_map(|o| o.get("location_id")?.as_str()?.parse().ok())
        .collect();
    let locations = scoped::<service_location::Entity>(tx)
        .filter(service_location::Column::Id.is_in(location_ids.clone()))
        .order_by_asc(service_location::Column::Id)
        .into_json()
        .all(conn)
        .await?;
    let meters = scoped::<meter::Entity>(tx)
        .filter(meter::Column::LocationId.is_in(location_ids))
        .order_by_asc(meter::Column::Id)
        .into_json()
        .all(conn)
        .await?;
    let erasure = scoped::<erasure_request::Entity>(tx)
        .filter(erasure_request::Column::AccountId.eq(id.uuid()))
        .into_json()
        .all(conn)
        .await?;
    let activity = scoped::<audit_log::Entity>(tx)
        .filter(audit_log::Column::Target.eq(format!("account:{id}")))
        .order_by_asc(audit_log::Column::Id)
        .into_json()
        .all(conn)
        .await?;
    let json = json!({
        "format": "aqueduct-account-export/1",
        "generated_at": clock.now(),
        "account": acct,
        "occupancies": occupancies,
        "service_locations": locations,
        "meters": meters,
        "erasure_requests": erasure,
        "activity": activity,
    });
    let csv = vec![
        (
            "account.csv".to_owned(),
            to_csv(std::slice::from_ref(&json["account"])),
        ),
        ("occupancies.csv".to_owned(), to_csv(&occupancies)),
        ("service_locations.csv".to_owned(), to_csv(&locations)),
        ("meters.csv".to_owned(), to_csv(&meters)),
        ("erasure_requests.csv".to_owned(), to_csv(&erasure)),
        ("activity.csv".to_owned(), to_csv(&activity)),
    ];
    audit::record_in(
        tx,
        clock,
        AuditEntry {
            tenant: None,
            actor: actor.to_owned(),
            action: "retention.export.account".into(),
            target: Some(format!("account:{id}")),
            outcome: Outcome::Success,
            request_id: None,
            ip: None,
            details: None,
        },
    )
    .await?;
    Ok(AccountExport { json, csv })
}

fn csv_field(v: &Value) -> String {
    let text = match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) || text.starts_with([' ', '=', '+', '-', '@']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// Rows of JSON objects as CSV (RFC 4180), columns in the first row's
/// order; an empty table is an empty file.
pub fn to_csv(rows: &[Value]) -> String {
    let Some(Value::Object(first)) = rows.first() else {
        return String::new();
    };
    let cols: Vec<&String> = first.keys().collect();
    let mut out = cols
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    for row in rows {
        let line: Vec<String> = cols
            .iter()
            .map(|c| csv_field(row.get(c.as_str()).unwrap_or(&Value::Null)))
            .collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

const README: &str = "This archive holds everything the water association's billing system \
(Aqueduct) keeps about one customer account.\r\n\r\n\
account.json  - all of it in one JSON document\r\n\
*.csv         - the same, one table per file (open with a spreadsheet)\r\n";

/// The export as a zip archive (`README.txt`, `account.json`, CSVs).
pub fn zip(export: &AccountExport) -> Result<Vec<u8>, RetentionError> {
    let err = |e: zip::result::ZipError| RetentionError::Export(e.to_string());
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let json = serde_json::to_string_pretty(&export.json)
        .map_err(|e| RetentionError::Export(e.to_string()))?;
    let files = [
        ("README.txt".to_owned(), README.to_owned()),
        ("account.json".to_owned(), json),
    ]
    .into_iter()
    .chain(export.csv.iter().cloned());
    for (name, body) in files {
        w.start_file(name, opts).map_err(err)?;
        w.write_all(body.as_bytes())
            .map_err(|e| RetentionError::Export(e.to_string()))?;
    }
    Ok(w.finish().map_err(err)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting_and_defuses_formulas() {
        let rows = vec![
            json!({"a": "plain", "b": "x,y", "c": null}),
            json!({"a": "say \"hi\"", "b": "=1+1", "c": 3}),
        ];
        assert_eq!(
            to_csv(&rows),
            "a,b,c\r\nplain,\"x,y\",\r\n\"say \"\"hi\"\"\",\"=1+1\",3\r\n"
        );
        assert_eq!(to_csv(&[]), "");
    }
}
