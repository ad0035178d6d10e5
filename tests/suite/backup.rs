//! Encrypted backups against a real S3-compatible server (s3s-fs):
//! backup → wipe → restore gives identical data; the stored object holds no
//! plaintext; a wrong key fails; pruning keeps what the rule says; storage
//! failing mid-upload lists nothing as good.

use crate::db_test;
use crate::support::s3::S3Server;
use crate::support::seed;
use crate::support::{Engine, TestDb};
use aqueduct_core::Clock;
use aqueduct_core::ManualClock;
use aqueduct_retention::backup::{
    self, BackupError, BackupKey, BackupStore, Keyring, PruneRule, StoreSettings, store::Progress,
};
use chrono::{DateTime, TimeZone, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, JsonValue, Statement,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

fn keys(id: &str) -> Keyring {
    Keyring::from_settings(&BackupKey::generate(id).unwrap(), "").unwrap()
}

fn settings(bucket: &str) -> StoreSettings {
    StoreSettings {
        bucket: bucket.into(),
        prefix: "aq/".into(),
        force_path_style: true,
        part_size: 5 << 20,
    }
}

async fn store(s3: &S3Server, bucket: &str) -> BackupStore {
    BackupStore::new(&s3.sdk().await, &settings(bucket)).unwrap()
}

fn nothing(_: Progress) {}

/// Row count and a checksum of every table (rows sorted, so the physical
/// order does not matter).
async fn fingerprint(conn: &DatabaseConnection) -> BTreeMap<String, (i64, String)> {
    let backend = conn.get_database_backend();
    let list = match backend {
        DbBackend::Sqlite => {
            "SELECT name AS t FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        _ => "SELECT tablename::text AS t FROM pg_tables WHERE schemaname = 'public'",
    };
    let tables: Vec<String> = conn
        .query_all_raw(Statement::from_string(backend, list))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "t").unwrap())
        .collect();
    let mut out = BTreeMap::new();
    for t in tables {
        let fp = match backend {
            DbBackend::Sqlite => {
                let rows = JsonValue::find_by_statement(Statement::from_string(
                    backend,
                    format!("SELECT * FROM \"{t}\""),
                ))
                .all(conn)
                .await
                .unwrap();
                let mut lines: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
                lines.sort();
                let mut h = Sha256::new();
                for l in &lines {
                    h.update(l.as_bytes());
                    h.update(b"\n");
                }
                (lines.len() as i64, hex::encode(h.finalize()))
            }
            _ => {
                let r = conn
                    .query_one_raw(Statement::from_string(
                        backend,
                        format!(
                            "SELECT count(*) AS n, coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') AS h FROM \"{t}\" x"
                        ),
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                (
                    r.try_get::<i64>("", "n").unwrap(),
                    r.try_get::<String>("", "h").unwrap(),
                )
            }
        };
        out.insert(t, fp);
    }
    out
}

async fn object_bytes(s3: &S3Server, bucket: &str, key: &str) -> Vec<u8> {
    s3.client()
        .await
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .to_vec()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

db_test!(backup_wipe_restore_gives_identical_data, |db| {
    let Some(s3) = S3Server::start() else { return };
    if db.engine == Engine::Postgres && !tools_present() {
        eprintln!("skipped: pg_dump/pg_restore not on PATH");
        return;
    }
    s3.create_bucket("backups").await;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 2, 3, 0, 0).unwrap());
    let pool = db.app_pool(2).await;
    let a = seed::tenant(&pool, &clock, "alpha").await;
    let b = seed::tenant(&pool, &clock, "beta").await;
    let before = fingerprint(&db.owner().await).await;
    assert!(before["accounts"].0 >= 2, "{before:?}");

    let k = keys("k2026");
    let store = store(&s3, "backups").await;
    let work = tempfile::tempdir().unwrap();
    let m = backup::create(&db.owner_url, &k, &store, &clock, work.path(), &nothing)
        .await
        .unwrap();
    assert_eq!(m.key_id, "k2026");
    assert!(m.schema_version.starts_with('m'), "{}", m.schema_version);
    assert_eq!(store.list().await.unwrap(), vec![m.clone()]);

    // The stored object is ciphertext: no marker, and its checksum is the
    // manifest's. The decrypted snapshot does hold the marker (SQLite's
    // file format stores text as is), so the check above means something.
    let stored = object_bytes(&s3, "backups", &m.object).await;
    assert_eq!(stored.len() as u64, m.ciphertext_size);
    assert_eq!(hex::encode(Sha256::digest(&stored)), m.ciphertext_sha256);
    for marker in [&a.marker, &b.marker] {
        assert!(
            !contains(&stored, marker),
            "plaintext {marker} in the stored object"
        );
    }
    if db.engine == Engine::Sqlite {
        let dir = tempfile::tempdir().unwrap();
        let (_, snap) = backup::fetch(&store, &k, &m.id, dir.path()).await.unwrap();
        assert!(contains(&std::fs::read(snap).unwrap(), &a.marker));
    }
    let manifest = object_bytes(&s3, "backups", &format!("aq/{}/manifest.json", m.id)).await;
    assert!(!contains(&manifest, &a.marker));

    // Restoring over a database with data is refused without --force.
    let err = backup::restore(&store, &k, &m.id, &db.owner_url, false, work.path())
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::Refused(_)), "{err}");

    // Wipe: a brand-new, empty database; restore; same data.
    let target = TestDb::empty(db.engine).await.unwrap();
    let restored = backup::restore(&store, &k, &m.id, &target.owner_url, false, work.path())
        .await
        .unwrap();
    assert_eq!(restored.id, m.id);
    let after = fingerprint(&target.owner().await).await;
    assert_eq!(before, after);

    // --force replaces a non-empty database's contents.
    backup::restore(&store, &k, &m.id, &target.owner_url, true, work.path())
        .await
        .unwrap();
    assert_eq!(fingerprint(&target.owner().await).await, before);
});

fn tools_present() -> bool {
    ["pg_dump", "pg_restore"].iter().all(|t| {
        std::process::Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[tokio::test]
async fn a_wrong_key_fails_and_rotation_reads_old_backups() {
    crate::support::db::init_process();
    let Some(s3) = S3Server::start() else { return };
    s3.create_bucket("backups").await;
    let db = TestDb::new(Engine::Sqlite).await.unwrap();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 5, 3, 0, 0).unwrap());
    let store = store(&s3, "backups").await;
    let work = tempfile::tempdir().unwrap();
    let old_text = BackupKey::generate("old").unwrap();
    let old = Keyring::from_settings(&old_text, "").unwrap();
    let m = backup::create(&db.owner_url, &old, &store, &clock, work.path(), &nothing)
        .await
        .unwrap();

    // Same id, different key material: decryption fails.
    let imposter = Keyring::from_settings(&BackupKey::generate("old").unwrap(), "").unwrap();
    let err = backup::verify(&store, &imposter, &m.id, work.path())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot decrypt"), "{err}");
    // A keyring without that key id says which key is needed.
    let err = backup::verify(&store, &keys("new"), &m.id, work.path())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("\"old\""), "{err}");
    // Rotated: writes with the new key, still reads the old backup.
    let rotated = Keyring::from_settings(&BackupKey::generate("new").unwrap(), &old_text).unwrap();
    backup::verify(&store, &rotated, &m.id, work.path())
        .await
        .unwrap();
    let m2 = backup::create(
        &db.owner_url,
        &rotated,
        &store,
        &clock,
        work.path(),
        &nothing,
    )
    .await
    .unwrap();
    assert_eq!(m2.key_id, "new");
    // An unknown id is reported as such.
    let err = backup::verify(&store, &rotated, "20200101T000000Z-000000", work.path())
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::NotFound(_)), "{err}");
}

#[tokio::test]
async fn pruning_keeps_exactly_what_the_rule_says() {
    crate::support::db::init_process();
    let Some(s3) = S3Server::start() else { return };
    s3.create_bucket("backups").await;
    let db = TestDb::new(Engine::Sqlite).await.unwrap();
    let store = store(&s3, "backups").await;
    let work = tempfile::tempdir().unwrap();
    let k = keys("k");
    let at = |m, d, h| Utc.with_ymd_and_hms(2026, m, d, h, 0, 0).unwrap();
    let dates: Vec<DateTime<Utc>> = vec![
        at(1, 15, 3),
        at(2, 10, 3),
        at(2, 20, 3),
        at(3, 1, 10),
        at(3, 1, 12),
        at(3, 2, 3),
    ];
    let mut ids = Vec::new();
    for d in &dates {
        let clock = ManualClock::new(*d);
        let m = backup::create(&db.owner_url, &k, &store, &clock, work.path(), &nothing)
            .await
            .unwrap();
        ids.push(m.id);
    }
    let rule = PruneRule {
        keep_daily: 2,
        keep_monthly: 2,
    };
    // An upload that never got its manifest (data object only).
    s3.client()
        .await
        .put_object()
        .bucket("backups")
        .key("aq/20260301T000000Z-0rphan/data.aqbk")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"half"))
        .send()
        .await
        .unwrap();
    // Orphans count only when older than a day.
    let now = aqueduct_core::SystemClock.now();
    let r = backup::prune(&store, rule, true, now).await.unwrap();
    assert!(r.orphans.is_empty());
    // Dry run deletes nothing.
    let later = now + chrono::Duration::days(2);
    let r = backup::prune(&store, rule, true, later).await.unwrap();
    let (keep, delete) = (r.keep, r.delete);
    assert_eq!(r.orphans, vec!["20260301T000000Z-0rphan".to_owned()]);
    assert_eq!(store.list().await.unwrap().len(), 6);
    // Daily: Mar 2 and Mar 1 12:00; monthly: March (already) and Feb 20.
    let expected_keep = vec![ids[5].clone(), ids[4].clone(), ids[2].clone()];
    let expected_delete = vec![ids[3].clone(), ids[1].clone(), ids[0].clone()];
    assert_eq!(keep, expected_keep);
    assert_eq!(delete, expected_delete);
    backup::prune(&store, rule, false, later).await.unwrap();
    let left: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(left, vec![ids[2].clone(), ids[4].clone(), ids[5].clone()]);
    // The data objects of pruned backups are gone too.
    let objects = s3
        .client()
        .await
        .list_objects_v2()
        .bucket("backups")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = objects.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 6, "{keys:?}");
    assert!(keys.iter().all(|k| !k.contains(&ids[0])));
}

#[tokio::test]
async fn storage_failures_are_errors_and_nothing_is_listed() {
    crate::support::db::init_process();
    let Some(s3) = S3Server::start() else { return };
    s3.create_bucket("backups").await;
    let db = TestDb::new(Engine::Sqlite).await.unwrap();
    // ~12 MiB of incompressible data: three 5 MiB parts.
    db.owner()
        .await
        .execute_unprepared(
            "CREATE TABLE filler (b BLOB); INSERT INTO filler VALUES (randomblob(12582912));",
        )
        .await
        .unwrap();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 2, 3, 0, 0).unwrap());
    let k = keys("k");
    let work = tempfile::tempdir().unwrap();
    let good = store(&s3, "backups").await;

    // Wrong credentials.
    let wrong = BackupStore::new(
        &s3.sdk_with_secret("not-the-secret").await,
        &settings("backups"),
    )
    .unwrap();
    let err = backup::create(&db.owner_url, &k, &wrong, &clock, work.path(), &nothing)
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::Storage(_)), "{err}");
    assert!(err.to_string().contains("AWS_SECRET_ACCESS_KEY"), "{err}");
    // Missing bucket.
    let missing = store(&s3, "no-such-bucket").await;
    let err = backup::create(&db.owner_url, &k, &missing, &clock, work.path(), &nothing)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");

    // The server dies after the first part is stored.
    let parts = std::sync::Mutex::new(Vec::new());
    let kill = |p: Progress| {
        if let Progress::Part { number, of } = p {
            parts.lock().unwrap().push((number, of));
            if number == 1 {
                s3.stop();
            }
        }
    };
    let err = backup::create(&db.owner_url, &k, &good, &clock, work.path(), &kill)
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::Storage(_)), "{err}");
    assert!(err.to_string().contains("part 2 of 3"), "{err}");
    assert_eq!(*parts.lock().unwrap(), vec![(1, 3)]);

    // Storage unreachable from the start.
    let err = backup::create(&db.owner_url, &k, &good, &clock, work.path(), &nothing)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("storage unreachable"), "{err}");

    // Back up: nothing was listed as good, and a new backup works.
    s3.resume();
    assert!(good.list().await.unwrap().is_empty());
    let m = backup::create(&db.owner_url, &k, &good, &clock, work.path(), &nothing)
        .await
        .unwrap();
    assert!(m.ciphertext_size > 12 << 20);
    assert_eq!(good.list().await.unwrap().len(), 1);
    backup::verify(&good, &k, &m.id, work.path()).await.unwrap();
}

fn aqueduct(env: &[(String, String)], args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_aqueduct"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("run aqueduct")
}

fn text(o: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The operator's path through the real binary: backup, list, verify,
/// restore into a new database, refuse a non-empty one, fail clearly
/// without a key or without storage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_backs_up_lists_verifies_and_restores() {
    crate::support::db::init_process();
    let Some(s3) = S3Server::start() else { return };
    s3.create_bucket("aq-backups").await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/live.db?mode=rwc", dir.path().display());
    let key = BackupKey::generate("ops1").unwrap();
    let mut env = s3.env();
    env.extend([
        ("DATABASE_URL".to_owned(), url.clone()),
        (
            "AQUEDUCT__BACKUP__BUCKET".to_owned(),
            "aq-backups".to_owned(),
        ),
        (
            "AQUEDUCT__BACKUP__FORCE_PATH_STYLE".to_owned(),
            "true".to_owned(),
        ),
        ("AQUEDUCT__BACKUP__KEY".to_owned(), key),
        (
            "AQUEDUCT__BACKUP__WORK_DIR".to_owned(),
            dir.path().display().to_string(),
        ),
    ]);
    for cmd in [&["migrate"][..], &["demo"][..]] {
        let o = aqueduct(&env, cmd);
        assert!(o.status.success(), "{}", text(&o));
    }

    // Without a key: a clear refusal.
    let no_key: Vec<_> = env
        .iter()
        .filter(|(k, _)| k != "AQUEDUCT__BACKUP__KEY")
        .cloned()
        .collect();
    let o = aqueduct(&no_key, &["backup"]);
    assert!(
        !o.status.success() && text(&o).contains("backup keygen"),
        "{}",
        text(&o)
    );

    let o = aqueduct(&env, &["backup"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("backup ")?.split_whitespace().next())
        .unwrap_or_else(|| panic!("no id in {out}"))
        .to_owned();
    let o = aqueduct(&env, &["backup", "list"]);
    assert!(
        o.status.success() && text(&o).contains(&id) && text(&o).contains("1 backup(s)"),
        "{}",
        text(&o)
    );
    let o = aqueduct(&env, &["backup", "verify", &id]);
    assert!(
        o.status.success() && text(&o).contains("is good"),
        "{}",
        text(&o)
    );

    // Restore into a new database, then look at it.
    let target = format!("sqlite://{}/restored.db", dir.path().display());
    let o = aqueduct(&env, &["restore", &id, "--into", &target]);
    assert!(o.status.success(), "{}", text(&o));
    let mut on_target = env.clone();
    on_target.push(("DATABASE_URL".into(), target.clone()));
    let o = aqueduct(&on_target, &["tenant", "list"]);
    assert!(
        o.status.success() && text(&o).contains("320"),
        "{}",
        text(&o)
    );
    // A second restore into it is refused without --force, allowed with.
    let o = aqueduct(&env, &["restore", &id, "--into", &target]);
    assert!(
        !o.status.success() && text(&o).contains("not empty"),
        "{}",
        text(&o)
    );
    let o = aqueduct(&env, &["restore", &id, "--into", &target, "--force"]);
    assert!(o.status.success(), "{}", text(&o));

    // A data subject export and an erasure request from the command line.
    let zip_path = dir.path().join("10-0001.zip");
    let o = aqueduct(
        &env,
        &[
            "retention",
            "export",
            "--tenant",
            "demo",
            "--account",
            "10-0001",
            "--out",
            zip_path.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    assert!(archive.len() >= 4);
    let o = aqueduct(
        &env,
        &[
            "retention",
            "erase",
            "--tenant",
            "demo",
            "--account",
            "10-0001",
        ],
    );
    assert!(
        o.status.success() && text(&o).contains("restricted"),
        "{}",
        text(&o)
    );

    // The retention job's dry run from the command line.
    let o = aqueduct(&env, &["retention", "run", "--dry-run"]);
    assert!(
        o.status.success() && text(&o).contains("nothing was changed"),
        "{}",
        text(&o)
    );

    // Storage down: non-zero exit, a clear message, nothing new listed.
    s3.stop();
    let o = aqueduct(&env, &["backup"]);
    assert!(
        !o.status.success() && text(&o).contains("object storage"),
        "{}",
        text(&o)
    );
    s3.resume();
    let o = aqueduct(&env, &["backup", "list"]);
    assert!(text(&o).contains("1 backup(s)"), "{}", text(&o));
}
