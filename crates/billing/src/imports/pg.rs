//! The read import on PostgreSQL: staged, then checked and written
//! set-based.
//!
//! 1. The file's rows, parsed once in the process, go into a temporary
//!    table (`import_rows`, dropped at commit) in batches of
//!    [`STAGE_ROWS`], each column bound as one array and expanded by
//!    `UNNEST`.
//! 2. One statement decides every staged row (`import_checked`): unknown
//!    meter, unknown account or a meter not at that account, a duplicate
//!    of an earlier line, a register value that does not fit (units
//!    converted in exact `numeric`), a different read already stored for
//!    the day, unchanged, or new.
//! 3. One query computes the exceptions of the new reads against each
//!    meter's whole history (stored reads and the file's new ones) with
//!    window functions over one sort, each linear in a meter's reads: out
//!    of date order, negative use, zero use on an active meter, use above
//!    the factor times the usual use. A negative read under an estimated
//!    one is then checked against the last actual read (a second, small
//!    query about those rows only, when there are any).
//! 4. One plain `INSERT … SELECT`, in meter order, writes the new reads; a
//!    unique violation means a concurrent import got there first.
//!
//! Everything runs in the caller's tenant transaction (row-level security
//! applies as everywhere; every query also names the tenant). The
//! statements that read tenant data carry no parameters: the tenant id,
//! the unit table, the factor and line numbers are written into the text
//! by us (a UUID, numbers), and the file's data only ever travels as bound
//! arrays into the staging table. Each is therefore planned with the
//! staging table's real size, never by a generic plan.

use super::{ImportOptions, ImportReport, ReadException, Row, RowError, RowReader};
use crate::error::BillingError;
use crate::reads::ReadSource;
use crate::{consumption, meters};
use aqueduct_core::{Clock, ReadId};
use aqueduct_rates::VolumeUnit;
use aqueduct_tenant::TenantTx;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::sea_query::ArrayType;
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, Value};

/// Rows per staging statement: bounds the process's memory by the batch,
/// not the file.
const STAGE_ROWS: usize = 10_000;

/// Every unit a row may name; its index is the unit's key in SQL.
const UNITS: [VolumeUnit; 7] = [
    VolumeUnit::Gallon,
    VolumeUnit::HundredGallons,
    VolumeUnit::ThousandGallons,
    VolumeUnit::CubicFoot,
    VolumeUnit::Ccf,
    VolumeUnit::ThousandCubicFeet,
    VolumeUnit::CubicMeter,
];

fn unit_key(u: VolumeUnit) -> i16 {
    UNITS
        .iter()
        .position(|&x| x == u)
        .and_then(|i| i16::try_from(i).ok())
        .unwrap_or(-1)
}

/// The staged columns of one batch.
#[derive(Default)]
struct Batch {
    line: Vec<Value>,
    serial: Vec<Value>,
    read_on: Vec<Value>,
    value: Vec<Value>,
    unit: Vec<Value>,
    estimated: Vec<Value>,
    account: Vec<Value>,
    id: Vec<Value>,
}

impl Batch {
    fn with_capacity(n: usize) -> Self {
        Self {
            line: Vec::with_capacity(n),
            serial: Vec::with_capacity(n),
            read_on: Vec::with_capacity(n),
            value: Vec::with_capacity(n),
            unit: Vec::with_capacity(n),
            estimated: Vec::with_capacity(n),
            account: Vec::with_capacity(n),
            id: Vec::with_capacity(n),
        }
    }

    fn len(&self) -> usize {
        self.line.len()
    }

    fn push(&mut self, row: Row) {
        self.line.push(Value::BigInt(Some(
            i64::try_from(row.line).unwrap_or(i64::MAX),
        )));
        self.serial.push(Value::String(Some(row.serial)));
        self.read_on.push(Value::ChronoDate(Some(row.read_on)));
        self.value.push(Value::Decimal(Some(row.value)));
        self.unit
            .push(Value::SmallInt(Some(row.unit.map_or(-1, unit_key))));
        self.estimated.push(Value::Bool(Some(row.estimated)));
        // '' is no account; a number that is not well formed is sent as
        // '!', which no account has, so it is unknown as on SQLite.
        let account = match row.account {
            None => String::new(),
            Some(a) if crate::accounts::AccountNumber::parse(&a).is_ok() => a,
            Some(_) => "!".to_owned(),
        };
        self.account.push(Value::String(Some(account)));
        // Ids are UUIDv7 in file order, as when reads are recorded one by one.
        self.id.push(Value::Uuid(Some(ReadId::new().uuid())));
    }

    fn take(&mut self) -> Vec<Value> {
        let array =
            |t: ArrayType, v: &mut Vec<Value>| Value::Array(t, Some(Box::new(std::mem::take(v))));
        vec![
            array(ArrayType::BigInt, &mut self.line),
            array(ArrayType::String, &mut self.serial),
            array(ArrayType::ChronoDate, &mut self.read_on),
            array(ArrayType::Decimal, &mut self.value),
            array(ArrayType::SmallInt, &mut self.unit),
            array(ArrayType::Bool, &mut self.estimated),
            array(ArrayType::String, &mut self.account),
            array(ArrayType::Uuid, &mut self.id),
        ]
    }
}

const STAGE_TABLE: &str = "DROP TABLE IF EXISTS pg_temp.import_rows, pg_temp.import_checked;
    CREATE TEMP TABLE import_rows (line int8, serial text, read_on date, value numeric,
        unit int2, estimated bool, account text, id uuid) ON COMMIT DROP";

/// The register ranges `10^1 … 10^15` (digits clamped as
/// [`consumption::register_range`] does), indexed by digits.
const SPANS: &str = "('{10,100,1000,10000,100000,1000000,10000000,100000000,1000000000,\
    10000000000,100000000000,1000000000000,10000000000000,100000000000000,\
    1000000000000000}'::int8[])";

const RESET: &str = "RESET work_mem; RESET jit";

const STAGE_INSERT: &str = "INSERT INTO import_rows SELECT * FROM UNNEST($1::int8[], \
    $2::text[], $3::date[], $4::numeric[], $5::int2[], $6::bool[], $7::text[], $8::uuid[])";

/// `import_checked`: every staged row with its meter and its outcome
/// (`new`, `unchanged`, or why it is refused), in the order the SQLite
/// path checks: meter, account, duplicate line, unit, register, stored read.
fn check_sql(tenant: &str) -> String {
    let litres: Vec<String> = UNITS.iter().map(|u| u.litres().to_string()).collect();
    let litres = format!("'{{{}}}'::numeric[]", litres.join(","));
    let mut meter_key = String::from("CASE m.unit");
    for name in meters::UNITS {
        if let Some(u) = consumption::volume_unit(name) {
            meter_key.push_str(&format!(" WHEN '{name}' THEN {}", unit_key(u)));
        }
    }
    meter_key.push_str(" END");
    format!(
        "CREATE TEMP TABLE import_checked ON COMMIT DROP AS
        WITH found AS (
            SELECT s.*, m.id AS meter_id, m.unit AS meter_unit, m.register_digits,
                   m.multiplier, m.status AS meter_status, ({meter_key})::int2 AS meter_key,
                   CASE
                       WHEN m.id IS NULL THEN 'unknown_meter'
                       WHEN s.account = '' THEN NULL
                       WHEN a.id IS NULL THEN 'unknown_account'
                       WHEN o.account_id IS NULL THEN 'not_at_account'
                   END AS refused
            FROM import_rows s
            LEFT JOIN meters m ON m.tenant_id = {tenant} AND m.serial = s.serial
            LEFT JOIN accounts a ON a.tenant_id = {tenant} AND a.account_number = s.account
            LEFT JOIN (
                SELECT DISTINCT account_id, location_id FROM occupancies
                WHERE tenant_id = {tenant} AND ends_on IS NULL
            ) o ON o.account_id = a.id AND o.location_id = m.location_id
        ),
        firsts AS (
            SELECT f.*, min(line) FILTER (WHERE refused IS NULL)
                   OVER (PARTITION BY meter_id, read_on) AS first_line
            FROM found f
        ),
        converted AS (
            SELECT f.*,
                   CASE WHEN refused IS NULL AND first_line = line AND meter_key IS NOT NULL
                   THEN trunc(CASE WHEN unit < 0 OR unit = meter_key THEN value
                        ELSE (value * ({litres})[unit + 1])::numeric(1000, 40)
                             / ({litres})[meter_key + 1] END)
                   END AS reg
            FROM firsts f
        ),
        checked AS (
            SELECT c.*,
                   CASE
                       WHEN refused IS NOT NULL THEN refused
                       WHEN first_line <> line THEN 'duplicate'
                       WHEN meter_key IS NULL THEN 'unit_unsupported'
                       WHEN reg > 9223372036854775807 THEN 'out_of_range'
                       WHEN reg >= {SPANS}[LEAST(GREATEST(register_digits, 1), 15)]
                           THEN 'register'
                   END AS problem
            FROM converted c
        )
        SELECT c.line, c.serial, c.account, c.value, c.read_on, c.estimated, c.id,
               c.meter_id, c.meter_unit, c.register_digits, c.multiplier, c.meter_status,
               c.first_line, c.reg, x.value AS stored,
               COALESCE(c.problem, CASE WHEN x.value IS NULL THEN 'new'
                   WHEN x.value = c.reg THEN 'unchanged' ELSE 'conflict' END) AS outcome
        FROM checked c
        LEFT JOIN meter_reads x ON c.problem IS NULL AND x.tenant_id = {tenant}
            AND x.meter_id = c.meter_id AND x.read_on = c.read_on"
    )
}

/// The new reads worth a look, against each meter's whole history: the
/// stored reads and the file's new ones, in date order.
///
/// One sort, two window passes, both linear in a meter's reads: the first
/// (each meter's reads latest first, the frame the later-dated ones) gives
/// the read before and whether a later-dated read came first; the second
/// (the frame the earlier-dated ones) the count and sum of their use. The
/// meter's span, multiplier and status travel with its rows from
/// `import_checked`, so `meters` is not read again. Whether a read under
/// an estimate is below the last actual read is left to
/// [`below_estimate_sql`], asked only about the few rows it can concern.
fn exceptions_sql(tenant: &str, factor: i64) -> String {
    let span = format!("{SPANS}[LEAST(GREATEST(register_digits, 1), 15)]");
    format!(
        "WITH history AS (
            SELECT x.meter_id, x.read_on, x.value, x.estimated, 0::int8 AS line,
                   NULL::text AS serial, k.span, k.mult, NULL::bool AS active
            FROM (SELECT DISTINCT meter_id, {span} AS span, GREATEST(multiplier, 1) AS mult
                  FROM import_checked WHERE outcome = 'new') k
            JOIN meter_reads x ON x.tenant_id = {tenant} AND x.meter_id = k.meter_id
            UNION ALL
            SELECT meter_id, read_on, reg::int8, estimated, line, serial, {span},
                   GREATEST(multiplier, 1), meter_status = 'active'
            FROM import_checked WHERE outcome = 'new'
        ),
        -- Each meter's reads latest first; the frame is the later-dated reads.
        ordered AS (
            SELECT h.*,
                   lead(h.value) OVER later AS prev,
                   lead(h.estimated) OVER later AS prev_estimated,
                   lead(h.read_on) OVER later AS prev_on,
                   -- out of order: a read dated later was stored before, or is
                   -- on an earlier line (stored reads count as line 0)
                   min(h.line) OVER later < h.line AS out_of_order
            FROM history h
            WINDOW later AS (PARTITION BY h.meter_id ORDER BY h.read_on DESC
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
        ),
        moduli AS (
            SELECT o.*, ((prev % span) + span) % span AS p, ((value % span) + span) % span AS c
            FROM ordered o
        ),
        used AS (
            SELECT m.*,
                   CASE WHEN prev IS NULL THEN NULL WHEN c >= p THEN false
                        WHEN span - p + c < span / 2 THEN false ELSE true END AS negative,
                   CASE WHEN prev IS NULL THEN NULL
                        WHEN mult = 1 AND c >= p THEN c - p
                        WHEN mult = 1 AND span - p + c < span / 2 THEN span - p + c
                        WHEN c >= p THEN LEAST((c - p)::numeric * mult, 9223372036854775807)::int8
                        WHEN span - p + c < span / 2
                            THEN LEAST((span - p + c)::numeric * mult, 9223372036854775807)::int8
                        ELSE 0 END AS units
            FROM moduli m
        ),
        -- The use before each read: the same order, the frame the
        -- earlier-dated reads (count and sum shrink as it moves: linear).
        usual AS (
            SELECT u.*,
                   count(CASE WHEN NOT negative THEN units END) OVER earlier AS n_earlier,
                   sum(CASE WHEN NOT negative THEN units END) OVER earlier AS sum_earlier
            FROM used u
            WINDOW earlier AS (PARTITION BY meter_id ORDER BY read_on DESC
                               ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
        ),
        flagged AS (
            SELECT line, serial, read_on, estimated, prev_estimated,
                   COALESCE(out_of_order, false) AS out_of_order, negative, prev_on, units, active,
                   CASE WHEN n_earlier >= 2 THEN div(sum_earlier, n_earlier)::int8 END AS usual
            FROM usual WHERE line > 0
        )
        SELECT * FROM flagged
        WHERE out_of_order OR negative OR (units = 0 AND active)
           OR (usual > 0 AND units > usual::numeric * {factor})
        ORDER BY line"
    )
}

/// Of the new reads on `lines` (each under an estimated read, and not
/// itself estimated), those that are not under the last actual read before
/// them (stored or new): the estimate over-read, the next bill trues it up.
fn below_estimate_sql(tenant: &str, lines: &[i64]) -> String {
    let lines: Vec<String> = lines.iter().map(i64::to_string).collect();
    let lines = lines.join(",");
    format!(
        "WITH want AS (
            SELECT line, meter_id, read_on, reg::int8 AS value,
                   {SPANS}[LEAST(GREATEST(register_digits, 1), 15)] AS span
            FROM import_checked WHERE outcome = 'new' AND line = ANY('{{{lines}}}'::int8[])
        ),
        actual AS (
            SELECT x.meter_id, x.read_on, x.value FROM meter_reads x
            WHERE x.tenant_id = {tenant} AND NOT x.estimated
              AND x.meter_id IN (SELECT meter_id FROM want)
            UNION ALL
            SELECT k.meter_id, k.read_on, k.reg::int8 FROM import_checked k
            WHERE k.outcome = 'new' AND NOT k.estimated
              AND k.meter_id IN (SELECT meter_id FROM want)
        ),
        last_actual AS (
            SELECT DISTINCT ON (w.line) w.line, w.span,
                   ((w.value % w.span) + w.span) % w.span AS c,
                   ((a.value % w.span) + w.span) % w.span AS a
            FROM want w JOIN actual a ON a.meter_id = w.meter_id AND a.read_on < w.read_on
            ORDER BY w.line, a.read_on DESC
        )
        SELECT line FROM last_actual WHERE c >= a OR span - a + c < span / 2"
    )
}

fn get<T: sea_orm::TryGetable>(row: &QueryResult, col: &str) -> Result<T, BillingError> {
    Ok(row.try_get::<T>("", col)?)
}

/// Why a staged row was refused, worded as on SQLite.
fn reason(row: &QueryResult, outcome: &str) -> Result<String, BillingError> {
    Ok(match outcome {
        "unknown_meter" => "unknown meter".into(),
        "unknown_account" => "unknown account".into(),
        "not_at_account" => format!(
            "meter {:?} is not at account {:?}",
            get::<String>(row, "serial")?,
            get::<String>(row, "account")?
        ),
        "duplicate" => format!("duplicate of line {}", get::<i64>(row, "first_line")?),
        "unit_unsupported" => format!(
            "meter unit {:?} is not supported",
            get::<String>(row, "meter_unit")?
        ),
        "out_of_range" => format!("read {} is out of range", get::<Decimal>(row, "value")?),
        "register" => format!(
            "read {} does not fit a {}-digit register",
            get::<Decimal>(row, "reg")?,
            get::<i16>(row, "register_digits")?
        ),
        "conflict" => format!(
            "a different read ({}) is stored for this meter and day",
            get::<i64>(row, "stored")?
        ),
        other => format!("refused ({other})"),
    })
}

/// Imports the rows `rows` yields into the tenant of `tx`.
pub(super) async fn import(
    tx: &TenantTx,
    clock: &dyn Clock,
    rows: &mut RowReader<'_>,
    options: &ImportOptions,
    report: &mut ImportReport,
) -> Result<(), BillingError> {
    let conn = tx.conn();
    let pg = |sql: &str, values: Vec<Value>| {
        Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
    };
    let t0 = std::time::Instant::now();
    // Sorts and hashes of a whole file stay in memory; no JIT compile
    // (it costs more than these statements save). Reset at the end.
    conn.execute_unprepared(&format!(
        "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off; {STAGE_TABLE}"
    ))
    .await?;
    let mut batch = Batch::with_capacity(STAGE_ROWS);
    let mut staged = 0_usize;
    loop {
        let row = rows.next(report);
        let end = row.is_none();
        if let Some(row) = row {
            batch.push(row);
        }
        if batch.len() >= STAGE_ROWS || (end && batch.len() > 0) {
            staged += batch.len();
            conn.execute_raw(pg(STAGE_INSERT, batch.take())).await?;
        }
        if end {
            break;
        }
    }
    let t_stage = t0.elapsed();
    if staged == 0 {
        conn.execute_unprepared(RESET).await?;
        return Ok(());
    }

    let tenant = format!("'{}'::uuid", tx.tenant_id().uuid().hyphenated());
    // No statistics for the staged rows: the planner sizes the table from
    // its pages and has the statistics of the tables it is joined to (the
    // plan is the same with them, and sampling cost 70-110 ms). The decided
    // rows get statistics for the columns the exceptions query filters and
    // groups on (without them it probes the stored reads row by row).
    conn.execute_unprepared(&check_sql(&tenant)).await?;
    conn.execute_unprepared("ANALYZE import_checked (outcome, meter_id)")
        .await?;
    let t_check = t0.elapsed();

    let counts = conn
        .query_one_raw(pg(
            "SELECT count(*) FILTER (WHERE outcome = 'new') AS new, \
             count(*) FILTER (WHERE outcome = 'unchanged') AS unchanged FROM import_checked",
            vec![],
        ))
        .await?
        .ok_or_else(|| BillingError::Invalid("no counts".into()))?;
    let new: i64 = get(&counts, "new")?;
    report.unchanged += u64::try_from(get::<i64>(&counts, "unchanged")?).unwrap_or(0);
    for row in conn
        .query_all_raw(pg(
            "SELECT line, outcome, serial, account, value, first_line, meter_unit, reg, \
             register_digits, stored FROM import_checked \
             WHERE outcome NOT IN ('new', 'unchanged') ORDER BY line",
            vec![],
        ))
        .await?
    {
        let outcome: String = get(&row, "outcome")?;
        report.errors.push(RowError {
            line: u64::try_from(get::<i64>(&row, "line")?).unwrap_or(0),
            reason: reason(&row, &outcome)?,
        });
    }
    if new == 0 {
        conn.execute_unprepared(RESET).await?;
        trace(t_stage, t_check, t_check, t0.elapsed(), staged);
        return Ok(());
    }

    let factor = options.high_use_factor;
    let flagged = conn
        .query_all_raw(pg(&exceptions_sql(&tenant, factor), vec![]))
        .await?;
    // An actual read under an estimated one may be below the estimate only
    // (not under the last actual read): asked about those rows alone.
    let mut under_estimate = Vec::new();
    for row in &flagged {
        if get::<Option<bool>>(row, "negative")?.unwrap_or(false)
            && get::<Option<bool>>(row, "prev_estimated")?.unwrap_or(false)
            && !get::<bool>(row, "estimated")?
        {
            under_estimate.push(get::<i64>(row, "line")?);
        }
    }
    let mut below_estimate = std::collections::HashSet::new();
    if !under_estimate.is_empty() {
        for row in conn
            .query_all_raw(pg(&below_estimate_sql(&tenant, &under_estimate), vec![]))
            .await?
        {
            below_estimate.insert(get::<i64>(&row, "line")?);
        }
    }
    for row in &flagged {
        let line: i64 = get(row, "line")?;
        let meter: String = get(row, "serial")?;
        let read_on: NaiveDate = get(row, "read_on")?;
        let mut push = |kind: &'static str, detail: String| {
            report.exceptions.push(ReadException {
                line: u64::try_from(line).unwrap_or(0),
                meter: meter.clone(),
                read_on,
                kind,
                detail,
            });
        };
        if get::<bool>(row, "out_of_order")? {
            push("out_of_order", "a later read was already stored".into());
        }
        let Some(units) = get::<Option<i64>>(row, "units")? else {
            continue;
        };
        if get::<Option<bool>>(row, "negative")?.unwrap_or(false) {
            if below_estimate.contains(&line) {
                let estimated_on: Option<NaiveDate> = get(row, "prev_on")?;
                push(
                    "below_estimate",
                    format!(
                        "below the estimated read of {}: the next bill credits the difference",
                        estimated_on.map(|d| d.to_string()).unwrap_or_default()
                    ),
                );
            } else {
                push("negative_use", "the register went backwards".into());
            }
            continue;
        }
        if units == 0 && get::<bool>(row, "active")? {
            push("zero_use", "no use on an active meter".into());
        }
        if let Some(usual) = get::<Option<i64>>(row, "usual")?
            && aqueduct_notify::prefs::is_high_usage(units, usual, factor)
        {
            push(
                "high_use",
                format!("{units} is over {factor}× the average of {usual}"),
            );
        }
    }
    let t_exceptions = t0.elapsed();

    // A plain INSERT (no speculative insertion), in meter order (the
    // unique index and the meters foreign key are visited in key order).
    // A read stored meanwhile by a concurrent import is a unique violation.
    let inserted = conn
        .execute_raw(pg(
            &format!(
                "INSERT INTO meter_reads (tenant_id, id, meter_id, read_on, value, estimated, \
                 source, created_at) \
                 SELECT {tenant}, id, meter_id, read_on, reg::int8, estimated, '{}', $1 \
                 FROM import_checked WHERE outcome = 'new' ORDER BY meter_id, read_on",
                ReadSource::Csv.as_str()
            ),
            vec![clock.now().into()],
        ))
        .await
        .map_err(super::reads_conflict)?
        .rows_affected();
    if i64::try_from(inserted).unwrap_or(i64::MAX) != new {
        return Err(BillingError::Conflict(
            "another import is recording these reads".into(),
        ));
    }
    report.imported += u64::try_from(new).unwrap_or(0);
    conn.execute_unprepared(RESET).await?;
    trace(t_stage, t_check, t_exceptions, t0.elapsed(), staged);
    Ok(())
}

/// `RUST_LOG=aqueduct_billing=debug`: where an import's time went.
fn trace(
    stage: std::time::Duration,
    check: std::time::Duration,
    exceptions: std::time::Duration,
    total: std::time::Duration,
    staged: usize,
) {
    tracing::debug!(
        rows = staged,
        parse_and_stage_ms = stage.as_millis(),
        check_ms = check.saturating_sub(stage).as_millis(),
        report_and_exceptions_ms = exceptions.saturating_sub(check).as_millis(),
        insert_ms = total.saturating_sub(exceptions).as_millis(),
        "reads import phases"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_meter_unit_has_a_key_and_every_key_a_unit() {
        for name in meters::UNITS {
            let u = consumption::volume_unit(name).expect("a meter unit the import knows");
            assert!(unit_key(u) >= 0, "{name}");
        }
        for (i, u) in UNITS.iter().enumerate() {
            assert_eq!(usize::try_from(unit_key(*u)).ok(), Some(i));
        }
    }

    #[test]
    fn register_spans_are_the_register_ranges() {
        let list = SPANS
            .trim_start_matches("('{")
            .trim_end_matches("}'::int8[])");
        let spans: Vec<i64> = list
            .split(',')
            .map(|v| v.trim().trim_start_matches('\\').trim().parse().unwrap())
            .collect();
        assert_eq!(spans.len(), 15);
        for digits in 1..=15_i16 {
            let i = usize::try_from(digits - 1).unwrap();
            assert_eq!(spans[i], consumption::register_range(digits), "{digits}");
        }
    }

    #[test]
    fn the_check_statement_names_the_tenant_and_the_exact_litres() {
        let sql = check_sql("'00000000-0000-0000-0000-000000000001'::uuid");
        assert!(sql.contains("3.785411784"), "{sql}");
        assert!(sql.contains("28.316846592"), "{sql}");
        assert_eq!(
            sql.matches("tenant_id = '00000000-0000-0000-0000-000000000001'::uuid")
                .count(),
            4
        );
    }
}
