//! The database handle and the only ways to reach tenant data.
//!
//! Tenant isolation has two lines of defence:
//! 1. **In code:** tenant data is reached through a [`TenantTx`], which can
//!    only be opened with a [`TenantCtx`]; every query filters on
//!    `tenant_id` (see [`crate::scoped`]).
//! 2. **In PostgreSQL:** row-level security. Opening a `TenantTx` sets
//!    `app.tenant_id` for that transaction only (`set_config(…, true)`), so a
//!    pooled connection never carries tenant A into tenant B's request; with
//!    no tenant set, tenant tables look empty and refuse inserts.
//!
//! Platform-wide reads (an operator listing tenants with their counts) go
//! through [`Db::platform`], which requires a [`PlatformAccess`] naming the
//! actor and the reason and writes an audit entry in the same transaction.

use crate::audit::{self, AuditEntry, Outcome};
use crate::ctx::TenantCtx;
use aqueduct_core::{Clock, TenantId};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use std::time::Duration;

/// Which database engine is behind a [`Db`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default.
    Sqlite,
    /// Production.
    Postgres,
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Largest number of pooled connections.
    pub max_connections: u32,
    /// How long to wait for a connection from the pool.
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// The database. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct Db {
    conn: DatabaseConnection,
    backend: Backend,
    /// Seals secrets that must be read back (TOTP keys) at rest.
    seal: Option<std::sync::Arc<crate::sealed::SealKey>>,
    /// Signs links in emails (one-click unsubscribe).
    links: Option<std::sync::Arc<crate::links::Links>>,
}

/// Read-only or read-write transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only (PostgreSQL enforces it).
    Read,
    /// Reads and writes (SQLite takes the write lock at BEGIN, so two
    /// writers queue instead of failing on lock upgrade).
    Write,
}

impl Db {
    /// Connects a pool to `url` (`sqlite://…` or `postgres://…`).
    pub async fn connect(url: &str, options: &DbOptions) -> Result<Self, DbErr> {
        let mut opts = ConnectOptions::new(url);
        opts.max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            // A connection used in the last half minute is handed out as
            // it is; one idle longer is pinged first (a server restart, a
            // proxy or firewall timeout). Pinging on every checkout, the
            // default, costs a round trip per transaction and per query.
            .test_before_acquire_if_idle_for(Duration::from_secs(30))
            .sqlx_logging(false);
        let conn = Database::connect(opts).await?;
        let backend = match conn.get_database_backend() {
            DbBackend::Postgres => Backend::Postgres,
            DbBackend::Sqlite => Backend::Sqlite,
            other => {
                return Err(DbErr::Custom(format!(
                    "unsupported database backend {other:?}: use sqlite:// or postgres://"
                )));
            }
        };
        if backend == Backend::Sqlite {
            // WAL lets readers work while a writer commits; it is a property
            // of the file, so setting it once per connect is enough.
            conn.execute_unprepared("PRAGMA journal_mode = WAL").await?;
        }
        Ok(Self {
            conn,
            backend,
            seal: None,
            links: None,
        })
    }

    /// The same handle, sealing TOTP keys at rest with `key`.
    pub fn with_seal_key(self, key: crate::sealed::SealKey) -> Self {
        Self {
            seal: Some(std::sync::Arc::new(key)),
            ..self
        }
    }

    /// The same handle, signing email links with `links`.
    pub fn with_links(self, links: crate::links::Links) -> Self {
        Self {
            links: Some(std::sync::Arc::new(links)),
            ..self
        }
    }

    /// Where signed email links point and their key, when configured.
    pub fn links(&self) -> Option<&crate::links::Links> {
        self.links.as_deref()
    }

    /// The sealing key, when configured.
    pub(crate) fn seal_key(&self) -> Option<&crate::sealed::SealKey> {
        self.seal.as_deref()
    }

    /// The engine behind this handle.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Connections open in the pool and how many of them are idle.
    pub fn pool_usage(&self) -> (u32, usize) {
        match self.backend {
            Backend::Postgres => {
                let p = self.conn.get_postgres_connection_pool();
                (p.size(), p.num_idle())
            }
            Backend::Sqlite => {
                let p = self.conn.get_sqlite_connection_pool();
                (p.size(), p.num_idle())
            }
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.conn.ping().await
    }

    /// The raw connection, for schema maintenance (migrations, readiness,
    /// backups) and the crate's own directory tables. On PostgreSQL the
    /// application role sees no tenant rows through it.
    pub fn maintenance(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub(crate) async fn begin(&self, access: Access) -> Result<DatabaseTransaction, DbErr> {
        let options = match (self.backend, access) {
            (Backend::Sqlite, Access::Write) => TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            },
            // PostgreSQL read-only: `SET TRANSACTION READ ONLY` travels
            // with the tenant setting in one round trip (`tenant_with`).
            _ => TransactionOptions::default(),
        };
        // On its own task: if the caller is dropped while `BEGIN` is in
        // flight (a client that went away, the request time limit), the
        // begin still completes and the transaction it returns is dropped,
        // which rolls it back. Awaited in place, a cancelled begin can
        // leave the pooled connection inside a transaction the driver does
        // not know about (sqlx 0.9 counts the transaction only once
        // `BEGIN` has answered), and the next autocommit statement on that
        // connection would not be committed.
        let conn = self.conn.clone();
        match tokio::spawn(async move { conn.begin_with_options(options).await }).await {
            Ok(tx) => tx,
            Err(e) => Err(DbErr::Custom(format!("beginning a transaction: {e}"))),
        }
    }

    pub(crate) async fn set_local(
        &self,
        tx: &DatabaseTransaction,
        setting: &str,
        value: &str,
    ) -> Result<(), DbErr> {
        if self.backend == Backend::Postgres {
            tx.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config($1, $2, true)",
                [setting.into(), value.into()],
            ))
            .await?;
        }
        Ok(())
    }

    /// Opens a read-write transaction scoped to one tenant.
    pub async fn tenant(&self, ctx: &TenantCtx) -> Result<TenantTx, DbErr> {
        self.tenant_with(ctx, Access::Write).await
    }

    /// Opens a transaction scoped to one tenant with the given access.
    ///
    /// Two round trips on PostgreSQL whatever the access: `BEGIN`, then one
    /// simple-protocol message carrying `SET TRANSACTION READ ONLY` (for
    /// reads) and the tenant setting. The tenant id is a UUID printed by
    /// us (hex digits and dashes only), so writing it into the statement
    /// text is safe.
    pub async fn tenant_with(&self, ctx: &TenantCtx, access: Access) -> Result<TenantTx, DbErr> {
        self.tenant_by_id(ctx.id(), access).await
    }

    /// [`Db::tenant_with`] by the tenant's id alone (the crate's own
    /// machinery, which may hold no [`TenantCtx`]).
    pub(crate) async fn tenant_by_id(
        &self,
        tenant_id: TenantId,
        access: Access,
    ) -> Result<TenantTx, DbErr> {
        let tx = self.begin(access).await?;
        if self.backend == Backend::Postgres {
            let read_only = if access == Access::Read {
                "SET TRANSACTION READ ONLY; "
            } else {
                ""
            };
            let tenant = tenant_id.uuid().hyphenated().to_string();
            tx.execute_unprepared(&format!(
                "{read_only}SELECT set_config('app.tenant_id', '{tenant}', true)"
            ))
            .await?;
        }
        Ok(TenantTx {
            tx,
            tenant: tenant_id,
            seal: self.seal.clone(),
        })
    }

    /// One tenant-scoped read in a single round trip, for the hottest
    /// read paths: the rows of `query` (which this adds the tenant filter
    /// to, as [`crate::scoped`] does).
    ///
    /// On PostgreSQL the statement travels in one simple-protocol message,
    /// which the server runs as one implicit transaction: `SELECT
    /// set_config('app.tenant_id', …, true); EXECUTE <query>(…)` — the
    /// setting is local to that transaction, and row-level security
    /// applies exactly as in [`Db::tenant_with`]. The query's parameters
    /// are written into the text, so only values that cannot carry text
    /// are accepted that way (UUIDs, numbers, booleans, dates and times);
    /// a query with any other value (a string, say) takes the ordinary
    /// transaction path instead, with the same result. On SQLite it is
    /// always the ordinary path.
    pub async fn read_once<E>(
        &self,
        ctx: &TenantCtx,
        query: sea_orm::Select<E>,
    ) -> Result<Vec<E::Model>, DbErr>
    where
        E: crate::TenantOwned,
        E::Model: sea_orm::FromQueryResult + Send + Sync,
    {
        self.read_once_in(ctx.id(), query).await
    }

    /// [`Db::read_once`] by the tenant's id alone.
    pub(crate) async fn read_once_in<E>(
        &self,
        tenant_id: TenantId,
        query: sea_orm::Select<E>,
    ) -> Result<Vec<E::Model>, DbErr>
    where
        E: crate::TenantOwned,
        E::Model: sea_orm::FromQueryResult + Send + Sync,
    {
        let mut batch = ReadBatch::for_tenant(tenant_id);
        let rows = batch.add(query);
        self.read_batch(batch).await?.models(rows)
    }

    /// Several tenant-scoped reads answered together, for pages that
    /// show many things at once: on PostgreSQL in one round trip, as
    /// [`Db::read_once`] does for one (one message, one implicit
    /// transaction: the tenant setting, then one `EXECUTE` of a
    /// per-connection prepared statement per query); on SQLite, or when a
    /// query has a parameter that may not be written into the text, in
    /// one ordinary read transaction.
    pub async fn read_batch(&self, batch: ReadBatch) -> Result<BatchRows, DbErr> {
        let n = batch.queries.len();
        if n == 0 {
            return Ok(BatchRows { sets: Vec::new() });
        }
        if self.backend != Backend::Postgres || !batch.queries.iter().all(|(pg, _)| inline_safe(pg))
        {
            let tx = self.tenant_by_id(batch.tenant, Access::Read).await?;
            let mut sets = Vec::with_capacity(n);
            for (pg, sqlite) in batch.queries {
                let stmt = if self.backend == Backend::Postgres {
                    pg
                } else {
                    sqlite
                };
                sets.push(tx.conn().query_all_raw(stmt).await?);
            }
            tx.commit().await?;
            return Ok(BatchRows { sets });
        }
        let tenant = batch.tenant.uuid().hyphenated();
        // A multi-statement message is one implicit transaction: the
        // tenant setting (local to it) holds for every query after it, and
        // ends with it. No `BEGIN`/`COMMIT` to parse and run: every query
        // is a `Select`, and the message either completes or, on an
        // error, is rolled back by the server at once.
        let mut message = format!("SELECT set_config('app.tenant_id', '{tenant}', true); ");
        let mut prepares = Vec::with_capacity(n);
        for (stmt, _) in &batch.queries {
            // Each statement is prepared once per connection (a
            // server-side `PREPARE`, named after its text), so PostgreSQL
            // plans it once, not on every request: planning dominated a
            // one-row read under row-level security.
            let name = prepared_name(&stmt.sql);
            let values = stmt.values.as_ref().map_or(0, |v| v.0.len());
            if values == 0 {
                message.push_str(&format!("EXECUTE {name}; "));
            } else {
                let placeholders: Vec<String> = (1..=values).map(|i| format!("${i}")).collect();
                let args = Statement {
                    sql: placeholders.join(", "),
                    ..stmt.clone()
                };
                message.push_str(&format!("EXECUTE {name}({args}); "));
            }
            prepares.push(format!("PREPARE {name} AS {}", stmt.sql));
        }
        let mut sets = self.simple_batch_prepared(message, prepares).await?;
        // Statement 0 is the tenant setting.
        if sets.len() != n + 1 {
            return Err(DbErr::Custom(format!(
                "one-round-trip read: {} results for {n} queries",
                sets.len()
            )));
        }
        Ok(BatchRows {
            sets: sets
                .drain(1..)
                .map(|rows| rows.into_iter().map(sea_orm::QueryResult::from).collect())
                .collect(),
        })
    }

    /// Runs a multi-statement simple-protocol message on one pooled
    /// connection and answers each statement's rows. Its `EXECUTE`s may
    /// name statements this connection has not prepared yet: then (the
    /// server has rolled the message back) each of `prepares` runs (one
    /// already there is left as it is) and the message again. A
    /// connection that failed otherwise is closed, never returned to the
    /// pool.
    async fn simple_batch_prepared(
        &self,
        message: String,
        prepares: Vec<String>,
    ) -> Result<Vec<Vec<sea_orm::sqlx::postgres::PgRow>>, DbErr> {
        use sea_orm::sqlx;
        let pool = self.conn.get_postgres_connection_pool().clone();
        let code_is = |e: &sqlx::Error, code: &str| {
            e.as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|c| c == code)
        };
        // On its own task, so a caller dropped half-way (between the
        // failed message and the `PREPARE`s, say) never leaves a
        // connection half-way through its exchange.
        let task = tokio::spawn(async move {
            let mut conn = pool
                .acquire()
                .await
                .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e.into())))?;
            let result = match per_statement(&mut conn, &message).await {
                Err(e) if code_is(&e, "26000") => {
                    let mut prepared = Ok(());
                    for p in prepares {
                        if prepared.is_err() {
                            break;
                        }
                        prepared = match sqlx::raw_sql(sqlx::AssertSqlSafe(p))
                            .execute(&mut *conn)
                            .await
                        {
                            // 42P05: this connection has that one already.
                            Err(e) if code_is(&e, "42P05") => Ok(()),
                            other => other.map(|_| ()),
                        };
                    }
                    match prepared {
                        Ok(()) => per_statement(&mut conn, &message).await,
                        Err(e) => Err(e),
                    }
                }
                other => other,
            };
            match result {
                Ok(sets) => Ok(sets),
                Err(e) => {
                    let _ = conn.close().await;
                    Err(DbErr::Query(sea_orm::RuntimeErr::SqlxError(e.into())))
                }
            }
        });
        task.await
            .map_err(|e| DbErr::Custom(format!("one-round-trip read: {e}")))?
    }

    /// Opens the explicit platform-wide path: a transaction that may read
    /// every tenant's rows. The access is audited inside the transaction,
    /// so the read and its audit entry commit together or not at all.
    pub async fn platform(
        &self,
        access: PlatformAccess,
        clock: &dyn Clock,
    ) -> Result<PlatformTx, DbErr> {
        let tx = self.begin(Access::Write).await?;
        self.set_local(&tx, "app.platform", "on").await?;
        audit::record(
            &tx,
            clock,
            AuditEntry {
                tenant: None,
                actor: access.actor.clone(),
                action: format!("platform.{}", access.reason),
                target: None,
                outcome: Outcome::Success,
                request_id: access.request_id.clone(),
                ip: None,
                details: None,
            },
        )
        .await?;
        tracing::info!(actor = %access.actor, reason = access.reason, "platform-wide access");
        Ok(PlatformTx { tx })
    }
}

impl Db {
    /// Opens a platform-wide transaction for the system's own machinery
    /// (claiming jobs, schedule ticks) — not for reading business data on
    /// anyone's behalf, which goes through [`Db::platform`] and is audited.
    /// `reason` is traced.
    pub async fn system(&self, reason: &'static str) -> Result<PlatformTx, DbErr> {
        let tx = self.begin(Access::Write).await?;
        self.set_local(&tx, "app.platform", "on").await?;
        tracing::trace!(reason, "system transaction");
        Ok(PlatformTx { tx })
    }
}

/// Why platform-wide access is needed, and who asks. Written to the audit
/// log when the access opens.
#[derive(Debug, Clone)]
pub struct PlatformAccess {
    /// Who: `user:<id>` for an operator, `cli`, `system`.
    pub actor: String,
    /// A short machine name for the reason, e.g. `tenant.list`.
    pub reason: &'static str,
    /// The request that caused it, if any.
    pub request_id: Option<String>,
}

/// A transaction in which only one tenant's rows are visible.
#[derive(Debug)]
pub struct TenantTx {
    tx: DatabaseTransaction,
    tenant: TenantId,
    /// The handle's sealing key (for secrets read back in this tenant).
    seal: Option<std::sync::Arc<crate::sealed::SealKey>>,
}

impl TenantTx {
    /// The sealing key of the handle that opened this transaction.
    pub(crate) fn seal_key(&self) -> Option<&crate::sealed::SealKey> {
        self.seal.as_deref()
    }

    /// The tenant this transaction is scoped to: filter every query on it.
    pub fn tenant_id(&self) -> TenantId {
        self.tenant
    }
    /// The connection to run queries on.
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.tx
    }
    /// Commits; runs to the end even if the caller stops waiting (see
    /// [`commit_to_the_end`]).
    pub async fn commit(self) -> Result<(), DbErr> {
        commit_to_the_end(self.tx).await
    }
    /// Rolls back (also happens on drop).
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.tx.rollback().await
    }
}

/// A platform-wide transaction (see [`Db::platform`]).
#[derive(Debug)]
pub struct PlatformTx {
    tx: DatabaseTransaction,
}

impl PlatformTx {
    /// The connection to run queries on.
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.tx
    }
    /// Commits (the audit entry with it); runs to the end even if the
    /// caller stops waiting (see [`commit_to_the_end`]).
    pub async fn commit(self) -> Result<(), DbErr> {
        commit_to_the_end(self.tx).await
    }
}

/// Commits `tx` on a task of its own, so that the commit finishes even when
/// the future awaiting it is dropped — hyper drops a request's future when
/// the client hangs up, the timeout layer drops it at 30 s.
///
/// Why: dropped half-way, sea-orm's `commit` leaves the transaction marked
/// open after `COMMIT` has been sent, so its `Drop` queues a `ROLLBACK`
/// that the server then runs outside any transaction ("WARNING: there is
/// no transaction in progress", seen under load), and the caller cannot
/// know whether its commit happened. On a task of its own the commit
/// completes, the transaction is closed properly and the connection goes
/// back to the pool clean.
async fn commit_to_the_end(tx: DatabaseTransaction) -> Result<(), DbErr> {
    match tokio::spawn(tx.commit()).await {
        Ok(result) => result,
        Err(e) => Err(DbErr::Custom(format!("commit task failed: {e}"))),
    }
}

/// The server-side name of a prepared read: `aq_ro_` and a hash of its
/// text (the same text, the same name, on every connection).
/// Reads to be answered together by [`Db::read_batch`]: each added query
/// is scoped to the batch's tenant (as [`crate::scoped`] does) and gives
/// back a [`Slot`] naming its rows in the answer.
#[derive(Debug)]
pub struct ReadBatch {
    tenant: TenantId,
    /// Each query built for PostgreSQL and for SQLite.
    queries: Vec<(Statement, Statement)>,
}

/// Where one query's rows are in a [`BatchRows`], read as `M`.
#[derive(Debug)]
pub struct Slot<M> {
    index: usize,
    model: std::marker::PhantomData<fn() -> M>,
}

impl ReadBatch {
    /// An empty batch of reads in `ctx`'s association.
    pub fn new(ctx: &TenantCtx) -> Self {
        Self::for_tenant(ctx.id())
    }

    pub(crate) fn for_tenant(tenant: TenantId) -> Self {
        Self {
            tenant,
            queries: Vec::new(),
        }
    }

    /// Adds `query`, with the tenant filter; its rows are `E`'s models.
    pub fn add<E: crate::TenantOwned>(&mut self, query: sea_orm::Select<E>) -> Slot<E::Model> {
        self.add_as(query)
    }

    /// Adds `query` (typically `select_only` with a few columns), with the
    /// tenant filter; its rows are read as `M`.
    pub fn add_as<E: crate::TenantOwned, M>(&mut self, query: sea_orm::Select<E>) -> Slot<M> {
        use sea_orm::{ColumnTrait, QueryFilter, QueryTrait};
        let query = query.filter(E::tenant_column().eq(self.tenant.uuid()));
        self.queries.push((
            query.build(DbBackend::Postgres),
            query.build(DbBackend::Sqlite),
        ));
        Slot {
            index: self.queries.len() - 1,
            model: std::marker::PhantomData,
        }
    }
}

/// The answer of [`Db::read_batch`].
#[derive(Debug)]
pub struct BatchRows {
    sets: Vec<Vec<sea_orm::QueryResult>>,
}

impl BatchRows {
    /// The rows of the query `slot` names (taken: a second call answers
    /// none).
    pub fn models<M: sea_orm::FromQueryResult>(&mut self, slot: Slot<M>) -> Result<Vec<M>, DbErr> {
        let rows = self
            .sets
            .get_mut(slot.index)
            .map(std::mem::take)
            .ok_or_else(|| DbErr::Custom("a slot of another batch".into()))?;
        rows.iter().map(|r| M::from_query_result(r, "")).collect()
    }

    /// The first row of the query `slot` names, if any.
    pub fn first<M: sea_orm::FromQueryResult>(
        &mut self,
        slot: Slot<M>,
    ) -> Result<Option<M>, DbErr> {
        Ok(self.models(slot)?.into_iter().next())
    }
}

/// Runs a simple-protocol message and answers each statement's rows, in
/// order (a statement without rows answers an empty list).
async fn per_statement(
    conn: &mut sea_orm::sqlx::PgConnection,
    message: &str,
) -> Result<Vec<Vec<sea_orm::sqlx::postgres::PgRow>>, sea_orm::sqlx::Error> {
    use sea_orm::sqlx::{self, Either};
    let mut stream = sqlx::raw_sql(sqlx::AssertSqlSafe(message.to_owned())).fetch_many(conn);
    let mut sets = vec![Vec::new()];
    while let Some(item) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
        match item? {
            // A statement's rows come first, then its completion.
            Either::Right(row) => sets.last_mut().map_or((), |s| s.push(row)),
            Either::Left(_) => sets.push(Vec::new()),
        }
    }
    // The list opened after the last completion belongs to no statement.
    sets.pop();
    Ok(sets)
}

fn prepared_name(sql: &str) -> String {
    // FNV-1a: stable across builds and processes, unlike the std hasher.
    let hash = sql.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("aq_ro_{hash:016x}")
}

/// Whether every parameter of `stmt` may be written into its text: only
/// values whose printed form cannot carry text of someone else's choosing.
fn inline_safe(stmt: &Statement) -> bool {
    use sea_orm::Value as V;
    stmt.values.as_ref().is_none_or(|vs| {
        vs.0.iter().all(|v| {
            matches!(
                v,
                V::Bool(_)
                    | V::TinyInt(_)
                    | V::SmallInt(_)
                    | V::Int(_)
                    | V::BigInt(_)
                    | V::TinyUnsigned(_)
                    | V::SmallUnsigned(_)
                    | V::Unsigned(_)
                    | V::BigUnsigned(_)
                    | V::Uuid(_)
                    | V::ChronoDate(_)
                    | V::ChronoDateTime(_)
                    | V::ChronoDateTimeUtc(_)
            )
        })
    })
}
