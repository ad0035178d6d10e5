//! A row per backup the platform stored (`backup_records`, platform-wide,
//! no tenant column): what the operator console shows as the last good
//! backup, its age and size without listing the bucket. The bucket stays
//! the truth (`aqueduct backup list|verify`); a missing row only means the
//! console knows less.

use super::Manifest;
use aqueduct_tenant::Db;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};

/// The newest recorded backup: id, stored size in bytes, when it was taken.
pub type Latest = (String, i64, DateTime<Utc>);

fn sql(backend: sea_orm::DbBackend, text: &str) -> String {
    if backend != sea_orm::DbBackend::Postgres {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut n = 0;
    for c in text.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Records a stored (and read-back verified) backup; once per id.
pub async fn record(db: &Db, m: &Manifest, at: DateTime<Utc>) -> Result<(), DbErr> {
    let tx = db.system("backup.record").await?;
    let backend = tx.conn().get_database_backend();
    tx.conn()
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql(
                backend,
                "INSERT INTO backup_records (id, created_at, ciphertext_size, key_id, database_kind, recorded_at) \
                 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            ),
            [
                Value::from(m.id.clone()),
                m.created_at.into(),
                i64::try_from(m.ciphertext_size).unwrap_or(i64::MAX).into(),
                Value::from(m.key_id.clone()),
                Value::from(m.database.snapshot_format().to_owned()),
                at.into(),
            ],
        ))
        .await?;
    tx.commit().await
}

/// The newest recorded backup, if any.
pub async fn latest(conn: &impl ConnectionTrait) -> Result<Option<Latest>, DbErr> {
    let backend = conn.get_database_backend();
    let Some(row) = conn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT id, ciphertext_size, created_at FROM backup_records ORDER BY created_at DESC LIMIT 1",
        ))
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((
        row.try_get("", "id")?,
        row.try_get("", "ciphertext_size")?,
        row.try_get("", "created_at")?,
    )))
}
