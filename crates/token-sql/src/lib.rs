//! tokenkit's stores on SQLite and PostgreSQL.
//!
//! One [`Database`] (a connection pool on either engine) gives the API-key store,
//! the OAuth client store and the refresh-token store, each implementing the trait
//! token-core defines, with the guarantees its memory store gives, now across every
//! process that shares the database. SQLite is embedded (bundled: no system
//! library) and is the default of the quickstart; PostgreSQL is for many replicas.
//! Only hashes of secrets are stored.
//!
//! ```
//! use token_core::apikey::{ApiKeys, KeyFormat, NewKey};
//! use token_sql::Database;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let db = Database::connect("sqlite::memory:").await?;
//! db.migrate().await?; // explicit: opening never changes the schema
//!
//! let keys = ApiKeys::new(db.keys(), KeyFormat::new("tk_live")?);
//! let (secret, record) = keys.mint(NewKey::new("dashboard", "read:reports".parse()?)).await?;
//! let principal = keys.verify(secret.expose_secret()).await?;
//! assert_eq!(principal.id(), record.id);
//! # Ok(())
//! # }
//! ```
//!
//! Migrations are embedded and versioned ([`SCHEMA_VERSION`]); a database migrated
//! by a newer binary is refused ([`SqlError::SchemaTooNew`]). See `docs/storage.md`
//! for the schema, choosing an engine, and backup.

mod clients;
mod db;
mod error;
mod key_row;
mod keyring;
mod keys;
mod migrate;
mod pool;
mod refresh;
mod touch;
mod url;

pub use clients::SqlClientStore;
pub use db::{Database, Engine, Options};
pub use error::{SqlError, Step};
pub use keyring::{KeyringError, SealKey, SealKeyError, SqlKeyring};
pub use keys::SqlKeyStore;
pub use migrate::{Migrated, SCHEMA_VERSION};
pub use refresh::SqlRefreshStore;
pub use url::redact_url;
