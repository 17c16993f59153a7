//! [`Database`]: a pool on SQLite or PostgreSQL, its options, and the stores on it.

use std::fmt;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::clients::SqlClientStore;
use crate::error::SqlError;
use crate::keys::SqlKeyStore;
use crate::pool::Pool;
use crate::refresh::SqlRefreshStore;
use crate::touch::Touches;
use crate::url::redact_url;

/// Which engine a [`Database`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Engine {
    /// SQLite, embedded (bundled: no system library).
    Sqlite,
    /// PostgreSQL, over the network.
    Postgres,
}

/// How a [`Database`] connects. The defaults suit a service: ten connections, a
/// three-second wait for one (then a store call fails `Unavailable` and the
/// request is refused with 503), `last_used_at` written once a minute.
#[derive(Debug, Clone)]
pub struct Options {
    max_connections: u32,
    acquire_timeout: Duration,
    touch_interval: Duration,
    postgres_schema: Option<String>,
    create_missing: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
            touch_interval: Duration::from_secs(60),
            postgres_schema: None,
            create_missing: true,
        }
    }
}

impl Options {
    /// The defaults.
    pub fn new() -> Self {
        Options::default()
    }

    /// The most connections held open (at least 1).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long a store call waits for a free connection before failing
    /// `Unavailable`.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// How often the keys' `last_used_at` is written (the writes of one interval
    /// are batched, one per key; never one per request). At least 100 ms.
    pub fn touch_interval(mut self, interval: Duration) -> Self {
        self.touch_interval = interval.max(Duration::from_millis(100));
        self
    }

    /// SQLite only: whether a missing database file is created (the default), or
    /// refused as [`SqlError::Connect`] (for tools that should never make a new,
    /// empty database out of a mistyped path).
    pub fn create_missing(mut self, create: bool) -> Self {
        self.create_missing = create;
        self
    }

    /// PostgreSQL only: keep tokenkit's tables in this schema (created if missing;
    /// lowercase ASCII letters, digits and `_`, not starting with a digit, at most
    /// 63 bytes), as `search_path`.
    pub fn postgres_schema(mut self, schema: &str) -> Self {
        self.postgres_schema = Some(schema.to_owned());
        self
    }
}

/// A database holding tokenkit's stores: a connection pool on SQLite or
/// PostgreSQL. Cheap to clone (the clones share the pool). Opening it never changes
/// the schema (call [`Database::migrate`], or check with
/// [`Database::ensure_schema`]), and refuses a schema newer than this binary's.
#[derive(Clone)]
pub struct Database {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) pool: Pool,
    pub(crate) url: String,
    pub(crate) touches: Arc<Touches>,
    /// When the refresh-token store sweeps expired families next (issuer time).
    pub(crate) next_prune_at: std::sync::atomic::AtomicI64,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("engine", &self.engine())
            .field("url", &self.inner.url)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Opens `url` (`sqlite://PATH`, created if missing, or `sqlite::memory:`;
    /// `postgres://...`) with the default [`Options`].
    pub async fn connect(url: &str) -> Result<Database, SqlError> {
        Database::connect_with(url, Options::default()).await
    }

    /// Opens `url` with `options`. Fails with [`SqlError::Connect`] (naming the URL
    /// without its password) when the database cannot be reached.
    pub async fn connect_with(url: &str, options: Options) -> Result<Database, SqlError> {
        let shown = redact_url(url);
        let unsupported = |reason: &str| SqlError::UnsupportedUrl {
            url: shown.clone(),
            reason: reason.to_owned(),
        };
        let connect_error = |source| SqlError::Connect {
            url: shown.clone(),
            source,
        };
        let pool = if url.starts_with("sqlite:") {
            if options.postgres_schema.is_some() {
                return Err(unsupported("a schema is for PostgreSQL only"));
            }
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(|e| unsupported(&e.to_string()))?
                .create_if_missing(options.create_missing)
                .journal_mode(SqliteJournalMode::Wal)
                // Durable across a crashed or killed process (WAL); a power cut may
                // lose the last commits, never tear a record.
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let mut pool = SqlitePoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout);
            if in_memory {
                // Every connection to a memory database is its own database: keep
                // exactly one, forever.
                pool = pool
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None);
            }
            Pool::Sqlite(pool.connect_with(connect).await.map_err(connect_error)?)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let mut connect =
                PgConnectOptions::from_str(url).map_err(|e| unsupported(&e.to_string()))?;
            if let Some(schema) = &options.postgres_schema {
                if !valid_schema(schema) {
                    return Err(unsupported(
                        "a schema is 1 to 63 bytes of lowercase ASCII letters, digits and _, not starting with a digit",
                    ));
                }
                create_schema(&connect, schema)
                    .await
                    .map_err(connect_error)?;
                connect = connect.options([("search_path", schema.as_str())]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(connect_error)?;
            Pool::Postgres(pool)
        } else {
            return Err(unsupported("expected sqlite:... or postgres://..."));
        };
        let db = Database {
            inner: Arc::new(Inner {
                pool,
                url: shown,
                touches: Arc::new(Touches::new(options.touch_interval)),
                next_prune_at: std::sync::atomic::AtomicI64::new(i64::MIN),
            }),
        };
        // An older binary never writes to a schema a newer one migrated.
        let found = db.schema_version().await?;
        db.judge(found)?;
        Ok(db)
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        match self.inner.pool {
            Pool::Sqlite(_) => Engine::Sqlite,
            Pool::Postgres(_) => Engine::Postgres,
        }
    }

    /// The URL it was opened with, password removed.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The API-key store.
    pub fn keys(&self) -> SqlKeyStore {
        SqlKeyStore::new(self.clone())
    }

    /// The OAuth client store.
    pub fn clients(&self) -> SqlClientStore {
        SqlClientStore::new(self.clone())
    }

    /// The refresh-token store.
    pub fn refresh_tokens(&self) -> SqlRefreshStore {
        SqlRefreshStore::new(self.clone())
    }

    /// Writes the `last_used_at` times still buffered, then closes every connection.
    /// Call it on shutdown; store calls after it fail `Unavailable`.
    pub async fn close(&self) {
        if let Err(e) = self.keys().flush_touches().await {
            tracing::warn!(error = %e, "last_used_at times not written on close");
        }
        crate::pool::on_pool!(&self.inner.pool, p => p.close().await);
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.inner.pool
    }
}

fn valid_schema(schema: &str) -> bool {
    (1..=63).contains(&schema.len())
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !schema.as_bytes()[0].is_ascii_digit()
}

/// `CREATE SCHEMA IF NOT EXISTS`, on a connection of its own (the pool's
/// connections start with the schema on their `search_path`).
async fn create_schema(connect: &PgConnectOptions, schema: &str) -> Result<(), sqlx::Error> {
    use sqlx::{Connection as _, Executor as _};
    let mut conn = sqlx::PgConnection::connect_with(connect).await?;
    // `schema` was checked to be an identifier: letters, digits and `_`.
    let create = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
    conn.execute(sqlx::raw_sql(&create)).await?;
    conn.close().await
}
