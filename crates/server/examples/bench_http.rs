//! `make bench` (HTTP part): the real `aqueduct serve` (release build) on a
//! fresh PostgreSQL database with the demo association, loaded with `wrk`,
//! next to a bare axum handler doing one indexed PostgreSQL query (the
//! ceiling), in the same run.
//!
//! ```sh
//! cargo build --release -p aqueduct-server --bin aqueduct --example bench_http
//! target/release/examples/bench_http            # needs wrk and PostgreSQL
//! ```
//!
//! Endpoints: (1) a signed-in clerk's `GET /api/v1/accounts/{id}` (session
//! cookie), (1b) the signed-in demo customer's account page (HTML: balance,
//! bills, payments, the usage chart), (2) the public "find my bill" lookup
//! `POST /demo/find` (account number and ZIP, the form a visitor sends),
//! (2b) the public association page `GET /demo`, (3) `POST
//! /webhooks/stripe` with validly signed, distinct events. For each: peak
//! requests/s (wrk, 2 threads, 32 connections, 10 s) as a fraction of the
//! ceiling, p50/p99; then p50/p99 at about half of that peak (wrk's
//! `delay()` per connection: a closed loop with think time — Debian's wrk
//! has no constant-rate mode). Also the server's idle resident memory and
//! the binary's size. Prints a Markdown report.
//!
//! `BENCH_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! must be a superuser URL: a database is created and dropped.
//! `BENCH_SECONDS` (10) is the length of each run.

#![allow(clippy::print_stdout, clippy::print_stderr)]
#![allow(
    clippy::float_arithmetic,
    clippy::disallowed_types,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "throughput and timing figures for a report, never money"
)]
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::type_complexity,
    reason = "a benchmark script: failing loudly is right"
)]

use anyhow::{Context, bail};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// One HTTP/1.1 request → (status, headers, body).
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> anyhow::Result<(u16, Vec<(String, String)>, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes())?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok((status, headers, body.to_owned()))
}

fn wait_up(addr: SocketAddr, path: &str) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Ok((200, _, _)) = http(addr, "GET", path, &[], "") {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{addr}{path} did not come up")
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The ceiling: axum, one pool, one indexed query per request.
async fn ceiling(listen: &str, url: &str) -> anyhow::Result<()> {
    use axum::extract::{Path, State};
    // The same pool settings as the server's (`Db::connect`): a recently
    // used connection is not pinged before each query.
    let mut opts = sea_orm::ConnectOptions::new(url);
    opts.test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false);
    let db: DatabaseConnection = Database::connect(opts).await?;
    async fn one(
        State(db): State<DatabaseConnection>,
        Path(slug): Path<String>,
    ) -> Result<axum::Json<serde_json::Value>, axum::http::StatusCode> {
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT id, name FROM tenants WHERE slug = $1",
                [slug.into()],
            ))
            .await
            .map_err(|_| axum::http::StatusCode::INTERNAL_SERVER_ERROR)?
            .ok_or(axum::http::StatusCode::NOT_FOUND)?;
        let id: uuid::Uuid = row
            .try_get("", "id")
            .map_err(|_| axum::http::StatusCode::INTERNAL_SERVER_ERROR)?;
        let name: String = row
            .try_get("", "name")
            .map_err(|_| axum::http::StatusCode::INTERNAL_SERVER_ERROR)?;
        Ok(axum::Json(serde_json::json!({ "id": id, "name": name })))
    }
    let app = axum::Router::new()
        .route("/ceiling/{slug}", axum::routing::get(one))
        .with_state(db);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// What one wrk run measured.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

fn to_ms(v: &str) -> f64 {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => f64::NAN,
    }
}

fn wrk(
    dir: &Path,
    url: &str,
    script: &str,
    connections: u32,
    seconds: u32,
    delay_ms: Option<f64>,
) -> anyhow::Result<Run> {
    let lua = dir.join("script.lua");
    std::fs::write(&lua, script)?;
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--latency",
        "-s",
    ])
    .arg(&lua)
    .arg(url)
    .env("BENCH_DIR", dir);
    if let Some(d) = delay_ms {
        cmd.env("BENCH_DELAY_MS", format!("{d:.3}"));
    }
    let out = cmd.output().context("running wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!("wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    }
    let mut r = Run::default();
    for line in text.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("Requests/sec:") {
            r.rps = v.trim().parse().unwrap_or(0.0);
        } else if let Some(v) = t.strip_prefix("50%") {
            r.p50_ms = to_ms(v.trim());
        } else if let Some(v) = t.strip_prefix("99%") {
            r.p99_ms = to_ms(v.trim());
        } else if let Some(v) = t.strip_prefix("Non-2xx or 3xx responses:") {
            r.errors += v.trim().parse::<u64>().unwrap_or(0);
        } else if t.starts_with("Socket errors:") {
            r.errors += t
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    Ok(r)
}

/// A GET with fixed headers; `delay()` only when BENCH_DELAY_MS is set.
fn get_script(headers: &[(&str, &str)]) -> String {
    let mut h = String::new();
    for (k, v) in headers {
        h.push_str(&format!("wrk.headers[\"{k}\"] = \"{v}\"\n"));
    }
    format!(
        "{h}local d = tonumber(os.getenv(\"BENCH_DELAY_MS\") or \"0\")\n\
         if d > 0 then function delay() return d end end\n"
    )
}

/// The same form `body` posted again and again.
fn post_form_script(body: &str) -> String {
    format!(
        "wrk.method = \"POST\"\n\
         wrk.body = \"{body}\"\n\
         wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n{}",
        get_script(&[])
    )
}

/// Each wrk thread sends its own share of the pre-signed events, in order.
const WEBHOOK_SCRIPT: &str = r#"
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local d = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if d > 0 then function delay() return d end end
local items = {}
local n = 0
local i = 0
function init(args)
  local k = 0
  for line in io.lines(os.getenv("BENCH_DIR") .. "/events.txt") do
    if k % 2 == tid then
      local tab = string.find(line, "\t", 1, true)
      n = n + 1
      items[n] = { string.sub(line, 1, tab - 1), string.sub(line, tab + 1) }
    end
    k = k + 1
  end
end
function request()
  i = i + 1
  if i > n then i = 1 end
  local it = items[i]
  return wrk.format("POST", "/webhooks/stripe",
    { ["Stripe-Signature"] = it[1], ["Content-Type"] = "application/json" }, it[2])
end
"#;

fn write_events(
    dir: &Path,
    from: u64,
    count: u64,
    account: &str,
    secret: &str,
) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("events.txt"))?);
    let t = aqueduct_core::Clock::now(&aqueduct_core::SystemClock).timestamp();
    for i in from..from + count {
        let body = format!(
            r#"{{"id":"evt_bench_{i}","object":"event","api_version":"2024-06-20","type":"charge.updated","livemode":false,"created":{t},"account":"{account}","data":{{"object":{{"id":"ch_bench_{i}","object":"charge"}}}}}}"#
        );
        let sig = aqueduct_stripe_sim::signature_header(secret, t, body.as_bytes());
        writeln!(f, "{sig}\t{body}")?;
    }
    f.flush()?;
    Ok(())
}

async fn count(owner: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = owner
        .query_one_raw(Statement::from_string(owner.get_database_backend(), sql))
        .await?
        .context("no row")?;
    Ok(row.try_get("", "n")?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("ceiling") {
        return ceiling(&args[2], &args[3]).await;
    }
    let seconds: u32 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let base = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let exe = std::env::current_exe()?;
    let bin: PathBuf = std::env::var("AQUEDUCT_BIN").map_or_else(
        |_| {
            exe.parent()
                .and_then(Path::parent)
                .unwrap()
                .join("aqueduct")
        },
        PathBuf::from,
    );
    let bin_size = std::fs::metadata(&bin)
        .with_context(|| format!("{} (build it first)", bin.display()))?
        .len();

    // A fresh database, migrated, with the demo association.
    let name = format!("aq_bench_http_{}", std::process::id());
    let admin = Database::connect(&base).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    let mut owner_url = url::Url::parse(&base)?;
    owner_url.set_path(&format!("/{name}"));
    let mut app_url = owner_url.clone();
    app_url.set_username("aqueduct_app").ok();
    app_url.set_password(None).ok();
    let result = run(
        &bin,
        bin_size,
        owner_url.as_str(),
        app_url.as_str(),
        seconds,
    )
    .await;
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    result
}

#[allow(clippy::too_many_lines, reason = "one straight script")]
async fn run(
    bin: &Path,
    bin_size: u64,
    owner_url: &str,
    app_url: &str,
    seconds: u32,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let aq = |args: &[&str], url: &str| -> anyhow::Result<String> {
        let out = Command::new(bin)
            .args(args)
            .env("DATABASE_URL", url)
            .env("AQUEDUCT__LOG__FILTER", "warn")
            .output()?;
        if !out.status.success() {
            bail!(
                "aqueduct {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    eprintln!("migrating and loading the demo…");
    aq(&["migrate"], owner_url)?;
    let demo = aq(&["demo"], app_url)?;
    let api_key = demo
        .split_whitespace()
        .find(|w| w.starts_with("aqk_"))
        .context("the demo prints an API key")?
        .to_owned();

    let sim = aqueduct_stripe_sim::Sim::start(aqueduct_stripe_sim::SimConfig::default()).await?;
    let addr = free_addr();
    let serve = Guard(
        Command::new(bin)
            .args(["serve", "--listen", &addr.to_string()])
            .env("DATABASE_URL", app_url)
            .env("AQUEDUCT__LOG__FILTER", "warn")
            .env("AQUEDUCT__STRIPE__SECRET_KEY", sim.secret_key())
            .env("AQUEDUCT__STRIPE__WEBHOOK_SECRET", sim.webhook_secret())
            .env("AQUEDUCT__STRIPE__API_BASE", sim.base_url())
            .stdout(Stdio::null())
            .spawn()?,
    );
    let caddr = free_addr();
    let exe = std::env::current_exe()?;
    let _ceiling = Guard(
        Command::new(exe)
            .args(["ceiling", &caddr.to_string(), app_url])
            .spawn()?,
    );
    wait_up(addr, "/readyz")?;
    wait_up(caddr, "/ceiling/demo")?;
    std::thread::sleep(Duration::from_secs(2));
    let idle_rss = rss_kib(serve.0.id());

    // A clerk's session, an account, the Stripe account.
    let auth = format!("Bearer {api_key}");
    let (code, headers, body) = http(
        addr,
        "POST",
        "/api/v1/auth/sign-in",
        &[("content-type", "application/json")],
        &serde_json::json!({"email": "clerk@demo.example.org", "password": aqueduct_server::demo::DEMO_PASSWORD}).to_string(),
    )?;
    if code != 200 {
        bail!("sign-in: {code} {body}");
    }
    let cookie = headers
        .iter()
        .find(|(k, _)| k == "set-cookie")
        .and_then(|(_, v)| v.split(';').next())
        .context("a session cookie")?
        .to_owned();
    let (_, _, body) = http(
        addr,
        "GET",
        "/api/v1/accounts?limit=1",
        &[("authorization", &auth)],
        "",
    )?;
    let account = body
        .split("\"id\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("an account id")?
        .to_owned();
    let account_path = format!("/api/v1/accounts/{account}");
    let (code, _, body) = http(addr, "GET", &account_path, &[("cookie", &cookie)], "")?;
    if code != 200 {
        bail!("account page: {code} {body}");
    }
    // The demo customer's session and their account page (HTML).
    let form = format!(
        "email={}&password={}",
        aqueduct_server::demo::DEMO_CUSTOMER.replace('@', "%40"),
        aqueduct_server::demo::DEMO_PASSWORD
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            })
            .collect::<String>()
    );
    let (code, headers, body) = http(
        addr,
        "POST",
        "/demo/signin",
        &[("content-type", "application/x-www-form-urlencoded")],
        &form,
    )?;
    if code != 303 && code != 302 {
        bail!("customer sign-in: {code} {body}");
    }
    let customer_cookie = headers
        .iter()
        .find(|(k, _)| k == "set-cookie")
        .and_then(|(_, v)| v.split(';').next())
        .context("a customer session cookie")?
        .to_owned();
    let (_, _, body) = http(
        addr,
        "GET",
        &format!(
            "/api/v1/accounts?q={}&limit=1",
            aqueduct_server::demo::DEMO_CUSTOMER_ACCOUNT
        ),
        &[("authorization", &auth)],
        "",
    )?;
    let customer_account = body
        .split("\"id\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("the demo customer's account id")?
        .to_owned();
    let customer_path = format!("/demo/account/{customer_account}");
    let (code, _, body) = http(
        addr,
        "GET",
        &customer_path,
        &[("cookie", &customer_cookie)],
        "",
    )?;
    if code != 200 || !body.contains(aqueduct_server::demo::DEMO_CUSTOMER_ACCOUNT) {
        bail!("customer account page: {code} {body}");
    }

    // The public lookup: the demo customer's account number and ZIP.
    let find_body = format!(
        "account_number={}&zip=81230",
        aqueduct_server::demo::DEMO_CUSTOMER_ACCOUNT
    );
    let (code, _, body) = http(
        addr,
        "POST",
        "/demo/find",
        &[("content-type", "application/x-www-form-urlencoded")],
        &find_body,
    )?;
    if code != 200 || !body.contains('$') {
        bail!("find my bill: {code} {body}");
    }

    let (code, _, body) = http(
        addr,
        "POST",
        "/api/v1/stripe/connect",
        &[("authorization", &auth)],
        "",
    )?;
    if code != 200 {
        bail!("connect: {code} {body}");
    }
    let (_, _, body) = http(
        addr,
        "GET",
        "/api/v1/stripe/account",
        &[("authorization", &auth)],
        "",
    )?;
    let acct = body
        .split("\"stripe_account_id\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("a connected account")?
        .to_owned();

    let base = format!("http://{addr}");
    let plain = get_script(&[]);
    let with_cookie = get_script(&[("Cookie", &cookie)]);
    let targets: Vec<(&str, String, String)> = vec![
        (
            "ceiling: bare axum + one indexed query",
            format!("http://{caddr}/ceiling/demo"),
            plain.clone(),
        ),
        (
            "(1) signed-in clerk: account JSON",
            format!("{base}{account_path}"),
            with_cookie,
        ),
        (
            "(1b) signed-in customer: account page (HTML)",
            format!("{base}{customer_path}"),
            get_script(&[("Cookie", &customer_cookie)]),
        ),
        (
            "(2) public \"find my bill\" lookup (POST)",
            format!("{base}/demo/find"),
            post_form_script(&find_body),
        ),
        (
            "(2b) public association page",
            format!("{base}/demo"),
            plain,
        ),
        (
            "(3) Stripe webhook, signed",
            format!("{base}/webhooks/stripe"),
            WEBHOOK_SCRIPT.to_owned(),
        ),
    ];
    let owner = Database::connect(owner_url).await?;
    let mut rows = Vec::new();
    let mut next_event = 0;
    let events_per_run = 60_000;
    for (label, url, script) in &targets {
        let webhook = url.ends_with("/webhooks/stripe");
        if webhook {
            write_events(
                dir.path(),
                next_event,
                events_per_run,
                &acct,
                &sim.webhook_secret(),
            )?;
            next_event += events_per_run;
        }
        let before = count(&owner, "SELECT COUNT(*) AS n FROM stripe_events").await?;
        eprintln!("{label}: peak…");
        let peak = wrk(dir.path(), url, script, 32, seconds, None)?;
        let stored = count(&owner, "SELECT COUNT(*) AS n FROM stripe_events").await? - before;
        // Half the peak rate: 16 connections, each pausing between requests.
        let half = peak.rps / 2.0;
        let delay = (16.0 * 1000.0 / half - peak.p50_ms / 2.0).max(0.1);
        if webhook {
            write_events(
                dir.path(),
                next_event,
                events_per_run,
                &acct,
                &sim.webhook_secret(),
            )?;
            next_event += events_per_run;
        }
        eprintln!("{label}: at half rate (delay {delay:.2} ms)…");
        let at_half = wrk(dir.path(), url, script, 16, seconds, Some(delay))?;
        rows.push((*label, peak, at_half, webhook.then_some(stored)));
    }
    let after_rss = rss_kib(serve.0.id());
    let ceiling_rps = rows[0].1.rps;

    println!(
        "| endpoint | peak req/s | of ceiling | p50 | p99 | errors | req/s at ≈½ peak | p50 | p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (label, peak, half, _) in &rows {
        println!(
            "| {label} | {:.0} | {:.0} % | {:.2} ms | {:.2} ms | {} | {:.0} | {:.2} ms | {:.2} ms |",
            peak.rps,
            peak.rps / ceiling_rps * 100.0,
            peak.p50_ms,
            peak.p99_ms,
            peak.errors + half.errors,
            half.rps,
            half.p50_ms,
            half.p99_ms
        );
    }
    for (label, peak, _, stored) in &rows {
        if let Some(stored) = stored {
            println!(
                "\n{label}: in the {seconds} s peak run {stored} distinct, validly signed events were verified and stored ({:.0} events/s; wrk counted {:.0} req/s — a resend after wrap-around is acknowledged as a duplicate and stored no row).",
                *stored as f64 / f64::from(seconds),
                peak.rps
            );
        }
    }
    println!(
        "\nServer resident memory: {:.1} MiB idle after start, {:.1} MiB after the runs. Release binary: {:.1} MiB ({} bytes).",
        idle_rss as f64 / 1024.0,
        after_rss as f64 / 1024.0,
        bin_size as f64 / 1_048_576.0,
        bin_size
    );
    drop(serve);
    Ok(())
}
