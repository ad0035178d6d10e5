//! The real `aqueduct` binary.

use crate::support::db::config_for;
use crate::support::http::{free_port, get, wait_until_up};
use crate::support::{Engine, TestDb};
use std::net::SocketAddr;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_aqueduct");

fn aqueduct(db_url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .output()
        .expect("run aqueduct")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

#[test]
fn help_lists_every_subcommand() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    for cmd in ["serve", "worker", "migrate", "demo", "operator", "tenant"] {
        assert!(text.contains(cmd), "--help lacks {cmd}:\n{text}");
    }
    let serve = stdout(
        &Command::new(BIN)
            .args(["serve", "--help"])
            .output()
            .unwrap(),
    );
    assert!(serve.contains("--listen"));
}

#[test]
fn clap_definition_is_consistent() {
    use clap::CommandFactory;
    aqueduct_server::cli::Cli::command().debug_assert();
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let out = Command::new(BIN)
        .args(["migrate", "--status"])
        .env("AQUEDUCT__DATABASE__URLL", "x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("urll"), "{}", stderr(&out));
}

async fn migrate_twice(engine: Engine) {
    let db = TestDb::empty(engine).await.unwrap();
    let first = ok(aqueduct(&db.owner_url, &["migrate"]));
    assert!(
        first.contains("applied m20261126_000001_foundation"),
        "{first}"
    );
    let second = ok(aqueduct(&db.owner_url, &["migrate"]));
    assert!(second.contains("nothing to apply"), "{second}");
    let status = ok(aqueduct(&db.app_url, &["migrate", "--status"]));
    assert!(
        status.lines().all(|l| l.starts_with("applied ")),
        "{status}"
    );
}

#[tokio::test]
async fn migrate_twice_is_a_no_op_sqlite() {
    migrate_twice(Engine::Sqlite).await;
}

#[tokio::test]
async fn migrate_twice_is_a_no_op_postgres() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    migrate_twice(Engine::Postgres).await;
}

async fn table_counts(db: &TestDb) -> Vec<i64> {
    use sea_orm::ConnectionTrait;
    let owner = db.owner().await;
    let mut counts = Vec::new();
    for sql in [
        "SELECT COUNT(*) AS n FROM tenants",
        "SELECT COUNT(*) AS n FROM accounts",
        "SELECT COUNT(*) AS n FROM service_locations",
        "SELECT COUNT(*) AS n FROM meters",
        "SELECT COUNT(*) AS n FROM occupancies",
        "SELECT COUNT(*) AS n FROM users",
        "SELECT COUNT(*) AS n FROM memberships",
        "SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL",
    ] {
        let row = owner
            .query_one_raw(sea_orm::Statement::from_string(
                owner.get_database_backend(),
                sql,
            ))
            .await
            .unwrap()
            .unwrap();
        counts.push(row.try_get("", "n").unwrap());
    }
    counts
}

async fn demo_twice(engine: Engine) {
    let db = TestDb::new(engine).await.unwrap();
    let first = ok(aqueduct(&db.app_url, &["demo"]));
    assert!(
        first.contains("320 customer accounts (320 added now)"),
        "{first}"
    );
    assert!(first.contains("aqk_"), "the demo prints an API key");
    let after_first = table_counts(&db).await;
    // Users: three staff and the demo customer (a customer has no membership).
    assert_eq!(after_first, vec![1, 320, 320, 320, 320, 4, 3, 1]);
    let second = ok(aqueduct(&db.app_url, &["demo"]));
    assert!(second.contains("(0 added now)"), "{second}");
    assert_eq!(table_counts(&db).await, after_first);
    let list = ok(aqueduct(&db.app_url, &["tenant", "list"]));
    assert!(list.contains("demo") && list.contains("320"), "{list}");
}

#[tokio::test]
async fn demo_twice_does_not_duplicate_sqlite() {
    demo_twice(Engine::Sqlite).await;
}

#[tokio::test]
async fn demo_twice_does_not_duplicate_postgres() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    demo_twice(Engine::Postgres).await;
}

#[tokio::test]
async fn operator_create_refuses_a_duplicate() {
    let db = TestDb::new(Engine::Sqlite).await.unwrap();
    let out = ok(aqueduct(
        &db.app_url,
        &["operator", "create", "--email", "Ops@Example.org"],
    ));
    assert!(out.contains("operator ops@example.org created"), "{out}");
    let again = aqueduct(
        &db.app_url,
        &["operator", "create", "--email", "ops@example.org"],
    );
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    let bad = aqueduct(&db.app_url, &["operator", "create", "--email", "nope"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("not an email"), "{}", stderr(&bad));
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(db_url: &str, extra_env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--with-worker", "--listen", &addr.to_string()])
            .env("DATABASE_URL", db_url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start aqueduct serve");
        Self { child, addr }
    }

    fn stop(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let out = self.child.wait_with_output().unwrap();
                return (status, String::from_utf8_lossy(&out.stderr).into_owned());
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[tokio::test]
async fn serve_answers_health_and_stops_gracefully() {
    let db = TestDb::new(Engine::Sqlite).await.unwrap();
    let metrics_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let server = Server::start(
        &db.app_url,
        &[
            ("AQUEDUCT__LOG__FORMAT", "json"),
            (
                "AQUEDUCT__SERVER__METRICS_LISTEN",
                &metrics_addr.to_string(),
            ),
        ],
    );
    let (code, body) =
        wait_until_up(server.addr, "/healthz", Duration::from_secs(30)).expect("serve came up");
    assert_eq!(code, 200, "{body}");
    let (code, body) = get(server.addr, "/readyz", &[("x-request-id", "ready-check-1")]).unwrap();
    assert_eq!(code, 200, "{body}");
    // The container health probe agrees.
    let probe = Command::new(BIN)
        .args([
            "health",
            "--url",
            &format!("http://{}/healthz", server.addr),
        ])
        .output()
        .unwrap();
    assert!(probe.status.success(), "{}", stderr(&probe));
    // Metrics on their own address, never on the public one.
    let (code, metrics) = get(metrics_addr, "/metrics", &[]).unwrap();
    assert_eq!(code, 200);
    assert!(metrics.contains(r#"aqueduct_http_request_duration_ms_count{method="GET",route="/readyz",status="200"} 1"#), "{metrics}");
    assert!(metrics.contains("aqueduct_jobs_queued 0"), "{metrics}");
    assert!(
        metrics.contains("aqueduct_db_pool_connections"),
        "{metrics}"
    );
    assert_eq!(get(server.addr, "/metrics", &[]).unwrap().0, 404);
    let addr = server.addr;
    let (status, logs) = server.stop();
    assert!(status.success(), "exit {status:?}\n{logs}");
    let probe = Command::new(BIN)
        .args(["health", "--url", &format!("http://{addr}/healthz")])
        .output()
        .unwrap();
    assert!(
        !probe.status.success(),
        "health must fail once the server is gone"
    );
    // JSON logs: one object per line, the request line carries its span.
    let request_line = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["span"]["request_id"] == "ready-check-1")
        .unwrap_or_else(|| panic!("no JSON log line for the request:\n{logs}"));
    assert_eq!(request_line["span"]["route"], "/readyz");
    assert_eq!(request_line["span"]["status"], 200);
    assert!(logs.contains("shutdown signal received"), "{logs}");
}

#[tokio::test]
async fn readyz_fails_while_migrations_are_pending() {
    let db = TestDb::empty(Engine::Sqlite).await.unwrap();
    let server = Server::start(&db.app_url, &[]);
    let (code, _) =
        wait_until_up(server.addr, "/healthz", Duration::from_secs(30)).expect("serve came up");
    assert_eq!(code, 200);
    let (code, body) = get(server.addr, "/readyz", &[]).unwrap();
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("unavailable"), "{body}");
    // Migrating while it runs makes it ready, without a restart.
    ok(aqueduct(&db.owner_url, &["migrate"]));
    let (code, body) = get(server.addr, "/readyz", &[]).unwrap();
    assert_eq!(code, 200, "{body}");
    server.stop();
}

#[tokio::test]
async fn serve_refuses_a_privileged_role_postgres() {
    let Some(db) = TestDb::postgres().await else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    // The owner URL in tests is a superuser: RLS would not apply.
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", &db.owner_url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("row-level security"),
        "{}",
        stderr(&out)
    );
    let _ = config_for(&db.app_url);
}
