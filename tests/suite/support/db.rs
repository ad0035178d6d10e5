//! Fresh databases per test.

use aqueduct_server::config::Config;
use aqueduct_tenant::{Db, DbOptions};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use std::sync::Once;

/// Which engine a test database runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A new database on the `TEST_DATABASE_URL` server.
    Postgres,
}

/// A migrated database that disappears when dropped.
pub struct TestDb {
    /// Engine.
    pub engine: Engine,
    /// URL of the schema owner (migrations, catalog checks).
    pub owner_url: String,
    /// URL the application connects with (the application role on
    /// PostgreSQL; the same file on SQLite).
    pub app_url: String,
    /// Holds the SQLite directory alive.
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

static CRYPTO: Once = Once::new();

/// Installs the rustls provider once per test process (STACK.md, trap 1).
pub fn init_process() {
    CRYPTO.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn pg_base() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// A test configuration pointing at `url`.
pub fn config_for(url: &str) -> Config {
    Config::load(None, [("DATABASE_URL".to_owned(), url.to_owned())]).expect("test configuration")
}

impl TestDb {
    /// A fresh PostgreSQL database, or `None` without `TEST_DATABASE_URL`.
    pub async fn postgres() -> Option<Self> {
        pg_base()?;
        Some(
            Self::new(Engine::Postgres)
                .await
                .expect("a PostgreSQL test database"),
        )
    }

    /// A fresh, migrated database of the given engine.
    pub async fn new(engine: Engine) -> anyhow::Result<Self> {
        let db = Self::empty(engine).await?;
        aqueduct_server::database::migrate(&config_for(&db.owner_url)).await?;
        Ok(db)
    }

    /// A fresh database with nothing in it (not migrated).
    pub async fn empty(engine: Engine) -> anyhow::Result<Self> {
        init_process();
        let dir = tempfile::tempdir()?;
        match engine {
            Engine::Sqlite => {
                let url = format!("sqlite://{}/aqueduct.db?mode=rwc", dir.path().display());
                Ok(Self {
                    engine,
                    owner_url: url.clone(),
                    app_url: url,
                    _dir: dir,
                    pg: None,
                })
            }
            Engine::Postgres => {
                let base = pg_base().ok_or_else(|| anyhow::anyhow!("TEST_DATABASE_URL not set"))?;
                let name = format!("aq_t_{}", uuid::Uuid::new_v4().simple());
                let admin: DatabaseConnection = Database::connect(&base).await?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await?;
                admin.close().await?;
                let mut owner = url::Url::parse(&base)?;
                owner.set_path(&format!("/{name}"));
                let mut app = owner.clone();
                app.set_username("aqueduct_app")
                    .map_err(|()| anyhow::anyhow!("cannot set user"))?;
                app.set_password(None)
                    .map_err(|()| anyhow::anyhow!("cannot clear password"))?;
                Ok(Self {
                    engine,
                    owner_url: owner.to_string(),
                    app_url: app.to_string(),
                    _dir: dir,
                    pg: Some((base, name)),
                })
            }
        }
    }

    /// A pool connected as the application.
    pub async fn app_pool(&self, max_connections: u32) -> Db {
        Db::connect(
            &self.app_url,
            &DbOptions {
                max_connections,
                ..DbOptions::default()
            },
        )
        .await
        .expect("connect as the application")
    }

    /// A raw connection as the schema owner.
    pub async fn owner(&self) -> DatabaseConnection {
        Database::connect(&self.owner_url)
            .await
            .expect("connect as the owner")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((base, name)) = self.pg.take() else {
            return;
        };
        // Drop runs inside a runtime: do the async cleanup on a thread.
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(admin) = Database::connect(&base).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = handle.join();
    }
}
