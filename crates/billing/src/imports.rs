//! CSV import of meter reads, validated row by row.
//!
//! A file is read with a [`ReadMapping`] (which column holds what): the
//! built-in `aqueduct` format, the `badger_beacon` preset for Badger
//! Meter BEACON's "Billing Read Export", or a mapping the association
//! saved. Every row is checked on its own; a bad row is reported with its
//! line number and reason and the good rows are kept. Reads are idempotent
//! on (meter, day), so importing the same file again adds nothing.

use crate::accounts;
use crate::bulk;
use crate::entity::{account, meter, meter_read, occupancy};
use crate::error::{BillingError, unique_or};
use crate::reads::{self, ReadSource};
use aqueduct_core::{Clock, ReadId};
use aqueduct_rates::{Volume, VolumeUnit};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;

mod pg;

/// Which CSV column holds each field (header names, matched ignoring case,
/// spaces and underscores).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadMapping {
    /// The meter's serial.
    pub meter: String,
    /// The read's date (or date and time; the date is kept).
    pub read_on: String,
    /// Register value columns, first non-empty wins.
    pub value: Vec<String>,
    /// Optional: `true`/`yes`/`1`/`E`, or a read method naming an estimate.
    #[serde(default)]
    pub estimated: Option<String>,
    /// Optional: the value's unit (GAL, CUBIC_FEET, CCF, CUBIC_METER…);
    /// converted to the meter's unit, whole units kept.
    #[serde(default)]
    pub unit: Option<String>,
    /// Optional: the account number, checked against the meter.
    #[serde(default)]
    pub account: Option<String>,
}

impl ReadMapping {
    /// The built-in format: `meter_serial,read_on,value[,estimated][,unit][,account_number]`.
    pub fn aqueduct() -> Self {
        Self {
            meter: "meter_serial".into(),
            read_on: "read_on".into(),
            value: vec!["value".into()],
            estimated: Some("estimated".into()),
            unit: Some("unit".into()),
            account: Some("account_number".into()),
        }
    }

    /// Badger Meter BEACON "Billing Read Export": Account_ID, Location_ID,
    /// Service_Point_ID, Meter_ID, Register_Number, Endpoint_SN,
    /// Read_Method, Read, Read_Unit, Billing_Read, Read_Time.
    pub fn badger_beacon() -> Self {
        Self {
            meter: "Meter_ID".into(),
            read_on: "Read_Time".into(),
            value: vec!["Billing_Read".into(), "Read".into()],
            estimated: Some("Read_Method".into()),
            unit: Some("Read_Unit".into()),
            account: Some("Account_ID".into()),
        }
    }

    /// A built-in preset by name.
    pub fn preset(name: &str) -> Option<Self> {
        match name {
            "aqueduct" => Some(Self::aqueduct()),
            "badger_beacon" => Some(Self::badger_beacon()),
            _ => None,
        }
    }
}

/// Import settings.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Use above this many times the meter's average is flagged.
    pub high_use_factor: i64,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self { high_use_factor: 3 }
    }
}

/// A rejected row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// Line in the file (the header is line 1).
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// A read worth a clerk's look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadException {
    /// Line in the file.
    pub line: u64,
    /// Meter serial.
    pub meter: String,
    /// Day of the read.
    pub read_on: NaiveDate,
    /// `negative_use`, `below_estimate` (an actual read under an
    /// estimated one: trued up by the next bill), `zero_use`, `high_use`,
    /// `out_of_order`.
    pub kind: &'static str,
    /// Detail for people.
    pub detail: String,
}

/// What an import did, line by line.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Data rows read.
    pub rows: u64,
    /// New reads stored.
    pub imported: u64,
    /// Rows already stored with the same value (nothing added).
    pub unchanged: u64,
    /// Rejected rows.
    pub errors: Vec<RowError>,
    /// Exceptions among the new reads.
    pub exceptions: Vec<ReadException>,
}

fn norm(h: &str) -> String {
    h.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Parses `2026-10-01`, `2026-10-01 06:00:00`, `2026-10-01T06:00:00Z`,
/// `10/01/2026`, `10/1/2026 6:00 AM`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    let day = t.split(['T', ' ']).next().unwrap_or(t);
    if let Some(d) = iso_day(day) {
        return Some(d);
    }
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(day, "%m/%d/%Y"))
        .ok()
}

/// The common shape, `YYYY-MM-DD`, without the format parser (the import
/// reads one per row). Anything else goes the general way.
fn iso_day(t: &str) -> Option<NaiveDate> {
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?.iter().try_fold(0_u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i32::try_from(digits(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(5..7)?, digits(8..10)?)
}

/// A unit name as export files spell it.
pub fn parse_unit(text: &str) -> Option<VolumeUnit> {
    Some(match norm(text).as_str() {
        "gal" | "gallon" | "gallons" | "g" => VolumeUnit::Gallon,
        "kgal" | "thousandgallons" => VolumeUnit::ThousandGallons,
        "cf" | "cuft" | "cubicfeet" | "cubicfoot" | "ft3" => VolumeUnit::CubicFoot,
        "ccf" | "hcf" | "hundredcubicfeet" => VolumeUnit::Ccf,
        "m3" | "cubicmeter" | "cubicmeters" | "cubicmetre" => VolumeUnit::CubicMeter,
        _ => return None,
    })
}

fn is_estimate(text: &str) -> bool {
    let t = norm(text);
    matches!(t.as_str(), "true" | "yes" | "y" | "1" | "e") || t.contains("estimat")
}

struct Columns {
    meter: usize,
    read_on: usize,
    value: Vec<usize>,
    estimated: Option<usize>,
    unit: Option<usize>,
    account: Option<usize>,
}

fn columns(headers: &csv::StringRecord, m: &ReadMapping) -> Result<Columns, BillingError> {
    let find = |name: &str| headers.iter().position(|h| norm(h) == norm(name));
    let need = |name: &str| {
        find(name).ok_or_else(|| BillingError::Invalid(format!("the file has no {name:?} column")))
    };
    let value: Vec<usize> = m.value.iter().filter_map(|v| find(v)).collect();
    if value.is_empty() {
        return Err(BillingError::Invalid(format!(
            "the file has none of the value columns {:?}",
            m.value
        )));
    }
    Ok(Columns {
        meter: need(&m.meter)?,
        read_on: need(&m.read_on)?,
        value,
        estimated: m.estimated.as_deref().and_then(find),
        unit: m.unit.as_deref().and_then(find),
        account: m.account.as_deref().and_then(find),
    })
}

/// A row that passed the checks that need no database.
struct Row {
    line: u64,
    serial: String,
    read_on: NaiveDate,
    value: Decimal,
    unit: Option<VolumeUnit>,
    estimated: bool,
    account: Option<String>,
}

fn parse_row(rec: &csv::StringRecord, c: &Columns, line: u64) -> Result<Row, String> {
    let get = |i: usize| rec.get(i).map(str::trim).unwrap_or("");
    let serial = get(c.meter);
    if serial.is_empty() {
        return Err("no meter".into());
    }
    let date_text = get(c.read_on);
    let read_on = parse_date(date_text).ok_or_else(|| format!("bad date {date_text:?}"))?;
    let raw = c
        .value
        .iter()
        .map(|&i| get(i))
        .find(|v| !v.is_empty())
        .ok_or("no read value")?;
    let value = if raw.contains(',') {
        Decimal::from_str(&raw.replace(',', ""))
    } else {
        Decimal::from_str(raw)
    }
    .map_err(|_| format!("read {raw:?} is not a number"))?;
    if value.is_sign_negative() {
        return Err(format!("read {raw:?} is negative"));
    }
    let unit = match c.unit.map(get).filter(|u| !u.is_empty()) {
        Some(u) => Some(parse_unit(u).ok_or_else(|| format!("unknown unit {u:?}"))?),
        None => None,
    };
    Ok(Row {
        line,
        serial: serial.to_owned(),
        read_on,
        value,
        unit,
        estimated: c.estimated.map(get).is_some_and(is_estimate),
        account: c
            .account
            .map(get)
            .filter(|a| !a.is_empty())
            .map(str::to_owned),
    })
}

/// The register value in the meter's own unit (whole units; a fraction is
/// dropped, as the register shows it).
fn register_value(row: &Row, meter: &meter::Model) -> Result<i64, String> {
    let meter_unit = crate::consumption::volume_unit(&meter.unit)
        .ok_or_else(|| format!("meter unit {:?} is not supported", meter.unit))?;
    let in_meter_unit = match row.unit {
        Some(u) if u != meter_unit => Volume::new(row.value, u).in_unit(meter_unit),
        _ => row.value,
    };
    in_meter_unit
        .trunc()
        .to_i64()
        .ok_or_else(|| format!("read {} is out of range", row.value))
}

/// Rows checked and written together: a handful of queries per chunk,
/// whatever its size, instead of several per row.
const CHUNK_ROWS: usize = 5_000;
/// Values per `IN (…)` list (well under both engines' parameter limits).
const IN_LIST: usize = 1_000;
/// Reads per multi-row INSERT (8 columns each).
const INSERT_ROWS: usize = 1_000;

/// What an import has learned so far (kept across chunks).
#[derive(Default)]
struct Known {
    meters_by_serial: HashMap<String, Option<meter::Model>>,
    account_meters: HashMap<String, Option<HashSet<uuid::Uuid>>>,
    seen: HashMap<(String, NaiveDate), u64>,
}

/// The file's data rows, each parsed on its own: a row that fails a check
/// needing no database goes to the report's errors, the others come out
/// as [`Row`]s in file order.
struct RowReader<'a> {
    reader: csv::Reader<&'a [u8]>,
    record: csv::StringRecord,
    columns: usize,
    cols: Columns,
}

impl<'a> RowReader<'a> {
    fn new(csv_text: &'a [u8], mapping: &ReadMapping) -> Result<Self, BillingError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(csv_text);
        let headers = reader
            .headers()
            .map_err(|e| BillingError::Invalid(format!("cannot read the header line: {e}")))?
            .clone();
        let cols = columns(&headers, mapping)?;
        Ok(Self {
            reader,
            record: csv::StringRecord::new(),
            columns: headers.len(),
            cols,
        })
    }

    /// The next good row; `None` at the end of the file.
    fn next(&mut self, report: &mut ImportReport) -> Option<Row> {
        loop {
            let line = self.reader.position().line() + 1;
            match self.reader.read_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => {
                    report.rows += 1;
                    report.errors.push(RowError {
                        line: e.position().map_or(line, |p| p.line()),
                        reason: format!("unreadable row: {e}"),
                    });
                    continue;
                }
            }
            let line = self.record.position().map_or(line, |p| p.line());
            if self.record.iter().all(str::is_empty) {
                continue;
            }
            report.rows += 1;
            if self.record.len() != self.columns {
                report.errors.push(RowError {
                    line,
                    reason: format!(
                        "expected {} columns, found {}",
                        self.columns,
                        self.record.len()
                    ),
                });
                continue;
            }
            match parse_row(&self.record, &self.cols, line) {
                Ok(row) => return Some(row),
                Err(reason) => report.errors.push(RowError { line, reason }),
            }
        }
    }
}

/// Imports reads from `csv_text` with `mapping` in one transaction.
///
/// Every row is parsed once in the process (dates, numbers, units: the
/// checks that need no database). Then:
///
/// - **PostgreSQL** ([`pg`]): the parsed rows are staged in a temporary
///   table and checked set-based (meters, accounts, duplicates, stored
///   reads, the exceptions with window functions), and the new reads are
///   written with one `INSERT … SELECT`: a fixed number of statements per
///   file, whatever its size.
/// - **SQLite**: rows are checked in chunks of [`CHUNK_ROWS`]; per chunk
///   the meters, accounts and stored reads it names are loaded with a few
///   `IN (…)` queries, each row is decided in memory (new, unchanged,
///   conflicting, rejected) and the new reads are written with multi-row
///   INSERTs.
///
/// Both give the same report for the same file and data (a test holds
/// them to it).
pub async fn import_reads(
    tx: &TenantTx,
    clock: &dyn Clock,
    csv_text: &[u8],
    mapping: &ReadMapping,
    options: &ImportOptions,
) -> Result<ImportReport, BillingError> {
    let mut rows = RowReader::new(csv_text, mapping)?;
    let mut report = ImportReport::default();
    if tx.conn().get_database_backend() == sea_orm::DbBackend::Postgres {
        pg::import(tx, clock, &mut rows, options, &mut report).await?;
    } else {
        let mut known = Known::default();
        let mut pending: Vec<Row> = Vec::with_capacity(CHUNK_ROWS);
        while let Some(row) = rows.next(&mut report) {
            pending.push(row);
            if pending.len() >= CHUNK_ROWS {
                let rows = std::mem::replace(&mut pending, Vec::with_capacity(CHUNK_ROWS));
                import_chunk(tx, clock, &mut known, rows, options, &mut report).await?;
            }
        }
        if !pending.is_empty() {
            import_chunk(tx, clock, &mut known, pending, options, &mut report).await?;
        }
    }
    report.errors.sort_by_key(|e| e.line);
    Ok(report)
}

/// Loads the meters with the chunk's serials, and the meters at the
/// current locations of the chunk's account numbers, that are not known yet.
async fn learn(tx: &TenantTx, known: &mut Known, rows: &[Row]) -> Result<(), BillingError> {
    let serials: Vec<String> = rows
        .iter()
        .filter(|r| !known.meters_by_serial.contains_key(&r.serial))
        .map(|r| r.serial.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let backend = tx.conn().get_database_backend();
    let in_list = bulk::list_size(backend, IN_LIST);
    for part in serials.chunks(in_list) {
        for m in scoped::<meter::Entity>(tx)
            .filter(bulk::in_list(backend, meter::Column::Serial, part.to_vec()))
            .all(tx.conn())
            .await?
        {
            known.meters_by_serial.insert(m.serial.clone(), Some(m));
        }
    }
    for s in serials {
        known.meters_by_serial.entry(s).or_insert(None);
    }

    let numbers: Vec<String> = rows
        .iter()
        .filter_map(|r| r.account.as_ref())
        .filter(|n| !known.account_meters.contains_key(*n))
        .cloned()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let valid: Vec<&String> = numbers
        .iter()
        .filter(|n| accounts::AccountNumber::parse(n).is_ok())
        .collect();
    let mut number_of: HashMap<uuid::Uuid, String> = HashMap::new();
    for part in valid.chunks(in_list) {
        let part: Vec<String> = part.iter().map(|n| (*n).clone()).collect();
        for a in scoped::<account::Entity>(tx)
            .filter(bulk::in_list(backend, account::Column::AccountNumber, part))
            .all(tx.conn())
            .await?
        {
            known
                .account_meters
                .insert(a.account_number.clone(), Some(HashSet::new()));
            number_of.insert(a.id, a.account_number);
        }
    }
    let ids: Vec<uuid::Uuid> = number_of.keys().copied().collect();
    let mut accounts_at: HashMap<uuid::Uuid, Vec<uuid::Uuid>> = HashMap::new();
    for part in ids.chunks(in_list) {
        for o in scoped::<occupancy::Entity>(tx)
            .filter(bulk::in_list(
                backend,
                occupancy::Column::AccountId,
                part.to_vec(),
            ))
            .filter(occupancy::Column::EndsOn.is_null())
            .all(tx.conn())
            .await?
        {
            accounts_at
                .entry(o.location_id)
                .or_default()
                .push(o.account_id);
        }
    }
    let locations: Vec<uuid::Uuid> = accounts_at.keys().copied().collect();
    for part in locations.chunks(in_list) {
        for m in scoped::<meter::Entity>(tx)
            .filter(bulk::in_list(
                backend,
                meter::Column::LocationId,
                part.to_vec(),
            ))
            .all(tx.conn())
            .await?
        {
            for acct in accounts_at.get(&m.location_id).into_iter().flatten() {
                if let Some(Some(set)) = number_of
                    .get(acct)
                    .and_then(|n| known.account_meters.get_mut(n))
                {
                    set.insert(m.id);
                }
            }
        }
    }
    for n in numbers {
        known.account_meters.entry(n).or_insert(None);
    }
    Ok(())
}

/// A read stored by this import.
struct Created {
    line: u64,
    id: uuid::Uuid,
    meter: meter::Model,
    out_of_order: bool,
}

async fn import_chunk(
    tx: &TenantTx,
    clock: &dyn Clock,
    known: &mut Known,
    rows: Vec<Row>,
    options: &ImportOptions,
    report: &mut ImportReport,
) -> Result<(), BillingError> {
    learn(tx, known, &rows).await?;
    // Checks that need no stored reads.
    let mut candidates: Vec<(Row, meter::Model, i64)> = Vec::with_capacity(rows.len());
    for row in rows {
        let line = row.line;
        let mut reject = |reason: String| report.errors.push(RowError { line, reason });
        let Some(meter) = known.meters_by_serial.get(&row.serial).cloned().flatten() else {
            reject("unknown meter".into());
            continue;
        };
        if let Some(number) = &row.account {
            match known.account_meters.get(number) {
                Some(Some(ids)) if ids.contains(&meter.id) => {}
                Some(Some(_)) => {
                    reject(format!(
                        "meter {:?} is not at account {number:?}",
                        row.serial
                    ));
                    continue;
                }
                _ => {
                    reject("unknown account".into());
                    continue;
                }
            }
        }
        match known.seen.entry((row.serial.clone(), row.read_on)) {
            Entry::Occupied(first) => {
                reject(format!("duplicate of line {}", first.get()));
                continue;
            }
            Entry::Vacant(slot) => {
                slot.insert(line);
            }
        }
        let value = match register_value(&row, &meter) {
            Ok(v) => v,
            Err(reason) => {
                reject(reason);
                continue;
            }
        };
        if value < 0 || value >= crate::consumption::register_range(meter.register_digits) {
            reject(format!(
                "read {value} does not fit a {}-digit register",
                meter.register_digits
            ));
            continue;
        }
        candidates.push((row, meter, value));
    }
    // The stored reads of the chunk's meters, then each row decided
    // against them (and against the rows before it).
    let meter_ids: Vec<uuid::Uuid> = candidates
        .iter()
        .map(|c| c.1.id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut history: HashMap<uuid::Uuid, Vec<meter_read::Model>> = HashMap::new();
    let backend = tx.conn().get_database_backend();
    for part in meter_ids.chunks(bulk::list_size(backend, IN_LIST)) {
        for r in scoped::<meter_read::Entity>(tx)
            .filter(bulk::in_list(
                backend,
                meter_read::Column::MeterId,
                part.to_vec(),
            ))
            .order_by_asc(meter_read::Column::ReadOn)
            .all(tx.conn())
            .await?
        {
            history.entry(r.meter_id).or_default().push(r);
        }
    }
    let now = clock.now();
    let tenant = tx.tenant_id().uuid();
    let mut new_rows = Vec::new();
    let mut created = Vec::new();
    for (row, meter, value) in candidates {
        let list = history.entry(meter.id).or_default();
        let pos = list.partition_point(|r| r.read_on < row.read_on);
        if let Some(existing) = list.get(pos).filter(|r| r.read_on == row.read_on) {
            if existing.value == value {
                report.unchanged += 1;
            } else {
                report.errors.push(RowError {
                    line: row.line,
                    reason: format!(
                        "a different read ({}) is stored for this meter and day",
                        existing.value
                    ),
                });
            }
            continue;
        }
        let read = meter_read::Model {
            tenant_id: tenant,
            id: ReadId::new().uuid(),
            meter_id: meter.id,
            read_on: row.read_on,
            value,
            estimated: row.estimated,
            source: ReadSource::Csv.as_str().to_owned(),
            created_at: now,
        };
        created.push(Created {
            line: row.line,
            id: read.id,
            meter,
            out_of_order: pos < list.len(),
        });
        new_rows.push(read.clone());
        list.insert(pos, read);
    }
    report.imported += u64::try_from(created.len()).unwrap_or(0);
    let mut new_rows = new_rows.into_iter().peekable();
    while new_rows.peek().is_some() {
        let part: Vec<meter_read::ActiveModel> = new_rows
            .by_ref()
            .take(INSERT_ROWS)
            .map(Into::into)
            .collect();
        meter_read::Entity::insert_many(part)
            .exec_without_returning(tx.conn())
            .await
            .map_err(reads_conflict)?;
    }
    report
        .exceptions
        .extend(exceptions(&history, &created, options));
    Ok(())
}

fn reads_conflict(e: sea_orm::DbErr) -> BillingError {
    unique_or(
        e,
        &["uq_meter_reads_meter_date", "meter_reads."],
        BillingError::Conflict("another import is recording these reads".into()),
    )
}

fn exceptions(
    history: &HashMap<uuid::Uuid, Vec<meter_read::Model>>,
    created: &[Created],
    options: &ImportOptions,
) -> Vec<ReadException> {
    let mut with_use: HashMap<uuid::Uuid, Vec<reads::ReadWithUse>> = HashMap::new();
    let mut out = Vec::new();
    for c in created {
        let meter = &c.meter;
        let list = with_use.entry(meter.id).or_insert_with(|| {
            reads::with_use(meter, history.get(&meter.id).map_or(&[], Vec::as_slice))
        });
        let Some(pos) = list.iter().position(|r| r.id.uuid() == c.id) else {
            continue;
        };
        let this = &list[pos];
        let mut push = |kind: &'static str, detail: String| {
            out.push(ReadException {
                line: c.line,
                meter: meter.serial.clone(),
                read_on: this.read_on,
                kind,
                detail,
            });
        };
        if c.out_of_order {
            push("out_of_order", "a later read was already stored".into());
        }
        let Some(used) = this.consumption else {
            continue;
        };
        if used.negative {
            // Below an estimate but not below the last actual read: the
            // estimate over-read, and the next bill trues it up.
            let over_estimate = reads::below_estimate(meter, list, pos);
            if over_estimate {
                push(
                    "below_estimate",
                    format!(
                        "below the estimated read of {}: the next bill credits the difference",
                        list[pos - 1].read_on
                    ),
                );
            } else {
                push("negative_use", "the register went backwards".into());
            }
            continue;
        }
        if used.units == 0 && meter.status == "active" {
            push("zero_use", "no use on an active meter".into());
        }
        let earlier: Vec<i64> = list[..pos]
            .iter()
            .filter_map(|r| r.consumption)
            .filter(|c| !c.negative)
            .map(|c| c.units)
            .collect();
        if earlier.len() >= 2 {
            let n = i64::try_from(earlier.len()).unwrap_or(1);
            let average = earlier.iter().sum::<i64>() / n;
            if aqueduct_notify::prefs::is_high_usage(used.units, average, options.high_use_factor) {
                push(
                    "high_use",
                    format!(
                        "{} is over {}× the average of {average}",
                        used.units, options.high_use_factor
                    ),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_export_shapes() {
        let d = NaiveDate::from_ymd_opt(2026, 10, 1);
        assert_eq!(parse_date("2026-10-01"), d);
        assert_eq!(parse_date("2026-10-01 06:12:00"), d);
        assert_eq!(parse_date("2026-10-01T06:12:00Z"), d);
        assert_eq!(parse_date("10/01/2026 6:00 AM"), d);
        assert_eq!(parse_date("10/1/2026"), d);
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
        // The fast path for the common shape agrees with the format parser.
        for text in [
            "2024-02-29",
            "2026-02-29",
            "2026-02-30",
            "0000-01-01",
            "2026-00-10",
        ] {
            assert_eq!(
                parse_date(text),
                NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(),
                "{text}"
            );
        }
    }

    #[test]
    fn badger_units() {
        assert_eq!(parse_unit("GAL"), Some(VolumeUnit::Gallon));
        assert_eq!(parse_unit("CUBIC_FEET"), Some(VolumeUnit::CubicFoot));
        assert_eq!(parse_unit("CUBIC_METER"), Some(VolumeUnit::CubicMeter));
        assert_eq!(parse_unit("CCF"), Some(VolumeUnit::Ccf));
        assert_eq!(parse_unit("BARRELS"), None);
    }

    #[test]
    fn estimates_are_recognised() {
        assert!(is_estimate("Estimated"));
        assert!(is_estimate("true"));
        assert!(!is_estimate("Network"));
        assert!(!is_estimate(""));
    }
}
