//! `make bench` (webhook ingestion, the issue's form): signed
//! `payment_intent.succeeded` events, 10 % of them delivered twice, posted
//! to the real router's `POST /webhooks/stripe` on PostgreSQL as fast as
//! the machine allows; then the `stripe.event` jobs are drained by the
//! real workers and the ledger is checked: exactly one payment entry per
//! distinct payment.
//!
//! ```sh
//! BENCH_EVENTS=20000 cargo run --release -p aqueduct-server --example bench_webhooks
//! ```
//!
//! `BENCH_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`,
//! a superuser: a database is created and dropped), `BENCH_EVENTS` distinct
//! payments (20,000), `BENCH_CONNECTIONS` keep-alive HTTP/1.1 connections
//! (32), `BENCH_WORKERS` job workers for the drain (4). The client runs in
//! the same process (it shares the machine's cores with the server, as
//! wrk would). Prints a Markdown report with the load average.

#![allow(clippy::print_stdout, clippy::print_stderr)]
#![allow(
    clippy::float_arithmetic,
    clippy::disallowed_types,
    clippy::cast_precision_loss,
    reason = "throughput and timing figures for a report, never money"
)]
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a benchmark script: failing loudly is right"
)]

use anyhow::{Context, bail};
use aqueduct_api::{AppState, Settings};
use aqueduct_core::{Clock, Secret, Slug, SystemClock};
use aqueduct_jobs::Worker;
use aqueduct_payments::{Stripe, StripeSettings};
use aqueduct_tenant::directory::{self, NewTenant};
use aqueduct_tenant::{Db, DbOptions, TenantStatus};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const SECRET: &str = "whsec_bench";
const ACCOUNT: &str = "acct_bench";
const CUSTOMERS: u64 = 200;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let n = env_u64("BENCH_EVENTS", 20_000);
    let conns = env_u64("BENCH_CONNECTIONS", 32);
    let workers = env_u64("BENCH_WORKERS", 4);
    let base = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    if !base.starts_with("postgres") {
        bail!("the webhook benchmark runs on PostgreSQL (BENCH_DATABASE_URL)");
    }
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
    let result = run(n, conns, workers, owner.as_str(), app.as_str()).await;
    let admin = Database::connect(&base).await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    result
}

async fn run(
    n: u64,
    conns: u64,
    workers: u64,
    owner_url: &str,
    app_url: &str,
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

    // Seed: customers (no email, so nothing is mailed), the connected
    // account, and one pending payment per event.
    let owner = Database::connect(owner_url).await?;
    let now = clock.now();
    let t = Value::from(tenant.id().uuid());
    let at = Value::from(now);
    for sql in [
        format!(
            "INSERT INTO accounts (tenant_id, id, account_number, holder_name, email, status, opened_on, paperless, autopay, created_at, updated_at)
             SELECT $1, gen_random_uuid(), 'W-' || i, 'Holder ' || i, NULL, 'active', DATE '2020-01-01', false, false, $2, $2
             FROM generate_series(1, {CUSTOMERS}) i"
        ),
        "INSERT INTO stripe_accounts (tenant_id, id, stripe_account_id, livemode, details_submitted, charges_enabled,
             payouts_enabled, currently_due, past_due, disabled_reason, fee_basis_points, fee_fixed_cents, state_version,
             created_at, updated_at)
         VALUES ($1, gen_random_uuid(), 'acct_bench', false, true, true, true, '[]', '[]', NULL, 0, 0, 0, $2, $2)"
            .to_owned(),
        format!(
            "INSERT INTO payments (tenant_id, id, account_id, idempotency_key, amount_cents, application_fee_cents,
                 convenience_fee_cents, currency, status, captured_cents, refunded_cents, created_at, updated_at)
             SELECT $1, gen_random_uuid(), a.id, 'bench-' || i, 1000 + (i * 37) % 9000, 0, 0, 'usd', 'pending', 0, 0, $2, $2
             FROM generate_series(1, {n}) i
             JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM accounts) a ON a.k = i % {CUSTOMERS}"
        ),
    ] {
        owner
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                &sql,
                vec![t.clone(), at.clone()],
            ))
            .await
            .with_context(|| format!("seeding: {sql}"))?;
    }
    let rows = owner
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT id, amount_cents FROM payments ORDER BY idempotency_key",
        ))
        .await?;
    let payments: Vec<(uuid::Uuid, i64)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get::<uuid::Uuid>("", "id").unwrap(),
                r.try_get::<i64>("", "amount_cents").unwrap(),
            )
        })
        .collect();
    let bodies: Arc<Vec<String>> = Arc::new(
        payments
            .iter()
            .enumerate()
            .map(|(i, (id, amount))| {
                serde_json::json!({
                    "id": format!("evt_bench_{i}"), "object": "event", "type": "payment_intent.succeeded",
                    "account": ACCOUNT, "livemode": false, "created": now.timestamp(),
                    "api_version": aqueduct_stripe_sim::API_VERSION, "pending_webhooks": 1,
                    "request": {"id": null, "idempotency_key": null},
                    "data": {"object": {
                        "id": format!("pi_bench_{i}"), "object": "payment_intent", "status": "succeeded",
                        "amount": amount, "amount_received": amount, "currency": "usd",
                        "latest_charge": format!("ch_bench_{i}"),
                        "metadata": {"aqueduct_payment_id": id.to_string()},
                    }},
                })
                .to_string()
            })
            .collect(),
    );
    // Every tenth event is delivered again a few events later (10 %).
    let mut order: Vec<usize> = Vec::with_capacity(bodies.len() * 11 / 10);
    for i in 0..bodies.len() {
        order.push(i);
        if i % 10 == 9 {
            order.push(i - 5);
        }
    }
    let order = Arc::new(order);

    let stripe = Stripe::new(StripeSettings {
        secret_key: Secret::new("sk_test_bench"),
        webhook_secrets: vec![Secret::new(SECRET)],
        api_base: Some("http://127.0.0.1:9/".into()),
        public_url: "http://bench.test".into(),
    })?;
    let state = AppState::new(
        db.clone(),
        clock.clone(),
        Settings {
            public_url: "http://bench.test".into(),
            tls: false,
            trusted_proxy: false,
        },
    )
    .with_stripe(stripe);
    let (router, _) = aqueduct_api::app(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    let load_before = loadavg();
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (next, order, bodies) = (next.clone(), order.clone(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let mut stream = BufReader::new(stream);
            let mut ok = 0_u64;
            let mut latencies = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = order.get(k) else { break };
                let body = &bodies[i];
                // Stripe signs with the wall clock; so does the benchmark.
                #[allow(clippy::disallowed_methods)]
                let ts = chrono::Utc::now().timestamp();
                let sig = aqueduct_stripe_sim::signature_header(SECRET, ts, body.as_bytes());
                let req = format!(
                    "POST /webhooks/stripe HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nStripe-Signature: {sig}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let started = Instant::now();
                stream.get_mut().write_all(req.as_bytes()).await?;
                let mut status = String::new();
                stream.read_line(&mut status).await?;
                let mut len = 0_usize;
                loop {
                    let mut line = String::new();
                    stream.read_line(&mut line).await?;
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut rest = vec![0_u8; len];
                stream.read_exact(&mut rest).await?;
                latencies.push(started.elapsed());
                if status.split_whitespace().nth(1) == Some("200") {
                    ok += 1;
                } else {
                    anyhow::bail!("{status}: {}", String::from_utf8_lossy(&rest));
                }
            }
            Ok::<_, anyhow::Error>((ok, latencies))
        }));
    }
    let mut accepted = 0_u64;
    let mut latencies = Vec::new();
    for t in tasks {
        let (ok, l) = t.await??;
        accepted += ok;
        latencies.extend(l);
    }
    let ingest = t0.elapsed();
    let load_after_ingest = loadavg();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];

    // Drain the queue with the real handlers.
    let registry = aqueduct_server::worker::registry(&db, &clock);
    let t1 = Instant::now();
    let mut drains = Vec::new();
    for i in 0..workers {
        let w = Worker::new(
            db.clone(),
            clock.clone(),
            registry.clone(),
            format!("bench-{i}"),
        );
        drains.push(tokio::spawn(async move { w.run_until_idle().await }));
    }
    for d in drains {
        d.await??;
    }
    let drain = t1.elapsed();

    let count = |sql: &'static str| {
        let owner = &owner;
        async move {
            let row = owner
                .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
                .await?
                .context("count")?;
            Ok::<i64, anyhow::Error>(row.try_get::<i64>("", "n")?)
        }
    };
    let entries = count("SELECT COUNT(*) AS n FROM ledger_entries WHERE kind = 'payment'").await?;
    let distinct = count("SELECT COUNT(*) AS n FROM payments").await?;
    let succeeded = count("SELECT COUNT(*) AS n FROM payments WHERE status = 'succeeded'").await?;
    let stored = count("SELECT COUNT(*) AS n FROM stripe_events").await?;
    let queued = count("SELECT COUNT(*) AS n FROM jobs WHERE status <> 'done'").await?;
    // Per payment, not only in total: every distinct payment has exactly
    // one `payment` entry under its own external id.
    let not_one = count(
        "SELECT COUNT(*) AS n FROM (
             SELECT p.id FROM payments p
             LEFT JOIN ledger_entries l
               ON l.tenant_id = p.tenant_id AND l.kind = 'payment'
              AND l.external_id = 'payment:' || p.id::text
             GROUP BY p.id HAVING COUNT(l.id) <> 1) x",
    )
    .await?;

    let sent = order.len();
    let build = if cfg!(debug_assertions) {
        "debug build: not a benchmark figure"
    } else {
        "release build"
    };
    println!("## Webhook ingestion (PostgreSQL, {build})\n");
    println!("| | |\n|---|---|");
    println!(
        "| events posted (10 % duplicates) | {sent} ({} distinct) |",
        bodies.len()
    );
    println!("| connections | {conns} |");
    println!(
        "| accepted (200) | {accepted} in {:.2} s = **{:.0} events/s** |",
        ingest.as_secs_f64(),
        accepted as f64 / ingest.as_secs_f64()
    );
    println!(
        "| latency p50 / p99 | {:.1} ms / {:.1} ms |",
        pct(0.5).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0
    );
    println!("| inbox rows (one per event id) | {stored} |");
    println!(
        "| drain ({workers} workers) | {:.2} s = {:.0} events/s |",
        drain.as_secs_f64(),
        stored as f64 / drain.as_secs_f64()
    );
    println!("| ledger payment entries / distinct payments | {entries} / {distinct} |");
    println!("| payments succeeded | {succeeded} |");
    println!("| jobs not done | {queued} |");
    println!("| payments without exactly one entry | {not_one} |");
    println!("| load average (before / after ingest) | {load_before} / {load_after_ingest} |");
    if accepted != sent as u64
        || entries != distinct
        || succeeded != distinct
        || queued != 0
        || not_one != 0
    {
        bail!("ledger check failed: {entries} entries for {distinct} payments");
    }
    println!("\nOK: exactly one ledger entry per distinct payment.");
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}
