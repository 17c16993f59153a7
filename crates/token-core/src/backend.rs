//! For implementers of a store (a database, a cache) and for code that drives one
//! directly: the store traits of API keys, OAuth clients, refresh tokens and token
//! revocation, their in-memory implementations, and the error every store returns.
//! A service that uses the in-memory stores names only the `Memory*` types.

pub use crate::apikey::KeyRecord;
pub use crate::apikey::bulk::{BulkRevoke, BulkStop, ScopeCover};
pub use crate::apikey::hash::KeyHash;
pub use crate::apikey::store::{CreditOutcome, KeyStore, MemoryKeyStore};
pub use crate::client::store::{ClientRecord, ClientStore, MemoryClientStore};
pub use crate::jwt::revocation::{MemoryRevocationStore, RevocationStore};
pub use crate::refresh::store::{MemoryRefreshStore, RefreshRecord, RefreshStore};
pub use crate::store::{StoreError, StoreErrorKind};
