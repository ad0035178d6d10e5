//! Set-based helpers for the bulk paths (bill runs, imports): lists as one
//! array parameter on PostgreSQL.

use sea_orm::sea_query::value::postgres_array::NotU8;
use sea_orm::sea_query::{Expr, ExprTrait, ValueType, extension::postgres::PgFunc};
use sea_orm::{ColumnTrait, DbBackend, Value};

/// `column IN (values)`. On PostgreSQL one array parameter, `= ANY($1)`:
/// the statement text (so the prepared statement and its plan) is the same
/// whatever the list's length, binding costs one parameter instead of one
/// per value, and there is no parameter limit. Elsewhere (SQLite) an
/// ordinary `IN` list: callers keep those under the engine's limit.
pub(crate) fn in_list<C, T>(backend: DbBackend, col: C, values: Vec<T>) -> Expr
where
    C: ColumnTrait,
    T: Into<Value> + NotU8 + ValueType,
{
    if backend == DbBackend::Postgres {
        col.into_expr().eq(PgFunc::any(Expr::val(values)))
    } else {
        col.is_in(values)
    }
}

/// How many values one lookup may carry: everything at once on PostgreSQL
/// (one array parameter), `sqlite` per `IN` list elsewhere.
pub(crate) fn list_size(backend: DbBackend, sqlite: usize) -> usize {
    if backend == DbBackend::Postgres {
        usize::MAX
    } else {
        sqlite
    }
}
