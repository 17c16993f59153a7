//! API keys: checksummed keys shown once and hashed at rest, cached verification,
//! instant revocation, rotation with grace, usage credits.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use token_core::apikey::{ApiKeys, KeyFormat, MemoryKeyStore, NewKey};
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

mod cache;
mod charge;
mod creator;
mod error;
mod flight;
mod format;
mod hash;
mod manage;
mod record;
mod service;
mod store;

pub use cache::CacheConfig;
pub use charge::{Charge, Checked};
pub use error::{ApiKeyError, ApiKeyErrorKind, CreatorLimit, KeyRef};
pub use format::{
    ApiKeySecret, CHECKSUM_CHARS, FormatError, KEY_REGEX, KeyFormat, MAX_PREFIX_LEN, ParsedKey,
    RANDOM_CHARS, check,
};
pub use hash::{KeyHash, KeyHasher, PepperTooShort};
pub use manage::{MAX_KEY_TTL_SECS, MAX_NAME_LEN, Operator};
pub use record::{
    Credits, KeyRecord, KeyStatus, MAX_METADATA_BYTES, MAX_METADATA_ENTRIES, Refill, RefillPeriod,
};
pub use service::{ApiKeys, ApiKeysBuilder, KeyUpdate, NewKey};
pub use store::{CreditOutcome, KeyStore, MemoryKeyStore};
