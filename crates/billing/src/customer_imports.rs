//! CSV import of customers: accounts, their service locations and meters.
//!
//! One row per account and meter, the way a small association keeps its
//! customer list in a spreadsheet (an account with two meters — house and
//! irrigation — is two rows with the same account number and address). The
//! columns are named by a [`CustomerMapping`]: the built-in `aqueduct`
//! format (headers named like the fields) or a mapping the association
//! saved. Each row is validated on its own and reported with its line
//! number; a bad row writes nothing and the good rows are kept.
//!
//! **Idempotent.** An account is matched by its number, a location by its
//! street, unit and ZIP, a meter by its serial: what exists is reused (never
//! changed), so importing the same file again creates nothing.

use crate::accounts::{self, AccountNumber, MailingAddress, NewAccount};
use crate::entity::{account, meter, occupancy, service_location};
use crate::error::BillingError;
use crate::imports::{RowError, parse_date, parse_unit};
use crate::locations::{self, NewLocation};
use crate::meters::{self, NewMeter};
use aqueduct_core::{AccountId, Clock, LocationId};
use aqueduct_rates::VolumeUnit;
use aqueduct_tenant::{TenantTx, scoped};
use chrono::NaiveDate;
use sea_orm::{ColumnTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Which CSV column holds each field (header names, matched ignoring case,
/// spaces and underscores). Fields marked optional may be left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerMapping {
    /// Account number (1–32 letters, digits or `-`).
    pub account_number: String,
    /// Account holder.
    pub holder_name: String,
    /// Optional: email.
    #[serde(default)]
    pub email: Option<String>,
    /// Optional: phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Optional: opening date (default: the import's day).
    #[serde(default)]
    pub opened_on: Option<String>,
    /// Optional: mailing street (then city, state and ZIP are needed).
    #[serde(default)]
    pub mailing_line1: Option<String>,
    /// Optional: mailing city.
    #[serde(default)]
    pub mailing_city: Option<String>,
    /// Optional: mailing state.
    #[serde(default)]
    pub mailing_state: Option<String>,
    /// Optional: mailing ZIP.
    #[serde(default)]
    pub mailing_postal_code: Option<String>,
    /// Service address (street).
    pub service_address: String,
    /// Optional: unit or lot at the service address.
    #[serde(default)]
    pub service_unit: Option<String>,
    /// Service city.
    pub service_city: String,
    /// Service state (2 letters).
    pub service_state: String,
    /// Service ZIP.
    pub service_zip: String,
    /// Optional: meter-reading route.
    #[serde(default)]
    pub route: Option<String>,
    /// Optional: position in the route.
    #[serde(default)]
    pub sequence: Option<String>,
    /// Optional: meter serial (a row without one imports no meter).
    #[serde(default)]
    pub meter_serial: Option<String>,
    /// Optional: meter size (`5/8"`, `5/8`, `3/4`, `1`, `1.5`, `2`…).
    #[serde(default)]
    pub meter_size: Option<String>,
    /// Optional: register unit (gallons, cubic_feet, ccf, m3, or GAL,
    /// CUBIC_FEET, CCF, CUBIC_METER as export files spell them).
    #[serde(default)]
    pub meter_unit: Option<String>,
    /// Optional: register digits (default 6).
    #[serde(default)]
    pub register_digits: Option<String>,
    /// Optional: multiplier (default 1).
    #[serde(default)]
    pub multiplier: Option<String>,
    /// Optional: install date (default: the opening date).
    #[serde(default)]
    pub installed_on: Option<String>,
}

impl CustomerMapping {
    /// The built-in format: every header named like its field.
    pub fn aqueduct() -> Self {
        let s = |n: &str| Some(n.to_owned());
        Self {
            account_number: "account_number".into(),
            holder_name: "holder_name".into(),
            email: s("email"),
            phone: s("phone"),
            opened_on: s("opened_on"),
            mailing_line1: s("mailing_line1"),
            mailing_city: s("mailing_city"),
            mailing_state: s("mailing_state"),
            mailing_postal_code: s("mailing_postal_code"),
            service_address: "service_address".into(),
            service_unit: s("service_unit"),
            service_city: "service_city".into(),
            service_state: "service_state".into(),
            service_zip: "service_zip".into(),
            route: s("route"),
            sequence: s("sequence"),
            meter_serial: s("meter_serial"),
            meter_size: s("meter_size"),
            meter_unit: s("meter_unit"),
            register_digits: s("register_digits"),
            multiplier: s("multiplier"),
            installed_on: s("installed_on"),
        }
    }

    /// A built-in preset by name.
    pub fn preset(name: &str) -> Option<Self> {
        (name == "aqueduct").then(Self::aqueduct)
    }

    /// (field, column, required) for every field.
    fn fields(&self) -> Vec<(Field, Option<&str>, bool)> {
        use Field as F;
        let o = Option::as_deref;
        vec![
            (F::Number, Some(self.account_number.as_str()), true),
            (F::Holder, Some(self.holder_name.as_str()), true),
            (F::Email, o(&self.email), false),
            (F::Phone, o(&self.phone), false),
            (F::OpenedOn, o(&self.opened_on), false),
            (F::MailLine1, o(&self.mailing_line1), false),
            (F::MailCity, o(&self.mailing_city), false),
            (F::MailState, o(&self.mailing_state), false),
            (F::MailZip, o(&self.mailing_postal_code), false),
            (F::Address, Some(self.service_address.as_str()), true),
            (F::Unit, o(&self.service_unit), false),
            (F::City, Some(self.service_city.as_str()), true),
            (F::State, Some(self.service_state.as_str()), true),
            (F::Zip, Some(self.service_zip.as_str()), true),
            (F::Route, o(&self.route), false),
            (F::Sequence, o(&self.sequence), false),
            (F::Serial, o(&self.meter_serial), false),
            (F::Size, o(&self.meter_size), false),
            (F::MeterUnit, o(&self.meter_unit), false),
            (F::Digits, o(&self.register_digits), false),
            (F::Multiplier, o(&self.multiplier), false),
            (F::InstalledOn, o(&self.installed_on), false),
        ]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Field {
    Number,
    Holder,
    Email,
    Phone,
    OpenedOn,
    MailLine1,
    MailCity,
    MailState,
    MailZip,
    Address,
    Unit,
    City,
    State,
    Zip,
    Route,
    Sequence,
    Serial,
    Size,
    MeterUnit,
    Digits,
    Multiplier,
    InstalledOn,
}

/// What a customer import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CustomerImportReport {
    /// Data rows read.
    pub rows: u64,
    /// Accounts created.
    pub accounts_created: u64,
    /// Service locations created.
    pub locations_created: u64,
    /// Meters installed.
    pub meters_created: u64,
    /// Rows whose account, location and meter all existed already.
    pub unchanged: u64,
    /// Rejected rows, by line.
    pub errors: Vec<RowError>,
}

fn norm(h: &str) -> String {
    h.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A meter size as spreadsheets write it, in the stored form (`5/8"`).
pub fn parse_size(text: &str) -> Option<String> {
    let t = text
        .trim()
        .trim_end_matches(['"', '\''])
        .trim_end_matches("in")
        .trim();
    let canonical = match t {
        "5/8" | "0.625" | "5/8x3/4" | "5/8 x 3/4" => "5/8",
        "3/4" | "0.75" => "3/4",
        "1" | "1.0" => "1",
        "1.5" | "1 1/2" | "1-1/2" => "1.5",
        other => other,
    };
    let size = format!("{canonical}\"");
    meters::SIZES.contains(&size.as_str()).then_some(size)
}

fn meter_unit(text: &str) -> Option<&'static str> {
    Some(match parse_unit(text)? {
        VolumeUnit::Gallon => "gallons",
        VolumeUnit::CubicFoot => "cubic_feet",
        VolumeUnit::Ccf => "ccf",
        VolumeUnit::CubicMeter => "m3",
        _ => return None,
    })
}

/// A row that passed every check that needs no database.
struct Row {
    account: NewAccount,
    location: NewLocation,
    meter: Option<(String, String, String, i16, i32, NaiveDate)>,
}

fn parse_row(
    rec: &csv::StringRecord,
    cols: &HashMap<Field, usize>,
    today: NaiveDate,
) -> Result<Row, String> {
    let get = |f: Field| {
        cols.get(&f)
            .and_then(|&i| rec.get(i))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let text = |f: Field| get(f).map(str::to_owned);
    let date = |f: Field| -> Result<Option<NaiveDate>, String> {
        get(f)
            .map(|d| parse_date(d).ok_or_else(|| format!("bad date {d:?}")))
            .transpose()
    };
    let number =
        AccountNumber::parse(get(Field::Number).unwrap_or("")).map_err(|e| e.to_string())?;
    let holder = get(Field::Holder).ok_or("no holder name")?;
    if holder.len() > 200 {
        return Err("holder name is 1 to 200 characters".into());
    }
    let opened_on = date(Field::OpenedOn)?.unwrap_or(today);
    let state_of = |f: Field| -> Result<String, String> {
        let s = get(f).unwrap_or("").to_ascii_uppercase();
        if s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(s)
        } else {
            Err(format!("state {s:?}: use the 2-letter code"))
        }
    };
    let zip_of = |f: Field| -> Result<String, String> {
        let z = get(f).unwrap_or("").to_owned();
        locations::validate_zip(&z).map_err(|e| e.to_string())?;
        Ok(z)
    };
    let mailing = match get(Field::MailLine1) {
        None => None,
        Some(line1) => Some(MailingAddress {
            line1: line1.to_owned(),
            line2: None,
            city: text(Field::MailCity).ok_or("a mailing address needs a city")?,
            state: state_of(Field::MailState)?,
            postal_code: zip_of(Field::MailZip)?,
        }),
    };
    let location = NewLocation {
        address_line1: text(Field::Address).ok_or("no service address")?,
        address_line2: text(Field::Unit),
        city: text(Field::City).ok_or("no service city")?,
        state: state_of(Field::State)?,
        postal_code: zip_of(Field::Zip)?,
        route: text(Field::Route),
        sequence: get(Field::Sequence)
            .map(|s| {
                s.parse::<i32>()
                    .map_err(|_| format!("sequence {s:?} is not a number"))
            })
            .transpose()?,
    };
    let meter = match get(Field::Serial) {
        None => None,
        Some(serial) => {
            if serial.len() > 64 {
                return Err("serial is 1 to 64 characters".into());
            }
            let size_text = get(Field::Size).ok_or("a meter needs a size")?;
            let size =
                parse_size(size_text).ok_or_else(|| format!("unknown meter size {size_text:?}"))?;
            let unit_text = get(Field::MeterUnit).unwrap_or("gallons");
            let unit =
                meter_unit(unit_text).ok_or_else(|| format!("unknown unit {unit_text:?}"))?;
            let digits = match get(Field::Digits) {
                None => 6,
                Some(d) => d
                    .parse::<i16>()
                    .ok()
                    .filter(|d| (3..=10).contains(d))
                    .ok_or_else(|| format!("register digits {d:?}: use 3 to 10"))?,
            };
            let multiplier = match get(Field::Multiplier) {
                None => 1,
                Some(m) => m
                    .parse::<i32>()
                    .ok()
                    .filter(|m| *m >= 1)
                    .ok_or_else(|| format!("multiplier {m:?}: use a whole number ≥ 1"))?,
            };
            let installed_on = date(Field::InstalledOn)?.unwrap_or(opened_on);
            Some((
                serial.to_owned(),
                size,
                unit.to_owned(),
                digits,
                multiplier,
                installed_on,
            ))
        }
    };
    Ok(Row {
        account: NewAccount {
            number,
            holder_name: holder.to_owned(),
            email: text(Field::Email),
            phone: text(Field::Phone),
            mailing,
            opened_on,
            paperless: false,
        },
        location,
        meter,
    })
}

async fn find_location(
    tx: &TenantTx,
    l: &NewLocation,
) -> Result<Option<service_location::Model>, BillingError> {
    let found = scoped::<service_location::Entity>(tx)
        .filter(service_location::Column::AddressLine1.eq(l.address_line1.as_str()))
        .filter(service_location::Column::PostalCode.eq(l.postal_code.as_str()))
        .all(tx.conn())
        .await?;
    Ok(found.into_iter().find(|f| {
        f.address_line2.as_deref().unwrap_or("") == l.address_line2.as_deref().unwrap_or("")
    }))
}

/// Imports customers from `csv_text` with `mapping` in one transaction.
pub async fn import_customers(
    tx: &TenantTx,
    clock: &dyn Clock,
    csv_text: &[u8],
    mapping: &CustomerMapping,
) -> Result<CustomerImportReport, BillingError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(csv_text);
    let headers = reader
        .headers()
        .map_err(|e| BillingError::Invalid(format!("cannot read the header line: {e}")))?
        .clone();
    let mut cols = HashMap::new();
    for (field, column, required) in mapping.fields() {
        let found = column.and_then(|c| headers.iter().position(|h| norm(h) == norm(c)));
        match (found, required) {
            (Some(i), _) => {
                cols.insert(field, i);
            }
            (None, true) => {
                return Err(BillingError::Invalid(format!(
                    "the file has no {:?} column",
                    column.unwrap_or("")
                )));
            }
            (None, false) => {}
        }
    }
    let today = clock.now().date_naive();
    let mut report = CustomerImportReport::default();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line() + 1;
        match reader.read_record(&mut record) {
            Ok(false) => break,
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
        let line = record.position().map_or(line, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        report.rows += 1;
        if record.len() != headers.len() {
            report.errors.push(RowError {
                line,
                reason: format!("expected {} columns, found {}", headers.len(), record.len()),
            });
            continue;
        }
        let row = match parse_row(&record, &cols, today) {
            Ok(r) => r,
            Err(reason) => {
                report.errors.push(RowError { line, reason });
                continue;
            }
        };
        if let Err(reason) = apply(tx, clock, row, &mut report).await? {
            report.errors.push(RowError { line, reason });
        }
    }
    Ok(report)
}

/// Applies one validated row: every lookup first, then the writes, so a
/// row is refused before anything of it is written.
async fn apply(
    tx: &TenantTx,
    clock: &dyn Clock,
    row: Row,
    report: &mut CustomerImportReport,
) -> Result<Result<(), String>, BillingError> {
    let account = accounts::by_number(tx, &row.account.number).await?;
    let location = find_location(tx, &row.location).await?;
    let occupants: Vec<occupancy::Model> = match &location {
        Some(l) => {
            scoped::<occupancy::Entity>(tx)
                .filter(occupancy::Column::LocationId.eq(l.id))
                .filter(occupancy::Column::EndsOn.is_null())
                .all(tx.conn())
                .await?
        }
        None => Vec::new(),
    };
    if let Some(other) = occupants
        .iter()
        .find(|o| account.as_ref().is_none_or(|a| a.id != o.account_id))
    {
        let number = scoped::<account::Entity>(tx)
            .filter(account::Column::Id.eq(other.account_id))
            .one(tx.conn())
            .await?
            .map(|a| a.account_number)
            .unwrap_or_default();
        return Ok(Err(format!(
            "the service address is occupied by account {number:?} (close it first)"
        )));
    }
    let existing_meter: Option<meter::Model> = match &row.meter {
        Some((serial, ..)) => meters::by_serial(tx, serial).await?,
        None => None,
    };
    if let Some(m) = &existing_meter
        && location.as_ref().is_none_or(|l| l.id != m.location_id)
    {
        return Ok(Err(format!(
            "meter {:?} is installed at another service address",
            m.serial
        )));
    }
    let mut created = false;
    let account = match account {
        Some(a) => a,
        None => {
            created = true;
            report.accounts_created += 1;
            accounts::create(tx, clock, row.account.clone()).await?
        }
    };
    let location = match location {
        Some(l) => l,
        None => {
            created = true;
            report.locations_created += 1;
            locations::create(tx, clock, row.location).await?
        }
    };
    if occupants.is_empty() {
        created = true;
        locations::move_in(
            tx,
            AccountId::from_uuid(account.id),
            LocationId::from_uuid(location.id),
            row.account.opened_on,
        )
        .await?;
    }
    if let (None, Some((serial, size, unit, register_digits, multiplier, installed_on))) =
        (existing_meter, row.meter)
    {
        created = true;
        report.meters_created += 1;
        meters::create(
            tx,
            NewMeter {
                location: LocationId::from_uuid(location.id),
                serial,
                size,
                unit,
                register_digits,
                multiplier,
                installed_on,
            },
        )
        .await?;
    }
    if !created {
        report.unchanged += 1;
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_spreadsheets_write_them() {
        assert_eq!(parse_size("5/8").as_deref(), Some("5/8\""));
        assert_eq!(parse_size("5/8\"").as_deref(), Some("5/8\""));
        assert_eq!(parse_size("5/8 x 3/4").as_deref(), Some("5/8\""));
        assert_eq!(parse_size("1 1/2").as_deref(), Some("1.5\""));
        assert_eq!(parse_size("2in").as_deref(), Some("2\""));
        assert_eq!(parse_size("7/8"), None);
    }

    #[test]
    fn units_as_exports_spell_them() {
        assert_eq!(meter_unit("GAL"), Some("gallons"));
        assert_eq!(meter_unit("CUBIC_FEET"), Some("cubic_feet"));
        assert_eq!(meter_unit("m3"), Some("m3"));
        assert_eq!(meter_unit("barrels"), None);
    }
}
