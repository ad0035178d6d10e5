//! Building blocks every migration uses, so every tenant table follows the
//! same rules (see the crate README).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// A table owned by a tenant: `tenant_id` and `id`, primary key
/// `(tenant_id, id)`, and a foreign key to the tenant.
pub fn tenant_table(name: &'static str) -> TableCreateStatement {
    Table::create()
        .table(name)
        .col(uuid("tenant_id"))
        .col(uuid("id"))
        .primary_key(Index::create().col("tenant_id").col("id"))
        .foreign_key(
            ForeignKey::create()
                .name(format!("fk_{name}_tenant"))
                .from(name, "tenant_id")
                .to("tenants", "id"),
        )
        .take()
}

/// A composite foreign key `(tenant_id, col) → target (tenant_id, id)`.
pub fn tenant_fk(
    from: &'static str,
    col: &'static str,
    target: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from}_{col}"))
        .from(from, ("tenant_id", col))
        .to(target, ("tenant_id", "id"))
        .take()
}

/// Makes `table` refuse UPDATE and DELETE on both backends, whoever asks
/// (grants alone would still let the owner change history).
pub async fn append_only(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    match manager.get_database_backend() {
        DbBackend::Postgres => {
            conn.execute_unprepared(&format!(
                "CREATE OR REPLACE FUNCTION aqueduct_refuse_change() RETURNS trigger
                     LANGUAGE plpgsql AS $$
                 BEGIN
                     RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
                         USING ERRCODE = 'insufficient_privilege';
                 END $$;
                 CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                     FOR EACH ROW EXECUTE FUNCTION aqueduct_refuse_change();
                 CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                     FOR EACH STATEMENT EXECUTE FUNCTION aqueduct_refuse_change();"
            ))
            .await?;
        }
        _ => {
            conn.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
                     BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;
                 CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
                     BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"
            ))
            .await?;
        }
    }
    Ok(())
}
