//! The database's own line of defence: row-level security on PostgreSQL,
//! the tenant set per transaction, append-only audit.

use crate::db_test;
use crate::support::seed;
use crate::support::{TestApp, TestDb};
use aqueduct_billing::entity::account;
use aqueduct_core::{ManualClock, TenantId};
use aqueduct_tenant::{Db, scoped};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Statement};

async fn count_all_accounts(conn: &impl ConnectionTrait) -> i64 {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM accounts",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

fn insert_account_sql(backend: DbBackend, tenant: TenantId) -> Statement {
    Statement::from_sql_and_values(
        backend,
        match backend {
            DbBackend::Postgres => {
                "INSERT INTO accounts (tenant_id, id, account_number, holder_name, status, opened_on, \
                 paperless, autopay, created_at, updated_at) VALUES ($1, gen_random_uuid(), 'X-1', 'x', \
                 'active', DATE '2020-01-01', false, false, now(), now())"
            }
            _ => {
                "INSERT INTO accounts (tenant_id, id, account_number, holder_name, status, opened_on, \
                 paperless, autopay, created_at, updated_at) VALUES (?, randomblob(16), 'X-1', 'x', \
                 'active', '2020-01-01', 0, 0, '2020-01-01', '2020-01-01')"
            }
        },
        [tenant.uuid().into()],
    )
}

#[tokio::test]
async fn rls_catalog_every_tenant_table_is_protected_postgres() {
    let Some(db) = TestDb::postgres().await else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let owner = db.owner().await;
    let rows = owner
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT c.relname::text AS name, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
                    (SELECT COUNT(*) FROM pg_policies p WHERE p.schemaname = 'public'
                       AND p.tablename = c.relname AND p.policyname = 'tenant_isolation'
                       AND p.qual IS NOT NULL AND p.with_check IS NOT NULL) AS policies
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind = 'r'
               AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                           AND a.attname = 'tenant_id' AND NOT a.attisdropped)
             ORDER BY 1",
        ))
        .await
        .unwrap();
    let names: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("", "name").unwrap())
        .collect();
    for expected in ["accounts", "api_keys", "audit_log", "meters", "memberships"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    for r in &rows {
        let name: String = r.try_get("", "name").unwrap();
        let rls: bool = r.try_get("", "rls").unwrap();
        let forced: bool = r.try_get("", "forced").unwrap();
        let policies: i64 = r.try_get("", "policies").unwrap();
        assert!(rls && forced, "{name}: rls={rls} forced={forced}");
        assert_eq!(
            policies, 1,
            "{name} lacks a tenant_isolation policy with USING and WITH CHECK"
        );
    }
    let role = owner
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT r.rolsuper, r.rolbypassrls,
                    (SELECT COUNT(*) FROM pg_class c WHERE c.relowner = r.oid) AS owned
             FROM pg_roles r WHERE r.rolname = 'aqueduct_app'",
        ))
        .await
        .unwrap()
        .expect("the application role exists");
    assert!(!role.try_get::<bool>("", "rolsuper").unwrap());
    assert!(!role.try_get::<bool>("", "rolbypassrls").unwrap());
    assert_eq!(role.try_get::<i64>("", "owned").unwrap(), 0);
}

#[tokio::test]
async fn pool_of_one_never_leaks_a_tenant_postgres() {
    let Some(db) = TestDb::postgres().await else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let clock = ManualClock::new(crate::support::app::t0());
    let pool: Db = db.app_pool(1).await;
    let a = seed::tenant(&pool, &clock, "alpha").await;
    let b = seed::tenant(&pool, &clock, "bravo").await;

    // Tenant A's transaction sees exactly A's rows, even with no filter.
    let tx = pool.tenant(&a.tenant).await.unwrap();
    assert_eq!(count_all_accounts(tx.conn()).await, 1);
    tx.commit().await.unwrap();

    // The same (only) connection, now for B: none of A's rows.
    let tx = pool.tenant(&b.tenant).await.unwrap();
    let visible = account::Entity::find().all(tx.conn()).await.unwrap();
    assert_eq!(visible.len(), 1);
    assert_eq!(visible[0].tenant_id, b.tenant.id().uuid());
    // B cannot write a row for A.
    let err = tx
        .conn()
        .execute_raw(insert_account_sql(DbBackend::Postgres, a.tenant.id()))
        .await
        .expect_err("inserting another tenant's row must fail");
    assert!(err.to_string().contains("row-level security"), "{err}");
    tx.rollback().await.unwrap();

    // With no tenant set: nothing visible, inserts refused.
    assert_eq!(count_all_accounts(pool.maintenance()).await, 0);
    let err = pool
        .maintenance()
        .execute_raw(insert_account_sql(DbBackend::Postgres, a.tenant.id()))
        .await
        .expect_err("inserting with no tenant set must fail");
    assert!(err.to_string().contains("row-level security"), "{err}");
}

db_test!(scoped_queries_see_one_tenant, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    for t in [&a, &b] {
        let tx = app.pool.tenant(&t.tenant).await.unwrap();
        let rows = scoped::<account::Entity>(&tx).all(tx.conn()).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].holder_name.contains(&t.marker));
    }
});

db_test!(composite_keys_refuse_cross_tenant_links, |db| {
    // Even code that forgot a check cannot make A's occupancy point at
    // B's location: the foreign key includes the tenant.
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let res = aqueduct_billing::locations::move_in(
        &tx,
        a.account,
        b.location,
        chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
    )
    .await;
    assert!(
        res.is_err(),
        "linking to another tenant's location must fail"
    );
});

db_test!(audit_log_is_append_only, |db| {
    let engine = db.engine;
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    // Produce an entry: a probe for a missing object.
    let res = app
        .get(
            "/api/v1/accounts/00000000-0000-7000-8000-000000000000",
            a.admin_key.expose(),
        )
        .await;
    assert_eq!(res.status, 404);
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let n = aqueduct_tenant::audit::recent(&tx, 10).await.unwrap().len();
    assert!(n >= 1);
    let backend = tx.conn().get_database_backend();
    let upd = tx
        .conn()
        .execute_raw(Statement::from_string(
            backend,
            "UPDATE audit_log SET actor = 'someone else'",
        ))
        .await;
    assert!(upd.is_err(), "update of audit_log must fail");
    tx.rollback().await.unwrap();
    // Not even the schema owner may change history.
    let owner = app.db.owner().await;
    let del = owner
        .execute_raw(Statement::from_string(backend, "DELETE FROM audit_log"))
        .await
        .expect_err("delete of audit_log by the owner must fail");
    assert!(del.to_string().contains("append-only"), "{engine:?}: {del}");
});

db_test!(one_round_trip_reads_match_the_transaction_path, |db| {
    // `Db::read_once` (one simple-protocol message on PostgreSQL) gives
    // the same models as a tenant transaction, every column decoded alike
    // (a closed account has a timestamp and a date set), and it is scoped:
    // A's context never reaches B's account, even by its id.
    use aqueduct_core::Clock;
    use sea_orm::{ActiveModelTrait, ColumnTrait, IntoActiveModel, QueryFilter, Set};
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let row = scoped::<account::Entity>(&tx)
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap();
    let mut closed = row.into_active_model();
    closed.closed_at = Set(Some(app.clock.now()));
    closed.notes = Set(Some("O'Brien; \\ $1 — ünïcode".to_owned()));
    closed.update(tx.conn()).await.unwrap();
    let expected = scoped::<account::Entity>(&tx).all(tx.conn()).await.unwrap();
    tx.commit().await.unwrap();
    let by_id = |id: aqueduct_core::AccountId| {
        account::Entity::find().filter(account::Column::Id.eq(id.uuid()))
    };
    // Repeated, so PostgreSQL's plan of the prepared read is reused (a
    // generic plan after five runs) with each request's own tenant.
    for _ in 0..8 {
        let once = app
            .pool
            .read_once(&a.tenant, by_id(a.account))
            .await
            .unwrap();
        assert_eq!(once, expected);
        assert!(once[0].closed_at.is_some());
        // B's account through A's context: nothing.
        let cross = app
            .pool
            .read_once(&a.tenant, by_id(b.account))
            .await
            .unwrap();
        assert!(cross.is_empty());
        let own = app
            .pool
            .read_once(&b.tenant, by_id(b.account))
            .await
            .unwrap();
        assert_eq!(own.len(), 1);
        assert!(own[0].holder_name.contains(&b.marker));
    }
    // A string parameter takes the transaction path, with the same answer.
    let by_number = account::Entity::find()
        .filter(account::Column::AccountNumber.eq(expected[0].account_number.clone()));
    assert_eq!(
        app.pool.read_once(&a.tenant, by_number).await.unwrap(),
        expected
    );
});

db_test!(
    batched_reads_match_the_transaction_path_and_stay_scoped,
    |db| {
        // `Db::read_batch` answers several queries together (one message on
        // PostgreSQL, each query a statement prepared per connection): every
        // slot gets exactly its own query's rows, as a tenant transaction
        // reads them, and nothing of another association. On a one-connection
        // pool a batch mixing statements that connection has prepared with new
        // ones must still work (each new one is prepared, the others kept).
        use aqueduct_tenant::ReadBatch;
        use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
        #[derive(Debug, PartialEq, sea_orm::FromQueryResult)]
        struct NumberOnly {
            account_number: String,
        }
        let app = TestApp::new(db).await;
        let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
        let one = app.db.app_pool(1).await;
        let tx = app.pool.tenant(&a.tenant).await.unwrap();
        let all_a = scoped::<account::Entity>(&tx)
            .order_by_asc(account::Column::Id)
            .all(tx.conn())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(!all_a.is_empty());
        let by_id = |id: aqueduct_core::AccountId| {
            account::Entity::find().filter(account::Column::Id.eq(id.uuid()))
        };
        for round in 0..8 {
            let mut batch = ReadBatch::new(&a.tenant);
            // A new shape every other round: prepared and unprepared mixed.
            let first = if round % 2 == 0 {
                batch.add(by_id(b.account))
            } else {
                batch.add(by_id(b.account).limit(u64::try_from(round).unwrap()))
            };
            let all = batch.add(account::Entity::find().order_by_asc(account::Column::Id));
            let numbers = batch.add_as::<_, NumberOnly>(
                account::Entity::find()
                    .select_only()
                    .column(account::Column::AccountNumber)
                    .filter(account::Column::Id.eq(a.account.uuid())),
            );
            let empty = batch.add(by_id(a.account).filter(account::Column::Id.is_null()));
            let mut rows = one.read_batch(batch).await.unwrap();
            // B's account through A's batch: nothing.
            assert!(rows.models(first).unwrap().is_empty(), "round {round}");
            assert_eq!(rows.models(all).unwrap(), all_a, "round {round}");
            let own = all_a.iter().find(|r| r.id == a.account.uuid()).unwrap();
            assert_eq!(
                rows.first(numbers).unwrap(),
                Some(NumberOnly {
                    account_number: own.account_number.clone()
                })
            );
            assert!(rows.models(empty).unwrap().is_empty());
        }
        // A string parameter takes the transaction path, with the same rows.
        let mut batch = ReadBatch::new(&b.tenant);
        let named = batch
            .add(account::Entity::find().filter(account::Column::HolderName.contains(&b.marker)));
        let theirs = batch.add(by_id(a.account));
        let mut rows = one.read_batch(batch).await.unwrap();
        let named = rows.models(named).unwrap();
        assert_eq!(named.len(), 1);
        assert_eq!(named[0].id, b.account.uuid());
        assert!(rows.models(theirs).unwrap().is_empty());
    }
);
