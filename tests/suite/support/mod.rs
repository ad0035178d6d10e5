//! Test harness: fresh databases, the app on top of them, seeded tenants,
//! and the `db_test!` macro that runs a test on both engines.

pub mod app;
pub mod audits;
pub mod browser;
pub mod db;
pub mod http;
pub mod oidc;
pub mod s3;
pub mod seed;
pub mod smtp;

pub use app::TestApp;
pub use db::{Engine, TestDb};

/// Defines a test module `$name` with two tests, `sqlite` and `postgres`,
/// each getting a fresh, migrated [`TestDb`] as `$db`. The PostgreSQL one
/// returns early with a message when `TEST_DATABASE_URL` is unset (the
/// Makefile filters it out and says so).
#[macro_export]
macro_rules! db_test {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $db = $crate::support::TestDb::new($crate::support::Engine::Sqlite)
                    .await
                    .expect("a SQLite test database");
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($db) = $crate::support::TestDb::postgres().await else {
                    eprintln!("skipped: TEST_DATABASE_URL is not set");
                    return;
                };
                $body
            }
        }
    };
}
