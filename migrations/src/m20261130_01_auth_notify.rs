//! PostgreSQL: a `NOTIFY aqueduct_auth` whenever something a signed-in
//! request's authentication depends on changes, so every process's
//! in-memory cache of it (`aqueduct_tenant::auth_cache`) forgets the
//! stale answer. Notifications are sent at commit, never for a rolled
//! back change. Payloads: `s:<session id hash>`, `u:<user id>` (the
//! person, their memberships or their second factor), `t:<tenant id>`.
//!
//! A session's `last_seen_at` touch (once a minute per busy session) is
//! not a change anyone caches, so it sends nothing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const FUNCTION: &str = "CREATE OR REPLACE FUNCTION aqueduct_auth_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'sessions' THEN
        PERFORM pg_notify('aqueduct_auth', 's:' || OLD.id_hash);
    ELSIF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('aqueduct_auth', 'u:' || OLD.id::text);
    ELSIF TG_TABLE_NAME = 'tenants' THEN
        PERFORM pg_notify('aqueduct_auth', 't:' || OLD.id::text);
    ELSE
        -- memberships, user_totp: keyed by the person.
        IF TG_OP <> 'INSERT' THEN
            PERFORM pg_notify('aqueduct_auth', 'u:' || OLD.user_id::text);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM pg_notify('aqueduct_auth', 'u:' || NEW.user_id::text);
        END IF;
    END IF;
    RETURN NULL;
END $$";

const TRIGGERS: &[&str] = &[
    "CREATE TRIGGER sessions_auth_notify_delete AFTER DELETE ON sessions \
     FOR EACH ROW EXECUTE FUNCTION aqueduct_auth_notify()",
    "CREATE TRIGGER sessions_auth_notify_update AFTER UPDATE ON sessions FOR EACH ROW \
     WHEN ((OLD.id_hash, OLD.user_id, OLD.active_tenant, OLD.csrf_token, \
            OLD.second_factor_pending, OLD.expires_at, OLD.customer_tenant) \
           IS DISTINCT FROM \
           (NEW.id_hash, NEW.user_id, NEW.active_tenant, NEW.csrf_token, \
            NEW.second_factor_pending, NEW.expires_at, NEW.customer_tenant)) \
     EXECUTE FUNCTION aqueduct_auth_notify()",
    "CREATE TRIGGER users_auth_notify AFTER UPDATE OR DELETE ON users \
     FOR EACH ROW EXECUTE FUNCTION aqueduct_auth_notify()",
    "CREATE TRIGGER tenants_auth_notify AFTER UPDATE OR DELETE ON tenants \
     FOR EACH ROW EXECUTE FUNCTION aqueduct_auth_notify()",
    "CREATE TRIGGER memberships_auth_notify AFTER INSERT OR UPDATE OR DELETE ON memberships \
     FOR EACH ROW EXECUTE FUNCTION aqueduct_auth_notify()",
    "CREATE TRIGGER user_totp_auth_notify AFTER INSERT OR UPDATE OR DELETE ON user_totp \
     FOR EACH ROW EXECUTE FUNCTION aqueduct_auth_notify()",
];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(FUNCTION).await?;
        for t in TRIGGERS {
            db.execute_unprepared(t).await?;
        }
        Ok(())
    }
}
