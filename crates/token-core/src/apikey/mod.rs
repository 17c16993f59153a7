//! API keys: checksummed keys shown once and hashed at rest, cached verification,
//! instant revocation, rotation with grace, usage credits.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use token_core::apikey::{ApiKeys, KeyFormat, NewKey};
//! use token_core::backend::MemoryKeyStore;
//!
//! let keys = ApiKeys::new(MemoryKeyStore::new(), KeyFormat::new("tk_live")?);
//! let (secret, record) = keys.mint(NewKey::new("dashboard", "read:reports".parse()?)).await?;
//! // Show `secret` to its owner once; the record holds only its hash and a hint.
//! let principal = keys.verify(secret.expose_secret()).await?;
//! assert_eq!(principal.id(), record.id);
//!
//! keys.revoke(&record.id, "leaked").await?;
//! assert_eq!(keys.verify(secret.expose_secret()).await.unwrap_err().code(), "key_revoked");
//! # Ok(())
//! # }
//! ```

pub(crate) mod attrs;
pub(crate) mod bulk;
mod cache;
mod changes;
mod charge;
mod creator;
mod error;
mod fleet;
mod flight;
pub(crate) mod hash;
pub(crate) mod key_format;
pub(crate) mod manage;
pub(crate) mod page;
pub(crate) mod record;
mod service;
mod spec;
pub(crate) mod store;
mod update;

/// Key format internals, for secret scanners, pre-commit hooks and tools that parse
/// keys without a store: the regular expression that finds keys in text, the
/// checksum, and `check` (a key checked without a store).
pub mod format {
    pub use super::key_format::{
        CHECKSUM_CHARS, FormatError, KEY_REGEX, ParsedKey, RANDOM_CHARS, check,
    };
}

/// For the surfaces that administer keys (the admin API, `tokenctl`, a portal) rather
/// than the service that checks them: who is acting ([`Operator`], for
/// [`ApiKeys::create_as`] and the other `_as` calls), updates, paged and filtered
/// listings, bulk revocation, and the fields a change changed.
pub mod admin {
    pub use super::changes::FieldChange;
    pub use super::fleet::{BulkRevocation, BulkRevocationError, BulkSelector};
    pub use super::manage::Operator;
    pub use super::page::{KeyFilter, KeyPage, PageCursor, StatusFilter, checked_limit};
    pub use super::spec::KeyUpdate;
}

pub use cache::CacheConfig;
pub use charge::{Charge, Checked};
pub use error::{ApiKeyError, ApiKeyErrorKind, CreatorLimit, KeyRef};
pub(crate) use hash::KeyHash;
pub use hash::{KeyHasher, PepperTooShort};
pub use key_format::{ApiKeySecret, KeyFormat};
pub use record::{Credits, KeyRecord, KeyStatus, Refill, RefillPeriod};
pub use service::{ApiKeys, ApiKeysBuilder};
pub use spec::{CreditPlan, NewKey};
// Inside the crate, the administration types keep their short paths too.
pub(crate) use admin::{KeyFilter, KeyPage, KeyUpdate, Operator, PageCursor};
// Inside the crate, the seams and format internals keep their short paths.
pub(crate) use bulk::{BulkStop, ScopeCover};
pub(crate) use key_format::{FormatError, check};
pub(crate) use store::{CreditOutcome, KeyStore, MemoryKeyStore};
