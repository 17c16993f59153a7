//! The bounds tokenkit enforces on sizes and lifetimes, for code that checks input
//! before it calls in (a form, a CLI) or sizes its storage.

pub use crate::apikey::attrs::{MAX_METADATA_KEY_LEN, MAX_NETWORKS, MAX_RATE_LIMIT_LEN};
pub use crate::apikey::key_format::MAX_PREFIX_LEN;
pub use crate::apikey::manage::{MAX_KEY_TTL_SECS, MAX_NAME_LEN};
pub use crate::apikey::page::{DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};
pub use crate::apikey::record::{MAX_METADATA_BYTES, MAX_METADATA_ENTRIES};
pub use crate::authenticator::MAX_CREDENTIAL_LEN;
pub use crate::jwt::mint::DEFAULT_MAX_TTL_SECS;
pub use crate::jwt::verify::MAX_LEEWAY_SECS;

/// The default family lifetime: 30 days.
pub const DEFAULT_REFRESH_TTL_SECS: i64 = 30 * 86_400;

/// How often, in seconds of the issuer's clock, [`MemoryRefreshStore`](crate::backend::MemoryRefreshStore) sweeps expired
/// families as it stores new tokens.
pub const PRUNE_INTERVAL_SECS: i64 = 60;
