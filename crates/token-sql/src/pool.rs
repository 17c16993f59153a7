//! The two engines behind one enum: the same SQL text and the same Rust runs on
//! each (the [`on_pool!`] macro expands a body once per engine), with typed rows
//! read through [`Cols`] and arguments bound from [`Value`]s.

use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Database, Row};
use token_core::backend::{StoreError, StoreErrorKind};

/// A connection pool on one of the engines.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to the engine's own pool (`&SqlitePool` or
/// `&PgPool`); the body is compiled once per engine.
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::pool::Pool::Sqlite($p) => $body,
            $crate::pool::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Expands `$body!(begin)` once per engine, `begin` being the future of a new write
/// transaction on the engine's pool: SQLite's `BEGIN IMMEDIATE` (the write lock
/// taken up front, so that two writers never deadlock upgrading a read lock),
/// PostgreSQL's `BEGIN`.
macro_rules! in_write_tx {
    ($pool:expr, $body:ident) => {
        match $pool {
            $crate::pool::Pool::Sqlite(p) => $body!(p.begin_with("BEGIN IMMEDIATE")),
            $crate::pool::Pool::Postgres(p) => $body!(p.begin()),
        }
    };
}
pub(crate) use in_write_tx;

/// One SQL argument.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(bool),
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(Some(s))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(Some(s.to_owned()))
    }
}

impl From<Option<String>> for Value {
    fn from(s: Option<String>) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(Some(n))
    }
}

impl From<Option<i64>> for Value {
    fn from(n: Option<i64>) -> Self {
        Value::Int(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// A query whose arguments are the engine's own.
pub(crate) type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>;

/// Binds `values` in order (`$1`, `$2`, ...).
pub(crate) fn bind<'q, DB>(mut query: Query<'q, DB>, values: &'q [Value]) -> Query<'q, DB>
where
    DB: Database,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for value in values {
        query = match value {
            Value::Text(s) => query.bind(s.as_deref()),
            Value::Int(n) => query.bind(*n),
            Value::Bool(b) => query.bind(*b),
        };
    }
    query
}

/// Typed reads of a row's columns, the same on both engines. A column that is
/// missing or of the wrong type is [`StoreErrorKind::Corrupt`].
pub(crate) trait Cols {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn flag(&self, column: &str) -> Result<bool, StoreError>;
}

macro_rules! impl_cols {
    ($row:ty) => {
        impl Cols for $row {
            fn text(&self, column: &str) -> Result<String, StoreError> {
                self.try_get(column).map_err(|e| corrupt(column, &e))
            }
            fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
                self.try_get(column).map_err(|e| corrupt(column, &e))
            }
            fn int(&self, column: &str) -> Result<i64, StoreError> {
                self.try_get(column).map_err(|e| corrupt(column, &e))
            }
            fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
                self.try_get(column).map_err(|e| corrupt(column, &e))
            }
            fn flag(&self, column: &str) -> Result<bool, StoreError> {
                self.try_get(column).map_err(|e| corrupt(column, &e))
            }
        }
    };
}
impl_cols!(SqliteRow);
impl_cols!(PgRow);

/// A column that cannot be read as the record needs it.
pub(crate) fn corrupt(column: &str, error: &dyn std::fmt::Display) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, format!("column {column}: {error}"))
}

/// A stored value that does not parse back (`what` names the column).
pub(crate) fn unreadable(what: &str) -> StoreError {
    StoreError::new(
        StoreErrorKind::Corrupt,
        format!("column {what} holds a value this version cannot read"),
    )
}

/// What a driver error means to a caller: a unique key taken is `Conflict`, data
/// that does not decode is `Corrupt`, everything else (the server gone, the pool
/// exhausted, a timeout) is `Unavailable`, and callers fail closed. The message
/// names the operation; drivers' messages carry no argument values.
pub(crate) fn store_error(op: &str, error: &sqlx::Error) -> StoreError {
    let kind = match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreErrorKind::Conflict,
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::Decode(_)
        | sqlx::Error::TypeNotFound { .. } => StoreErrorKind::Corrupt,
        _ => StoreErrorKind::Unavailable,
    };
    StoreError::new(kind, format!("{op}: {error}"))
}

/// A `u64` count for a signed 64-bit column (token-core keeps credits at most
/// `i64::MAX`; anything larger is refused rather than wrapped).
pub(crate) fn count_in(n: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| {
        StoreError::new(
            StoreErrorKind::Conflict,
            format!("{what} above 9223372036854775807 cannot be stored"),
        )
    })
}

/// A signed 64-bit column read back as a count; a negative one is corruption.
pub(crate) fn count_out(n: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| unreadable(what))
}
