//! The schema's versions, embedded in the binary, applied only when asked
//! ([`Database::migrate`]), each in one transaction, under a lock so that two
//! processes starting together apply each migration once.

use sqlx::{Executor as _, Row as _};

use crate::db::Database;
use crate::error::{SqlError, Step};
use crate::pool::Pool;

/// The newest tokenkit schema version this binary knows.
pub const SCHEMA_VERSION: u32 = 2;

/// One embedded migration.
struct Migration {
    version: u32,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "stores",
        sql: include_str!("../migrations/0001_stores.sql"),
    },
    Migration {
        version: 2,
        name: "keyring",
        sql: include_str!("../migrations/0002_keyring.sql"),
    },
];

const CREATE_VERSIONS: &str = "CREATE TABLE IF NOT EXISTS tokenkit_schema (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// Any constant: the key of PostgreSQL's transaction-scoped advisory lock that
/// serialises migrations ("tokenkit" in ASCII, as an integer).
const PG_MIGRATION_LOCK: i64 = 0x746f_6b65_6e6b_6974;

/// What [`Database::migrate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Migrated {
    /// The version before (0: an empty database).
    pub from: u32,
    /// The version now, [`SCHEMA_VERSION`].
    pub to: u32,
}

/// Inside a transaction `$tx` holding the migration lock: creates the version
/// table if missing, reads the version (refusing a newer one), and applies
/// `$migration` if it is missing. Evaluates to the version found.
macro_rules! step {
    ($db:expr, $tx:expr, $migration:expr, $err:expr) => {{
        (&mut *$tx)
            .execute(sqlx::raw_sql(CREATE_VERSIONS))
            .await
            .map_err($err(Step::ReadVersion))?;
        let found = read_version!(&mut *$tx, $db).map_err($err(Step::ReadVersion))?;
        $db.judge(found)?;
        if found < $migration.version {
            let sql = $db.engine_sql($migration.sql);
            (&mut *$tx)
                .execute(sqlx::raw_sql(&sql))
                .await
                .map_err($err(Step::Apply($migration.version)))?;
            sqlx::query(
                "INSERT INTO tokenkit_schema (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(i64::from($migration.version))
            .bind($migration.name)
            .bind(unix_now())
            .execute(&mut *$tx)
            .await
            .map_err($err(Step::Apply($migration.version)))?;
        }
        found
    }};
}

/// `MAX(version)` of the version table on connection `$conn`; 0 when the table
/// or its rows are missing.
macro_rules! read_version {
    ($conn:expr, $db:expr) => {
        async {
            let exists: bool = sqlx::query($db.version_table_exists())
                .fetch_one($conn)
                .await?
                .try_get(0)?;
            if !exists {
                return Ok::<u32, sqlx::Error>(0);
            }
            let row = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM tokenkit_schema")
                .fetch_one($conn)
                .await?;
            let version: i64 = row.try_get(0)?;
            // A version that does not fit is certainly newer than this binary's.
            Ok(u32::try_from(version).unwrap_or(u32::MAX))
        }
        .await
    };
}

impl Database {
    /// Brings the schema up to [`SCHEMA_VERSION`], applying each missing migration
    /// in its own transaction (all of it or none). Safe to run from several
    /// processes at once, and again: a database already current is left alone.
    /// A database newer than this binary is refused ([`SqlError::SchemaTooNew`])
    /// and left untouched.
    pub async fn migrate(&self) -> Result<Migrated, SqlError> {
        let err = |step| {
            let url = self.url().to_owned();
            move |source| SqlError::Migrate { url, step, source }
        };
        let mut from = None;
        for migration in MIGRATIONS {
            // One transaction per version, each under the lock: the version is read
            // again inside it, so a migration another process applied meanwhile is
            // skipped.
            let found = match self.pool() {
                Pool::Sqlite(pool) => {
                    let mut tx = pool
                        .begin_with("BEGIN IMMEDIATE")
                        .await
                        .map_err(err(Step::Lock))?;
                    let found = step!(self, tx, migration, err);
                    tx.commit().await.map_err(err(Step::Commit))?;
                    found
                }
                Pool::Postgres(pool) => {
                    let mut tx = pool.begin().await.map_err(err(Step::Lock))?;
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(PG_MIGRATION_LOCK)
                        .execute(&mut *tx)
                        .await
                        .map_err(err(Step::Lock))?;
                    let found = step!(self, tx, migration, err);
                    tx.commit().await.map_err(err(Step::Commit))?;
                    found
                }
            };
            from.get_or_insert(found);
        }
        Ok(Migrated {
            from: from.unwrap_or(SCHEMA_VERSION),
            to: SCHEMA_VERSION,
        })
    }

    /// The schema version the database holds (0 when it holds none).
    pub async fn schema_version(&self) -> Result<u32, SqlError> {
        let err = |source| SqlError::Migrate {
            url: self.url().to_owned(),
            step: Step::ReadVersion,
            source,
        };
        crate::pool::on_pool!(self.pool(), p => {
            let mut conn = p.acquire().await.map_err(err)?;
            read_version!(&mut *conn, self).map_err(err)
        })
    }

    /// Checks that the database holds exactly this binary's schema:
    /// [`SqlError::SchemaOutdated`] when it needs [`Database::migrate`],
    /// [`SqlError::SchemaTooNew`] when it was migrated by a newer binary.
    pub async fn ensure_schema(&self) -> Result<(), SqlError> {
        let found = self.schema_version().await?;
        self.judge(found)?;
        if found < SCHEMA_VERSION {
            return Err(SqlError::SchemaOutdated {
                url: self.url().to_owned(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    pub(crate) fn judge(&self, found: u32) -> Result<(), SqlError> {
        if found > SCHEMA_VERSION {
            return Err(SqlError::SchemaTooNew {
                url: self.url().to_owned(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    /// A migration's text for this engine: SQLite has no `"C"` collation, and
    /// needs none (its default compares bytes).
    fn engine_sql(&self, sql: &str) -> String {
        match self.pool() {
            Pool::Sqlite(_) => sql.replace(" COLLATE \"C\"", ""),
            Pool::Postgres(_) => sql.to_owned(),
        }
    }

    fn version_table_exists(&self) -> &'static str {
        match self.pool() {
            Pool::Sqlite(_) => {
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tokenkit_schema')"
            }
            Pool::Postgres(_) => "SELECT to_regclass('tokenkit_schema') IS NOT NULL",
        }
    }
}

/// Wall-clock seconds, for the record of when a migration ran (not a decision).
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
