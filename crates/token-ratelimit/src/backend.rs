//! For implementers of a shared store ([`LimitStore`]) and for code that drives one
//! directly: the batch of checks a limiter hands its store, what the store answers,
//! and the in-process store. A service that only configures a [`crate::Limiter`]
//! never names these.

pub use crate::error::{LimitStoreError, LimitStoreErrorKind};
pub use crate::key::LimitKey;
pub use crate::local::{
    DEFAULT_MAX_ANONYMOUS_KEYS, DEFAULT_MAX_KEYS, DEFAULT_SWEEP_INTERVAL, LocalStore,
};
pub use crate::store::{
    Admission, Admissions, BatchOutcome, LimitCheck, LimitStore, MAX_LIMITS, StoreRefusal,
};
