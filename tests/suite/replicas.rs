//! Several replicas on one PostgreSQL: two `aqueduct serve` and two
//! `aqueduct worker` processes (the real binary) on one fresh database give
//! the same results as one — a bill run finalized through both servers at
//! once bills each account once, each signed webhook sent to both servers
//! posts once, each scheduled job runs once per tick, and a session made
//! on one server works on the other.

use crate::support::browser::{PASSWORD, staff};
use crate::support::http::{free_port, wait_until_up};
use crate::support::seed;
use crate::support::{TestApp, TestDb};
use aqueduct_core::{Clock, SystemClock};
use aqueduct_stripe_sim::{Sim, SimConfig};
use aqueduct_tenant::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_aqueduct");

/// A child process, stopped with SIGTERM (and killed if it lingers).
struct Proc {
    name: &'static str,
    child: Child,
}

impl Proc {
    fn start(name: &'static str, args: &[&str], env: &[(String, String)]) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AQUEDUCT__LOG__FILTER", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start aqueduct");
        Self { name, child }
    }

    /// SIGTERM, then wait for a clean exit.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                assert!(status.success(), "{} exited {status}: {err}", self.name);
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "{} did not stop on SIGTERM",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request → (status, headers, body).
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, HashMap<String, String>, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
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
    (status, headers, body.to_owned())
}

/// Runs `f` on a blocking thread.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

async fn scalar(db: &TestDb, sql: &str) -> i64 {
    let owner = db.owner().await;
    let row = owner
        .query_one_raw(Statement::from_string(owner.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

/// Waits until `sql` (a `COUNT(*) AS n`) reaches `want`.
async fn wait_for(db: &TestDb, sql: &str, want: i64, timeout: Duration) -> i64 {
    let start = Instant::now();
    loop {
        let n = scalar(db, sql).await;
        if n >= want || start.elapsed() > timeout {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_and_two_workers_postgres() {
    let Some(db) = TestDb::postgres().await else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let app = TestApp::new(db).await;
    app.clock.set(SystemClock.now());
    let clock = app.clock.clone();
    let s = seed::tenant(&app.pool, clock.as_ref(), "alpha").await;
    crate::bill_runs::add_accounts(&app, &s, 40, &[]).await;
    let run = crate::bill_runs::november(&app, &s).await;
    staff(
        &app.pool,
        clock.as_ref(),
        &s.tenant,
        "clerk@alpha.test",
        Role::Clerk,
    )
    .await;
    let sim = Sim::start(SimConfig::default()).await.unwrap();

    // Two servers, two workers; schedules tick every minute, looked at
    // every second by both workers.
    let env: Vec<(String, String)> = [
        ("DATABASE_URL", app.db.app_url.clone()),
        ("AQUEDUCT__STRIPE__SECRET_KEY", sim.secret_key()),
        ("AQUEDUCT__STRIPE__WEBHOOK_SECRET", sim.webhook_secret()),
        ("AQUEDUCT__STRIPE__API_BASE", sim.base_url()),
        ("AQUEDUCT__SCHEDULE__HOUR_UTC", "0".into()),
        ("AQUEDUCT__SCHEDULE__PERIOD_MINUTES", "1".into()),
        ("AQUEDUCT__SCHEDULE__TICK_SECONDS", "1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let addrs: Vec<SocketAddr> = (0..2)
        .map(|_| format!("127.0.0.1:{}", free_port()).parse().unwrap())
        .collect();
    let servers: Vec<Proc> = addrs
        .iter()
        .zip(["serve-a", "serve-b"])
        .map(|(a, name)| Proc::start(name, &["serve", "--listen", &a.to_string()], &env))
        .collect();
    let workers = [
        Proc::start("worker-1", &["worker"], &env),
        Proc::start("worker-2", &["worker"], &env),
    ];
    for a in &addrs {
        let (code, body) = wait_until_up(*a, "/readyz", Duration::from_secs(60)).expect("serve up");
        assert_eq!(code, 200, "{body}");
    }
    let (a, b) = (addrs[0], addrs[1]);
    let key = format!("Bearer {}", s.admin_key.expose());

    // A session made on A works on B.
    let (code, headers, body) = blocking(move || {
        http(
            a,
            "POST",
            "/api/v1/auth/sign-in",
            &[("content-type", "application/json")],
            &serde_json::json!({"email": "clerk@alpha.test", "password": PASSWORD}).to_string(),
        )
    })
    .await;
    assert_eq!(code, 200, "{body}");
    let cookie = headers["set-cookie"].split(';').next().unwrap().to_owned();
    let (code, _, body) =
        blocking(move || http(b, "GET", "/api/v1/auth/session", &[("cookie", &cookie)], "")).await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("clerk@alpha.test"), "{body}");

    // One bill run finalized through both servers at the same moment.
    let path = format!("/api/v1/bill-runs/{run}/finalize");
    let finals: Vec<(u16, String)> = std::thread::scope(|sc| {
        let hs: Vec<_> = [a, b]
            .into_iter()
            .map(|addr| {
                let (path, key) = (&path, &key);
                sc.spawn(move || {
                    let (c, _, t) = http(
                        addr,
                        "POST",
                        path,
                        &[("authorization", key), ("content-type", "application/json")],
                        r#"{"batch_size": 5}"#,
                    );
                    (c, t)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(finals.iter().any(|(c, _)| *c == 200), "{finals:?}");
    assert!(
        finals.iter().all(|(c, _)| *c == 200 || *c == 409),
        "{finals:?}"
    );
    let bills = crate::bill_runs::all_bills(&app, &s).await;
    // The seeded October bill plus one November bill per new account.
    assert_eq!(bills.len(), 41, "{finals:?}");
    let numbers: Vec<i64> = bills.iter().map(|b| b.number).collect();
    assert_eq!(numbers, (1..=41).collect::<Vec<_>>(), "numbers have gaps");
    let billed: HashSet<_> = bills[1..].iter().map(|b| b.account_id).collect();
    assert_eq!(billed.len(), 40, "an account was billed twice");
    let charges = scalar(
        &app.db,
        "SELECT COUNT(*) AS n FROM ledger_entries WHERE bill_id IS NOT NULL",
    )
    .await;
    assert_eq!(charges, 41, "one ledger charge per bill");

    // Payments: every event the (simulated) Stripe emits is signed and
    // delivered to BOTH servers at once; the workers post each once.
    let mut delivered = 0;
    let deliver_new = |from: usize| {
        let events = sim.events();
        let secret = sim.webhook_secret();
        async move {
            let fresh: Vec<String> = events[from..]
                .iter()
                .map(|e| serde_json::to_string(e).unwrap())
                .collect();
            let n = events.len();
            blocking(move || {
                for payload in &fresh {
                    let t = SystemClock.now().timestamp();
                    let sig = aqueduct_stripe_sim::signature_header(&secret, t, payload.as_bytes());
                    std::thread::scope(|sc| {
                        for addr in [a, b] {
                            let sig = &sig;
                            sc.spawn(move || {
                                let (c, _, body) = http(
                                    addr,
                                    "POST",
                                    "/webhooks/stripe",
                                    &[
                                        ("stripe-signature", sig),
                                        ("content-type", "application/json"),
                                    ],
                                    payload,
                                );
                                assert_eq!(c, 200, "{addr}: {body}");
                            });
                        }
                    });
                }
            })
            .await;
            n
        }
    };
    let (code, _, body) = {
        let key = key.clone();
        blocking(move || {
            http(
                a,
                "POST",
                "/api/v1/stripe/connect",
                &[("authorization", &key)],
                "",
            )
        })
        .await
    };
    assert_eq!(code, 200, "{body}");
    let (_, _, body) = {
        let key = key.clone();
        blocking(move || {
            http(
                b,
                "GET",
                "/api/v1/stripe/account",
                &[("authorization", &key)],
                "",
            )
        })
        .await
    };
    let acct: Value = serde_json::from_str(&body).unwrap();
    let acct = acct["stripe_account_id"].as_str().unwrap().to_owned();
    let (code, _) = {
        let url = sim.url(&format!("/_sim/accounts/{acct}/onboard"));
        blocking(move || crate::payments::post_form(&url, "")).await
    };
    assert_eq!(code, 200);
    delivered = deliver_new(delivered).await;
    let account_events = || {
        i64::try_from(
            sim.events()
                .iter()
                .filter(|e| e["account"].is_string())
                .count(),
        )
        .unwrap()
    };
    let done_events =
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'stripe.event' AND status = 'done'";
    let onboarded = wait_for(
        &app.db,
        done_events,
        account_events(),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(onboarded, account_events());
    let payments_before = scalar(
        &app.db,
        "SELECT COUNT(*) AS n FROM ledger_entries WHERE kind = 'payment'",
    )
    .await;
    for (i, addr) in [a, b, a].into_iter().enumerate() {
        let path = format!("/api/v1/accounts/{}/payments", s.account);
        let key = key.clone();
        let (code, headers, body) = blocking(move || {
            http(
                addr,
                "POST",
                &path,
                &[
                    ("authorization", &key),
                    ("idempotency-key", &format!("replica-pay-{i}")),
                    ("content-type", "application/json"),
                ],
                r#"{"amount_cents": 1500}"#,
            )
        })
        .await;
        assert_eq!(code, 303, "{body}");
        let session = headers["location"].rsplit('/').next().unwrap().to_owned();
        let url = sim.url(&format!("/_sim/checkout/sessions/{session}/complete"));
        let (code, text) = blocking(move || crate::payments::post_form(&url, "action=pay")).await;
        assert!(code < 400, "{code} {text}");
    }
    delivered = deliver_new(delivered).await;
    let stored = wait_for(
        &app.db,
        done_events,
        account_events(),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(stored, account_events());
    // Each event was stored once and handled once, though sent twice.
    assert_eq!(
        scalar(&app.db, "SELECT COUNT(*) AS n FROM stripe_events").await,
        stored
    );
    assert_eq!(
        scalar(
            &app.db,
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'stripe.event' AND attempts <> 1"
        )
        .await,
        0,
        "an event job ran more than once"
    );
    assert!(delivered > 3);
    assert_eq!(
        scalar(
            &app.db,
            "SELECT COUNT(*) AS n FROM ledger_entries WHERE kind = 'payment'"
        )
        .await,
        payments_before + 3,
        "each payment posts exactly once"
    );

    // Schedules: the per-minute retention tick, seen by both workers every
    // second, is enqueued once and run once.
    let ran = wait_for(
        &app.db,
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'retention.run' AND status = 'done'",
        1,
        Duration::from_secs(75),
    )
    .await;
    assert!(ran >= 1, "no retention tick ran");
    let owner = app.db.owner().await;
    let rows = owner
        .query_all_raw(Statement::from_string(
            owner.get_database_backend(),
            "SELECT dedupe_key, attempts FROM jobs WHERE kind = 'retention.run'",
        ))
        .await
        .unwrap();
    let mut ticks = HashSet::new();
    for r in rows {
        let tick: String = r.try_get("", "dedupe_key").unwrap();
        let attempts: i32 = r.try_get("", "attempts").unwrap();
        assert!(ticks.insert(tick.clone()), "tick {tick} enqueued twice");
        assert!(attempts <= 1, "tick {tick} ran {attempts} times");
    }

    for p in servers.into_iter().chain(workers) {
        p.stop();
    }
}

/// A counter from a server's `/metrics`.
fn metric(addr: SocketAddr, name: &str) -> i64 {
    let (code, _, body) = http(addr, "GET", "/metrics", &[], "");
    assert_eq!(code, 200, "{body}");
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not in /metrics:\n{body}"))
}

/// Polls `path` on `addr` with `cookie` until it answers something other
/// than 200; returns that status and how long it took (at most `limit`).
fn until_refused(addr: SocketAddr, path: &str, cookie: &str, limit: Duration) -> (u16, Duration) {
    let start = Instant::now();
    loop {
        let (code, _, _) = http(addr, "GET", path, &[("cookie", cookie)], "");
        if code != 200 || start.elapsed() > limit {
            return (code, start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sign_in(addr: SocketAddr, email: &str) -> (String, String) {
    let (code, headers, body) = http(
        addr,
        "POST",
        "/api/v1/auth/sign-in",
        &[("content-type", "application/json")],
        &serde_json::json!({"email": email, "password": PASSWORD}).to_string(),
    );
    assert_eq!(code, 200, "{body}");
    let cookie = headers["set-cookie"].split(';').next().unwrap().to_owned();
    let csrf = serde_json::from_str::<Value>(&body).unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

/// The in-process authentication cache on two servers: requests are
/// answered from memory (the hit counter moves), and yet every change —
/// made by the other server, or straight in the database as another
/// process would — is seen within moments, long before the entries'
/// 120-second lifetime: a removed membership, a sign-out, a disabled
/// person, a suspended association. A sign-out is seen by the server that
/// performed it on the very next request.
#[tokio::test]
async fn the_auth_cache_hears_every_change_across_replicas_postgres() {
    let Some(db) = TestDb::postgres().await else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let app = TestApp::new(db).await;
    app.clock.set(SystemClock.now());
    let clock = app.clock.clone();
    let s = seed::tenant(&app.pool, clock.as_ref(), "alpha").await;
    let mut users = Vec::new();
    for who in ["member", "leaver", "disabled", "suspended"] {
        let email = format!("{who}@alpha.test");
        let id = staff(&app.pool, clock.as_ref(), &s.tenant, &email, Role::Clerk).await;
        users.push((email, id));
    }
    let addrs: Vec<SocketAddr> = (0..4)
        .map(|_| format!("127.0.0.1:{}", free_port()).parse().unwrap())
        .collect();
    let (a, b, metrics_a, metrics_b) = (addrs[0], addrs[1], addrs[2], addrs[3]);
    let env = |metrics: SocketAddr| -> Vec<(String, String)> {
        vec![
            ("DATABASE_URL".into(), app.db.app_url.clone()),
            ("AQUEDUCT__AUTH__CACHE_SECONDS".into(), "120".into()),
            (
                "AQUEDUCT__SERVER__METRICS_LISTEN".into(),
                metrics.to_string(),
            ),
        ]
    };
    let _servers = [
        Proc::start(
            "serve-a",
            &["serve", "--listen", &a.to_string()],
            &env(metrics_a),
        ),
        Proc::start(
            "serve-b",
            &["serve", "--listen", &b.to_string()],
            &env(metrics_b),
        ),
    ];
    for addr in [a, b] {
        let (code, body) =
            wait_until_up(addr, "/readyz", Duration::from_secs(60)).expect("serve up");
        assert_eq!(code, 200, "{body}");
    }
    for m in [metrics_a, metrics_b] {
        let start = Instant::now();
        while blocking(move || metric(m, "aqueduct_auth_cache_live")).await != 1 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "cache never went live"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let owner = app.db.owner().await;
    let exec = |sql: String| {
        let owner = owner.clone();
        async move {
            owner
                .execute_raw(Statement::from_string(owner.get_database_backend(), sql))
                .await
                .unwrap();
        }
    };
    const PATH: &str = "/api/v1/accounts";
    let limit = Duration::from_secs(3);

    // Signed in on A, working on B: after the first request, B answers
    // from memory (session, association and role: three hits a request).
    let mut cookies = Vec::new();
    for (email, _) in &users {
        let email = email.clone();
        cookies.push(blocking(move || sign_in(a, &email)).await);
    }
    for (cookie, _) in &cookies {
        let cookie = cookie.clone();
        let (code, _, body) =
            blocking(move || http(b, "GET", PATH, &[("cookie", &cookie)], "")).await;
        assert_eq!(code, 200, "{body}");
    }
    let hits = blocking(move || metric(metrics_b, "aqueduct_auth_cache_hits_total")).await;
    let c0 = cookies[0].0.clone();
    let (code, _, _) = blocking(move || http(b, "GET", PATH, &[("cookie", &c0)], "")).await;
    assert_eq!(code, 200);
    let after = blocking(move || metric(metrics_b, "aqueduct_auth_cache_hits_total")).await;
    assert!(
        after >= hits + 3,
        "a warm request should hit 3 times: {hits} → {after}"
    );

    // 1. The membership is removed in the database (another process).
    exec(format!(
        "DELETE FROM memberships WHERE user_id = '{}'",
        users[0].1.uuid()
    ))
    .await;
    let c = cookies[0].0.clone();
    let (code, took) = blocking(move || until_refused(b, PATH, &c, limit)).await;
    assert_eq!(
        code, 403,
        "a removed member must be refused (after {took:?})"
    );

    // 2. Sign-out on A: A refuses at once, B within moments.
    let (c, csrf) = cookies[1].clone();
    let c2 = c.clone();
    let (code, _, _) = blocking(move || http(a, "GET", PATH, &[("cookie", &c2)], "")).await;
    assert_eq!(code, 200, "warm A's cache first");
    let c2 = c.clone();
    let (code, _, body) = blocking(move || {
        http(
            a,
            "POST",
            "/api/v1/auth/sign-out",
            &[("cookie", &c2), ("x-csrf-token", &csrf)],
            "",
        )
    })
    .await;
    assert!(code < 300, "sign-out: {code} {body}");
    let c2 = c.clone();
    let (code, _, _) = blocking(move || http(a, "GET", PATH, &[("cookie", &c2)], "")).await;
    assert_eq!(
        code, 401,
        "the server that signed out must refuse the next request"
    );
    let (code, took) = blocking(move || until_refused(b, PATH, &c, limit)).await;
    assert_eq!(
        code, 401,
        "signed out on A, still served by B after {took:?}"
    );

    // 3. The person is disabled in the database.
    exec(format!(
        "UPDATE users SET disabled_at = now() WHERE id = '{}'",
        users[2].1.uuid()
    ))
    .await;
    let c = cookies[2].0.clone();
    let (code, took) = blocking(move || until_refused(b, PATH, &c, limit)).await;
    assert_eq!(
        code, 401,
        "a disabled person must be refused (after {took:?})"
    );

    // 3b. A customer's link to an account is removed in the database:
    // that account's page, served by B from its cached list of the
    // login's accounts, must stop answering.
    let customer = crate::customers::customer(&app, &s, "holder@alpha.test", &[s.account]).await;
    let (code, headers, body) = blocking(move || {
        http(
            a,
            "POST",
            "/api/v1/customer/sign-in",
            &[("content-type", "application/json")],
            &serde_json::json!({
                "slug": "alpha", "email": "holder@alpha.test", "password": PASSWORD
            })
            .to_string(),
        )
    })
    .await;
    assert_eq!(code, 200, "{body}");
    let customer_cookie = headers["set-cookie"].split(';').next().unwrap().to_owned();
    let page = format!("/alpha/account/{}", s.account);
    for _ in 0..2 {
        let (c, p) = (customer_cookie.clone(), page.clone());
        let (code, _, body) = blocking(move || http(b, "GET", &p, &[("cookie", &c)], "")).await;
        assert_eq!(code, 200, "{body}");
    }
    exec(format!(
        "DELETE FROM customer_links WHERE user_id = '{}'",
        customer.uuid()
    ))
    .await;
    let (code, took) = blocking(move || until_refused(b, &page, &customer_cookie, limit)).await;
    assert_eq!(
        code, 404,
        "an unlinked account's page must be refused (after {took:?})"
    );

    // 4. The association is suspended in the database.
    exec(format!(
        "UPDATE tenants SET status = 'suspended' WHERE id = '{}'",
        s.tenant.id().uuid()
    ))
    .await;
    let c = cookies[3].0.clone();
    let (code, took) = blocking(move || until_refused(b, PATH, &c, limit)).await;
    assert_ne!(
        code, 200,
        "a suspended association must be refused (after {took:?})"
    );
    // 5. The association is closed in the database: its public page,
    // whose association B keeps by slug, is gone.
    for _ in 0..2 {
        let (code, _, body) = blocking(move || http(b, "GET", "/alpha", &[], "")).await;
        assert_eq!(
            code, 200,
            "a suspended association's page still shows: {body}"
        );
    }
    let hits = blocking(move || metric(metrics_b, "aqueduct_auth_cache_hits_total")).await;
    let (code, _, _) = blocking(move || http(b, "GET", "/alpha", &[], "")).await;
    assert_eq!(code, 200);
    let after = blocking(move || metric(metrics_b, "aqueduct_auth_cache_hits_total")).await;
    assert!(
        after > hits,
        "the page's association should come from memory"
    );
    exec(format!(
        "UPDATE tenants SET status = 'closed' WHERE id = '{}'",
        s.tenant.id().uuid()
    ))
    .await;
    let (code, took) = blocking(move || until_refused(b, "/alpha", "", limit)).await;
    assert_eq!(
        code, 404,
        "a closed association's page must be gone (after {took:?})"
    );

    let notes =
        blocking(move || metric(metrics_b, "aqueduct_auth_cache_notifications_total")).await;
    assert!(notes >= 6, "B heard {notes} notifications");
}
