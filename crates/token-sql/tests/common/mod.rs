//! The three backends the conformance suite runs on: token-core's memory stores,
//! SQLite in a temporary file, and PostgreSQL in a schema of its own (from
//! `TOKENKIT_TEST_POSTGRES_URL`; skipped, saying so, without it).

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use token_core::backend::{
    ClientStore, KeyStore, MemoryClientStore, MemoryKeyStore, MemoryRefreshStore, RefreshStore,
};
use token_sql::{Database, Options, SqlClientStore, SqlKeyStore, SqlRefreshStore};

/// A set of stores on one backend, fresh for each test.
pub trait Backend: Sized + Send + Sync + 'static {
    type Keys: KeyStore;
    type Clients: ClientStore;
    type Refresh: RefreshStore;
    /// Whether `touch` bumps a key's version (the memory store's does; the SQL
    /// stores batch their touches and do not).
    const TOUCH_BUMPS_VERSION: bool = false;

    /// Fresh, empty stores; `None` when the backend is not available here (the
    /// reason was printed).
    fn open() -> impl Future<Output = Option<Self>> + Send;
    fn keys(&self) -> Arc<Self::Keys>;
    fn clients(&self) -> Arc<Self::Clients>;
    fn refresh(&self) -> Arc<Self::Refresh>;
    /// Writes anything a store defers (`last_used_at` batches).
    fn settle(&self) -> impl Future<Output = ()> + Send;
}

pub struct Memory {
    keys: Arc<MemoryKeyStore>,
    clients: Arc<MemoryClientStore>,
    refresh: Arc<MemoryRefreshStore>,
}

impl Backend for Memory {
    type Keys = MemoryKeyStore;
    type Clients = MemoryClientStore;
    type Refresh = MemoryRefreshStore;
    const TOUCH_BUMPS_VERSION: bool = true;

    async fn open() -> Option<Self> {
        Some(Memory {
            keys: Arc::new(MemoryKeyStore::new()),
            clients: Arc::new(MemoryClientStore::new()),
            refresh: Arc::new(MemoryRefreshStore::new()),
        })
    }
    fn keys(&self) -> Arc<MemoryKeyStore> {
        self.keys.clone()
    }
    fn clients(&self) -> Arc<MemoryClientStore> {
        self.clients.clone()
    }
    fn refresh(&self) -> Arc<MemoryRefreshStore> {
        self.refresh.clone()
    }
    async fn settle(&self) {}
}

/// The stores of one SQL [`Database`].
pub struct Sql {
    pub db: Database,
    /// The URL and, on PostgreSQL, the schema: for reading rows behind the stores.
    pub raw: (String, Option<String>),
    keys: Arc<SqlKeyStore>,
    clients: Arc<SqlClientStore>,
    refresh: Arc<SqlRefreshStore>,
    _cleanup: Cleanup,
}

impl Sql {
    async fn on(db: Database, raw: (String, Option<String>), cleanup: Cleanup) -> Sql {
        db.migrate().await.expect("migrate");
        Sql {
            raw,
            keys: Arc::new(db.keys()),
            clients: Arc::new(db.clients()),
            refresh: Arc::new(db.refresh_tokens()),
            db,
            _cleanup: cleanup,
        }
    }
}

impl Sql {
    /// Runs `sql` with text arguments `args` on a connection of its own, behind the
    /// stores' back; returns the first column of every row as text.
    pub async fn raw(&self, sql: &str, args: &[&str]) -> Vec<String> {
        use sqlx::Connection as _;
        use std::str::FromStr as _;
        match &self.raw {
            (url, None) => {
                let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
                let mut q = sqlx::query_scalar::<_, String>(sql);
                for a in args {
                    q = q.bind(*a);
                }
                q.fetch_all(&mut conn).await.unwrap()
            }
            (url, Some(schema)) => {
                let options = sqlx::postgres::PgConnectOptions::from_str(url)
                    .unwrap()
                    .options([("search_path", schema.as_str())]);
                let mut conn = sqlx::PgConnection::connect_with(&options).await.unwrap();
                let mut q = sqlx::query_scalar::<_, String>(sql);
                for a in args {
                    q = q.bind(*a);
                }
                q.fetch_all(&mut conn).await.unwrap()
            }
        }
    }
}

/// What a backend removes when a test ends, passed or not.
pub enum Cleanup {
    Dir(PathBuf),
    Schema { url: String, schema: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema { url, schema } => {
                let (url, schema) = (url.clone(), schema.clone());
                // Drop runs inside the test's runtime: drop the schema from a thread
                // with a runtime of its own.
                let done = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    rt.block_on(drop_schema(&url, &schema));
                });
                let _ = done.join();
            }
        }
    }
}

async fn drop_schema(url: &str, schema: &str) {
    use sqlx::{Connection as _, Executor as _};
    if let Ok(mut conn) = sqlx::PgConnection::connect(url).await {
        let drop = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        let _ = conn.execute(sqlx::raw_sql(&drop)).await;
        let _ = conn.close().await;
    }
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A name no other test of any run uses at the same time.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh temporary directory, removed by the returned [`Cleanup`].
pub fn temp_dir() -> (PathBuf, Cleanup) {
    let dir = std::env::temp_dir().join(unique("tokenkit_sql"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    (dir.clone(), Cleanup::Dir(dir))
}

pub struct Sqlite(pub Sql);

impl Sqlite {
    pub async fn open_with(options: Options) -> (Sqlite, PathBuf) {
        let (dir, cleanup) = temp_dir();
        let file = dir.join("tokenkit.db");
        let url = format!("sqlite://{}", file.display());
        let db = Database::connect_with(&url, options).await.expect("sqlite");
        (Sqlite(Sql::on(db, (url, None), cleanup).await), file)
    }
}

/// The URL of the test PostgreSQL server, or `None` (printing that the test is
/// skipped). Under CI (`CI` set) a missing URL fails the test instead.
pub fn postgres_url() -> Option<String> {
    match std::env::var("TOKENKIT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but TOKENKIT_TEST_POSTGRES_URL is not: the PostgreSQL tests must run"
            );
            eprintln!("skipped: TOKENKIT_TEST_POSTGRES_URL is not set");
            None
        }
    }
}

pub struct Postgres(pub Sql);

impl Postgres {
    pub async fn open_with(options: Options) -> Option<Postgres> {
        let url = postgres_url()?;
        let schema = unique("tk_test");
        let db = Database::connect_with(&url, options.postgres_schema(&schema))
            .await
            .expect("the PostgreSQL server of TOKENKIT_TEST_POSTGRES_URL");
        let raw = (url.clone(), Some(schema.clone()));
        Some(Postgres(
            Sql::on(db, raw, Cleanup::Schema { url, schema }).await,
        ))
    }
}

macro_rules! sql_backend {
    ($name:ident, $open:expr) => {
        impl Backend for $name {
            type Keys = SqlKeyStore;
            type Clients = SqlClientStore;
            type Refresh = SqlRefreshStore;

            async fn open() -> Option<Self> {
                $open
            }
            fn keys(&self) -> Arc<SqlKeyStore> {
                self.0.keys.clone()
            }
            fn clients(&self) -> Arc<SqlClientStore> {
                self.0.clients.clone()
            }
            fn refresh(&self) -> Arc<SqlRefreshStore> {
                self.0.refresh.clone()
            }
            async fn settle(&self) {
                self.0.keys.flush_touches().await.expect("flush");
            }
        }
    };
}
sql_backend!(Sqlite, Some(Sqlite::open_with(Options::new()).await.0));
sql_backend!(Postgres, Postgres::open_with(Options::new()).await);
