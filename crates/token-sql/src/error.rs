//! Errors of opening a database and of migrating its schema. (Store operations
//! return token-core's `StoreError`, as every store does.)

use std::fmt;

/// Why a database could not be opened or its schema brought up to date. Its
/// `Display` names the database by [a URL without its password](crate::redact_url).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    /// The URL names no engine this crate speaks (`sqlite:` or `postgres:`), or does
    /// not parse.
    #[error("unsupported database URL {url}: {reason}")]
    UnsupportedUrl {
        /// The URL, password removed.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server could not be reached, or refused the connection.
    #[error("cannot connect to {url}: {source}")]
    Connect {
        /// The URL, password removed.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The database holds a schema newer than this binary knows: an older binary
    /// must not write to it. Upgrade the binary.
    #[error(
        "the database {url} has tokenkit schema version {found}, newer than this binary's {supported}: upgrade tokenkit"
    )]
    SchemaTooNew {
        /// The URL, password removed.
        url: String,
        /// The version the database holds.
        found: u32,
        /// The newest version this binary knows.
        supported: u32,
    },
    /// The database's schema is older than this binary's (or absent): run the
    /// migrations (`tokenctl db migrate --database URL`, or
    /// [`Database::migrate`](crate::Database::migrate)).
    #[error(
        "the database {url} has tokenkit schema version {found}, this binary needs {supported}: run `tokenctl db migrate --database URL`"
    )]
    SchemaOutdated {
        /// The URL, password removed.
        url: String,
        /// The version the database holds (0: none).
        found: u32,
        /// The version this binary needs.
        supported: u32,
    },
    /// A migration or a schema query failed.
    #[error("migrating {url}: {step}: {source}")]
    Migrate {
        /// The URL, password removed.
        url: String,
        /// The step that failed.
        step: Step,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
}

/// The step of a migration that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Reading the schema version.
    ReadVersion,
    /// Taking the migration lock.
    Lock,
    /// Applying the migration to this version.
    Apply(u32),
    /// Committing.
    Commit,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::ReadVersion => f.write_str("reading the schema version"),
            Step::Lock => f.write_str("taking the migration lock"),
            Step::Apply(v) => write!(f, "applying migration {v}"),
            Step::Commit => f.write_str("committing"),
        }
    }
}
