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

pub use cache::CacheConfig;
pub use changes::FieldChange;
pub use charge::{Charge, Checked};
pub use error::{ApiKeyError, ApiKeyErrorKind, CreatorLimit, KeyRef};
pub use fleet::{BulkRevocation, BulkRevocationError, BulkSelector};
pub(crate) use hash::KeyHash;
pub use hash::{KeyHasher, PepperTooShort};
pub use key_format::{ApiKeySecret, KeyFormat};
pub use manage::Operator;
pub use page::{KeyFilter, KeyPage, PageCursor, StatusFilter, checked_limit};
pub use record::{Credits, KeyRecord, KeyStatus, Refill, RefillPeriod};
pub use service::{ApiKeys, ApiKeysBuilder};
pub use spec::{CreditPlan, KeyUpdate, NewKey};
// Inside the crate, the seams and format internals keep their short paths.
pub(crate) use bulk::{BulkStop, ScopeCover};
pub(crate) use key_format::{FormatError, check};
pub(crate) use store::{CreditOutcome, KeyStore, MemoryKeyStore};
