//! `make bench`: a bill run over many accounts, end to end (reads → bills
//! with line items → ledger charges, committed), on PostgreSQL or SQLite.
//!
//! ```sh
//! BENCH_ACCOUNTS=100000 BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo run --release -p aqueduct-server --example bench_bill_run
//! BENCH_DATABASE_URL=sqlite cargo run --release -p aqueduct-server --example bench_bill_run
//! ```
//!
//! Creates a fresh database (dropped afterwards on PostgreSQL), seeds one
//! association with N accounts (a realistic mix of meter sizes and uses,
//! two reads each) by set-based SQL, then times `bill_runs::finalize` and
//! reports bills per second and the process's peak memory. On PostgreSQL it
//! then times `COPY` of the same bill and ledger rows into empty copies of
//! the tables: the ingestion ceiling. Then it times the CSV read import of
//! one read per meter (and the same file again).
//!
//! Diagnosis: `RUST_LOG=aqueduct_billing=debug` prints each batch's phase
//! timings; `BENCH_EXPLAIN_MS=20` makes the server log (auto_explain) the
//! plan of every statement slower than 20 ms in the bench database;
//! `BENCH_LOG_MS=0` logs every statement's duration there (no plans);
//! `BENCH_BATCH` sets accounts per transaction (default 1,000).
//!
//! `BENCH_PHASES` picks what runs after the seed (a comma list of
//! `bill_run`, `import`; default both, the COPY ceiling with the bill run):
//! `BENCH_PHASES=import` times only the CSV read import. `BENCH_KEEP_DB=1`
//! keeps the PostgreSQL bench database (its name is printed) for psql.

#![allow(clippy::print_stdout, clippy::print_stderr)]
#![allow(
    clippy::float_arithmetic,
    clippy::disallowed_types,
    clippy::cast_precision_loss,
    reason = "throughput and timing figures for a report, never money"
)]

use anyhow::Context;
use aqueduct_billing::bill_runs::{self, FinalizeOptions, NewRun};
use aqueduct_billing::{imports, rates};
use aqueduct_core::{BillRunId, Clock, RateScheduleId, Slug, SystemClock};
use aqueduct_tenant::directory::{self, NewTenant};
use aqueduct_tenant::{Db, DbOptions, TenantStatus};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, Value};
use std::time::Instant;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The seed, as `INSERT … SELECT` over a numbered id table.
const SEED: &[&str] = &[
    "INSERT INTO service_locations (tenant_id, id, address_line1, city, state, postal_code, status, created_at)
     SELECT $1, loc, i || ' Bench Rd', 'Benchville', 'CO', '81230', 'active', $2 FROM bench_ids",
    "INSERT INTO accounts (tenant_id, id, account_number, holder_name, status, opened_on, paperless, autopay, created_at, updated_at)
     SELECT $1, acct, 'B-' || i, 'Holder ' || i, 'active', $3, false, false, $2, $2 FROM bench_ids",
    "INSERT INTO occupancies (tenant_id, id, account_id, location_id, starts_on)
     SELECT $1, occ, acct, loc, $3 FROM bench_ids",
    "INSERT INTO meters (tenant_id, id, location_id, serial, size, unit, register_digits, multiplier, installed_on, status)
     SELECT $1, mtr, loc, 'S-' || i,
            CASE WHEN i % 100 < 85 THEN '5/8\"' WHEN i % 100 < 93 THEN '3/4\"'
                 WHEN i % 100 < 97 THEN '1\"' WHEN i % 100 < 99 THEN '1.5\"' ELSE '2\"' END,
            'gallons', 6, 1, $3, 'active' FROM bench_ids",
    "INSERT INTO meter_reads (tenant_id, id, meter_id, read_on, value, estimated, source, created_at)
     SELECT $1, rd1, mtr, $4, (i * 37) % 900000, false, 'csv', $2 FROM bench_ids",
    "INSERT INTO meter_reads (tenant_id, id, meter_id, read_on, value, estimated, source, created_at)
     SELECT $1, rd2, mtr, $5, ((i * 37) % 900000 + 500 + (i * 7919) % 15000) % 1000000, false, 'csv', $2
     FROM bench_ids",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // `RUST_LOG=aqueduct_billing=debug` prints each batch's phase timings.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
    }
    let n: u64 = std::env::var("BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let base = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let batch: u64 = std::env::var("BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir()?;
    let (owner_url, app_url, drop_db) = if base.starts_with("postgres") {
        let name = format!("aq_bench_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&base).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        if let Ok(ms) = std::env::var("BENCH_EXPLAIN_MS") {
            // Diagnosis: the server logs the plan (with timings) of every
            // statement slower than this.
            admin
                .execute_unprepared(&format!(
                    "ALTER DATABASE {name} SET session_preload_libraries = 'auto_explain';
                     ALTER DATABASE {name} SET auto_explain.log_min_duration = '{ms}ms';
                     ALTER DATABASE {name} SET auto_explain.log_analyze = on;"
                ))
                .await?;
        }
        if let Ok(ms) = std::env::var("BENCH_LOG_MS") {
            // Diagnosis: the server logs every statement slower than this
            // (with its duration) in the bench database only.
            admin
                .execute_unprepared(&format!(
                    "ALTER DATABASE {name} SET log_min_duration_statement = '{ms}ms'"
                ))
                .await?;
        }
        admin.close().await?;
        let mut owner = url::Url::parse(&base)?;
        owner.set_path(&format!("/{name}"));
        let mut app = owner.clone();
        let _ = app.set_username("aqueduct_app");
        let _ = app.set_password(None);
        (owner.to_string(), app.to_string(), Some(name))
    } else {
        let url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
        (url.clone(), url, None)
    };
    let result = run(n, batch, &owner_url, &app_url).await;
    if std::env::var_os("BENCH_KEEP_DB").is_some() {
        if let Some(name) = &drop_db {
            println!("kept the bench database {name}");
        }
        return result;
    }
    if let Some(name) = drop_db {
        let admin = Database::connect(&base).await?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
    }
    result
}

async fn run(n: u64, batch: u64, owner_url: &str, app_url: &str) -> anyhow::Result<()> {
    let config = aqueduct_server::config::Config::load(
        None,
        [("DATABASE_URL".to_owned(), owner_url.to_owned())],
    )?;
    aqueduct_server::database::migrate(&config).await?;
    let clock = SystemClock;
    let db = Db::connect(app_url, &DbOptions::default()).await?;
    let tenant = directory::create(
        &db,
        &clock,
        NewTenant {
            slug: Slug::parse("bench")?,
            name: "Bench Water".into(),
            time_zone: "America/Denver".into(),
            status: TenantStatus::Active,
        },
    )
    .await?;

    // Seed with set-based SQL as the owner.
    let t = Instant::now();
    let owner = Database::connect(owner_url).await?;
    let backend = owner.get_database_backend();
    let ids = if backend == DbBackend::Postgres {
        format!(
            "CREATE TABLE bench_ids AS SELECT i, gen_random_uuid() loc, gen_random_uuid() acct,
             gen_random_uuid() occ, gen_random_uuid() mtr, gen_random_uuid() rd1,
             gen_random_uuid() rd2 FROM generate_series(1, {n}) i"
        )
    } else {
        format!(
            "CREATE TABLE bench_ids AS WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s
             WHERE i < {n}) SELECT i, randomblob(16) loc, randomblob(16) acct, randomblob(16) occ,
             randomblob(16) mtr, randomblob(16) rd1, randomblob(16) rd2 FROM s"
        )
    };
    owner.execute_unprepared(&ids).await?;
    let date = |s: &str| -> anyhow::Result<Value> {
        Ok(Value::from(s.parse::<chrono::NaiveDate>().context("date")?))
    };
    let values = vec![
        Value::from(tenant.id().uuid()),
        Value::from(clock.now()),
        date("2020-01-01")?,
        date("2026-09-25")?,
        date("2026-10-25")?,
    ];
    for sql in SEED {
        let sql = if backend == DbBackend::Postgres {
            (*sql).to_owned()
        } else {
            sql.replace('$', "?")
        };
        owner
            .execute_raw(Statement::from_sql_and_values(
                backend,
                &sql,
                values.clone(),
            ))
            .await?;
    }
    owner.execute_unprepared("DROP TABLE bench_ids").await?;
    if backend == DbBackend::Postgres {
        owner.execute_unprepared("ANALYZE").await?;
    }
    println!("seeded {n} accounts in {:.1} s", t.elapsed().as_secs_f64());

    let tx = db.tenant(&tenant).await?;
    let schedule = rates::create(
        &tx,
        &clock,
        "Residential",
        aqueduct_server::demo::demo_schedule()?,
    )
    .await?;
    let run = bill_runs::create(
        &tx,
        &clock,
        NewRun {
            schedule: RateScheduleId::from_uuid(schedule.schedule.id),
            period_start: "2026-10-01".parse()?,
            period_end: "2026-10-31".parse()?,
            due_on: "2026-11-20".parse()?,
        },
    )
    .await?;
    tx.commit().await?;

    let phases = std::env::var("BENCH_PHASES").unwrap_or_else(|_| "bill_run,import".into());
    let phases: Vec<&str> = phases.split(',').map(str::trim).collect();
    if phases.contains(&"bill_run") {
        bill_run(&db, &tenant, &clock, &owner, run.id, batch).await?;
    }
    if phases.contains(&"import") {
        import(n, &db, &tenant, &clock).await?;
    }
    Ok(())
}

async fn bill_run(
    db: &Db,
    tenant: &aqueduct_tenant::TenantCtx,
    clock: &SystemClock,
    owner: &sea_orm::DatabaseConnection,
    run: uuid::Uuid,
    batch: u64,
) -> anyhow::Result<()> {
    let backend = owner.get_database_backend();
    let rss_before = peak_rss_kib();
    let t = Instant::now();
    let report = bill_runs::finalize(
        db,
        tenant,
        clock,
        BillRunId::from_uuid(run),
        &FinalizeOptions {
            batch_size: batch,
            ..FinalizeOptions::default()
        },
    )
    .await?;
    let secs = t.elapsed().as_secs_f64();
    let per_sec = report.billed as f64 / secs;
    println!(
        "finalized {} bills ({} exceptions) in {secs:.2} s: {per_sec:.0} bills/s (batch {batch})",
        report.billed,
        report.exceptions.len()
    );
    println!(
        "peak RSS: {} MiB before the run, {} MiB after",
        rss_before / 1024,
        peak_rss_kib() / 1024
    );

    if backend == DbBackend::Postgres {
        let mut copy_secs = 0.0;
        for table in ["bills", "ledger_entries"] {
            let file = format!("/tmp/aq_bench_{table}_{}.copy", std::process::id());
            owner
                .execute_unprepared(&format!(
                    "CREATE TABLE copy_{table} (LIKE {table} INCLUDING ALL);
                     COPY {table} TO '{file}'"
                ))
                .await?;
            let t = Instant::now();
            owner
                .execute_unprepared(&format!("COPY copy_{table} FROM '{file}'"))
                .await?;
            copy_secs += t.elapsed().as_secs_f64();
            let _ = std::fs::remove_file(&file);
        }
        println!(
            "COPY of the same bills and ledger rows: {copy_secs:.2} s ({:.0} bills/s); \
             the bill run reaches {:.0} % of it",
            report.billed as f64 / copy_secs,
            100.0 * copy_secs / secs
        );
    }
    Ok(())
}

/// The CSV read import: one read per meter for the next cycle, then the
/// same file again (every row already stored).
async fn import(
    n: u64,
    db: &Db,
    tenant: &aqueduct_tenant::TenantCtx,
    clock: &SystemClock,
) -> anyhow::Result<()> {
    let mut csv = String::from("meter_serial,read_on,value,account_number\n");
    for i in 1..=n {
        let value =
            ((i * 37) % 900_000 + 500 + (i * 7919) % 15_000 + 4_000 + i % 9_000) % 1_000_000;
        csv.push_str(&format!("S-{i},2026-11-25,{value},B-{i}\n"));
    }
    for pass in ["new reads", "re-import"] {
        let t = Instant::now();
        let tx = db.tenant(tenant).await?;
        let report = imports::import_reads(
            &tx,
            clock,
            csv.as_bytes(),
            &imports::ReadMapping::aqueduct(),
            &imports::ImportOptions::default(),
        )
        .await?;
        tx.commit().await?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "CSV read import ({pass}): {} rows ({} new, {} unchanged, {} errors) in {secs:.2} s: {:.0} rows/s",
            report.rows,
            report.imported,
            report.unchanged,
            report.errors.len(),
            report.rows as f64 / secs
        );
    }
    println!("peak RSS after the imports: {} MiB", peak_rss_kib() / 1024);

    Ok(())
}
