//! `make bench`: delivering the bill-ready mails of a bill run to a local
//! SMTP server (aiosmtpd, `tests/services/smtp.sh`), end to end: finalize
//! writes the outbox rows and jobs, then workers render and send them over
//! SMTP and mark them sent.
//!
//! ```sh
//! BENCH_MAILS=10000 cargo run --release -p aqueduct-server --example bench_notify
//! ```
//!
//! Seeds one association with N paperless accounts with an email address
//! (set-based SQL on SQLite or PostgreSQL, `BENCH_DATABASE_URL`), finalizes
//! the run, then runs `BENCH_WORKERS` workers (default 4) sharing one
//! pooled SMTP transport until the queue is empty. Reports messages per
//! second and checks that the server's Maildir holds exactly N messages.

#![allow(clippy::print_stdout, clippy::print_stderr)]
#![allow(
    clippy::float_arithmetic,
    clippy::disallowed_types,
    clippy::cast_precision_loss,
    reason = "throughput and timing figures for a report, never money"
)]

use anyhow::{Context, bail};
use aqueduct_billing::bill_runs::{self, FinalizeOptions, NewRun};
use aqueduct_billing::rates;
use aqueduct_core::{BillRunId, Clock, RateScheduleId, Slug, SystemClock};
use aqueduct_jobs::Worker;
use aqueduct_notify::{Sender, SmtpConfig, SmtpSender, SmtpTls};
use aqueduct_tenant::directory::{self, NewTenant};
use aqueduct_tenant::{Db, DbOptions, TenantStatus};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, Value};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SEED: &[&str] = &[
    "INSERT INTO service_locations (tenant_id, id, address_line1, city, state, postal_code, status, created_at)
     SELECT $1, loc, i || ' Bench Rd', 'Benchville', 'CO', '81230', 'active', $2 FROM bench_ids",
    "INSERT INTO accounts (tenant_id, id, account_number, holder_name, email, status, opened_on, paperless, autopay, created_at, updated_at)
     SELECT $1, acct, 'B-' || i, 'Holder ' || i, 'holder' || i || '@bench.test', 'active', $3, true, false, $2, $2 FROM bench_ids",
    "INSERT INTO occupancies (tenant_id, id, account_id, location_id, starts_on)
     SELECT $1, occ, acct, loc, $3 FROM bench_ids",
    "INSERT INTO meters (tenant_id, id, location_id, serial, size, unit, register_digits, multiplier, installed_on, status)
     SELECT $1, mtr, loc, 'S-' || i, '5/8\"', 'gallons', 6, 1, $3, 'active' FROM bench_ids",
    "INSERT INTO meter_reads (tenant_id, id, meter_id, read_on, value, estimated, source, created_at)
     SELECT $1, rd1, mtr, $4, (i * 37) % 900000, false, 'csv', $2 FROM bench_ids",
    "INSERT INTO meter_reads (tenant_id, id, meter_id, read_on, value, estimated, source, created_at)
     SELECT $1, rd2, mtr, $5, ((i * 37) % 900000 + 500 + (i * 7919) % 15000) % 1000000, false, 'csv', $2
     FROM bench_ids",
];

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let n = env_u64("BENCH_MAILS", 10_000);
    let workers = env_u64("BENCH_WORKERS", 4);
    let dir = tempfile::tempdir()?;
    let base = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| "sqlite".into());
    let (owner_url, app_url, drop_db) = if base.starts_with("postgres") {
        let name = format!("aq_bench_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&base).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
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

    // The SMTP server.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/services/smtp.sh");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let maildir = dir.path().join("mail");
    let mut server = Command::new("bash")
        .arg(script)
        .arg("start")
        .arg(&maildir)
        .arg(port.to_string())
        .env("AQ_SMTP_MAILDIR_ONLY", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("starting aiosmtpd (tests/services/smtp.sh)")?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("aiosmtpd did not start");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let result = run(n, workers, &owner_url, &app_url, port, &maildir).await;
    let _ = server.kill();
    let _ = server.wait();
    if let Some(name) = drop_db {
        let admin = Database::connect(&base).await?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
    }
    result
}

async fn run(
    n: u64,
    workers: u64,
    owner_url: &str,
    app_url: &str,
    port: u16,
    maildir: &std::path::Path,
) -> anyhow::Result<()> {
    let config = aqueduct_server::config::Config::load(
        None,
        [("DATABASE_URL".to_owned(), owner_url.to_owned())],
    )?;
    aqueduct_server::database::migrate(&config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let db = Db::connect(app_url, &DbOptions::default()).await?;
    let tenant = directory::create(
        &db,
        clock.as_ref(),
        NewTenant {
            slug: Slug::parse("bench")?,
            name: "Bench Water".into(),
            time_zone: "America/Denver".into(),
            status: TenantStatus::Active,
        },
    )
    .await?;
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

    let tx = db.tenant(&tenant).await?;
    let schedule = rates::create(
        &tx,
        clock.as_ref(),
        "Residential",
        aqueduct_server::demo::demo_schedule()?,
    )
    .await?;
    let run = bill_runs::create(
        &tx,
        clock.as_ref(),
        NewRun {
            schedule: RateScheduleId::from_uuid(schedule.schedule.id),
            period_start: "2026-10-01".parse()?,
            period_end: "2026-10-31".parse()?,
            due_on: "2026-11-20".parse()?,
        },
    )
    .await?;
    tx.commit().await?;
    let t = Instant::now();
    let report = bill_runs::finalize(
        &db,
        &tenant,
        clock.as_ref(),
        BillRunId::from_uuid(run.id),
        &FinalizeOptions::default(),
    )
    .await?;
    println!(
        "finalized {} bills with their outbox rows and jobs in {:.2} s",
        report.billed,
        t.elapsed().as_secs_f64()
    );

    let sender: Arc<dyn Sender> = Arc::new(
        SmtpSender::new(&SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(port),
            tls: SmtpTls::None,
            username: None,
            password: None,
            from_address: "billing@mail.bench.test".into(),
            pool_size: u32::try_from(workers).unwrap_or(4),
            timeout_secs: 30,
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    let registry = aqueduct_server::worker::registry_with(&db, &clock, sender);
    let t = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..workers {
        let w = Worker::new(
            db.clone(),
            clock.clone(),
            registry.clone(),
            format!("bench-{i}"),
        );
        tasks.push(tokio::spawn(async move { w.run_until_idle().await }));
    }
    let mut done = 0;
    for t in tasks {
        done += t.await??.done;
    }
    let secs = t.elapsed().as_secs_f64();
    let received = std::fs::read_dir(maildir.join("maildir/new"))
        .map(|d| d.count())
        .unwrap_or(0);
    println!(
        "delivered {done} jobs in {secs:.2} s: {:.0} messages/s ({workers} workers, {backend:?})",
        done as f64 / secs
    );
    println!("the SMTP server holds {received} messages (expected {n})");
    if u64::try_from(received).unwrap_or(0) != n {
        bail!("expected exactly {n} messages, the server holds {received}");
    }
    Ok(())
}
