//! Why an API key was refused or an operation failed, with stable reason codes.

use std::fmt;
use std::sync::Arc;

use super::key_format::FormatError;
use crate::store::StoreError;

/// An API-key refusal or failure. Opaque: match on [`ApiKeyError::kind`]; the stable
/// [`ApiKeyError::code`] goes to audit and HTTP. Never contains the key.
#[derive(Debug, Clone)]
pub struct ApiKeyError {
    kind: ApiKeyErrorKind,
    store: Option<StoreError>,
    key: Option<Arc<KeyRef>>,
}

/// Which key a refusal is about (its id and display hint, never the key), for refusals
/// of a key that exists: revoked, rotated, expired, out of credits. Audit trails and
/// leaked-key detectors need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    /// The key's id.
    pub id: String,
    /// The key's display hint (`tk_live_3Fq9…`).
    pub hint: String,
}

/// The kinds of [`ApiKeyError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyErrorKind {
    /// Bad format, bad checksum or a prefix not accepted (no lookup was made).
    #[error("{0}")]
    Format(FormatError),
    /// Well-formed, but no such key.
    #[error("unknown API key")]
    Unknown,
    /// The key was revoked.
    #[error("API key revoked")]
    Revoked,
    /// The key expired.
    #[error("API key expired")]
    Expired,
    /// The key was rotated and its grace period is over.
    #[error("API key was rotated; use its successor")]
    Rotated,
    /// The key's usage credits are exhausted.
    #[error("API key usage credits exhausted")]
    UsageExceeded,
    /// No key has this id (management calls).
    #[error("no API key with this id")]
    NotFound,
    /// The key would hold a scope that it held not before (an update: widen
    /// explicitly), or that its creator or operator does not hold.
    #[error("a key never holds a scope it had not, or that its creator or manager lacks")]
    WouldWiden,
    /// The new key would escape a limit of the credential creating it.
    #[error("{0}")]
    ExceedsCreator(CreatorLimit),
    /// The update would move the key's expiry later (or remove it); updates only
    /// shorten a key's life.
    #[error("this update would extend the key's life; an update may only shorten it")]
    WouldExtend,
    /// The change is invalid (metadata too large, a revoked key rotated, ...).
    #[error("invalid change: {0}")]
    Invalid(&'static str),
    /// A value of the request breaks a rule (a name's length, no scope at all, an
    /// expiry in the past): which field, and the rule.
    #[error("{field}: {rule}")]
    InvalidInput {
        /// The field (`name`, `scopes`, `expires_at`).
        field: &'static str,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// The key would belong to a tenant other than its operator's, which lacks the
    /// cross-tenant scope.
    #[error("you can manage keys of your own tenant only")]
    TenantMismatch,
    /// The store failed; the request fails closed.
    #[error("key store unavailable")]
    StoreUnavailable,
    /// A credential would change the rate limit or the credits of its own key, or of
    /// a key of its rotation line: raising its own limits is another
    /// administrator's decision.
    #[error(
        "a credential cannot change the rate limit or credits of its own key or rotation line; ask another administrator"
    )]
    OwnLimits,
}

/// Which limit of its creator a new key would escape (see `docs/api-keys.md`, "Keys
/// that create keys").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CreatorLimit {
    /// It would expire after its creator (or never, when the creator expires).
    #[error(
        "a key cannot outlive its creator; ask for a ttl that ends before the creator's expiry"
    )]
    Lifetime,
    /// It names a network outside every network its creator may be used from.
    #[error(
        "a key cannot be used from networks its creator cannot; name networks within the creator's"
    )]
    Networks,
    /// Its creator is metered: a new key could not be held to the creator's balance.
    #[error("a metered key cannot create keys; create it with an unmetered credential")]
    Metering,
    /// Its rate-limit override differs from its creator's (a key carries its
    /// creator's override, exactly).
    #[error("a key carries its creator's rate-limit override; leave rate_limit unset")]
    RateLimit,
}

impl CreatorLimit {
    /// The stable reason code.
    pub fn code(self) -> &'static str {
        match self {
            CreatorLimit::Lifetime => "outlives_creator",
            CreatorLimit::Networks => "network_widening",
            CreatorLimit::Metering => "creator_metered",
            CreatorLimit::RateLimit => "rate_limit_override",
        }
    }
}

impl ApiKeyErrorKind {
    /// The stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiKeyErrorKind::Format(f) => f.code(),
            ApiKeyErrorKind::Unknown => "key_unknown",
            ApiKeyErrorKind::Revoked => "key_revoked",
            ApiKeyErrorKind::Expired => "key_expired",
            ApiKeyErrorKind::Rotated => "key_rotated",
            ApiKeyErrorKind::UsageExceeded => "usage_exceeded",
            ApiKeyErrorKind::NotFound => "key_not_found",
            ApiKeyErrorKind::WouldWiden => "scope_widening",
            ApiKeyErrorKind::TenantMismatch => "tenant_mismatch",
            ApiKeyErrorKind::ExceedsCreator(limit) => limit.code(),
            ApiKeyErrorKind::WouldExtend => "expiry_extension",
            ApiKeyErrorKind::Invalid(_) | ApiKeyErrorKind::InvalidInput { .. } => "invalid_request",
            ApiKeyErrorKind::StoreUnavailable => "store_unavailable",
            ApiKeyErrorKind::OwnLimits => "own_limits",
        }
    }
}

impl ApiKeyError {
    /// A value of the request that breaks `rule`.
    pub(crate) fn invalid_input(field: &'static str, rule: &'static str) -> Self {
        ApiKeyErrorKind::InvalidInput { field, rule }.into()
    }

    /// What went wrong.
    pub fn kind(&self) -> ApiKeyErrorKind {
        self.kind
    }

    /// The stable reason code.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The key refused, when it exists (revoked, rotated, expired, out of credits).
    pub fn key(&self) -> Option<&Arc<KeyRef>> {
        self.key.as_ref()
    }

    /// Names the key this refusal is about.
    pub(crate) fn about(mut self, key: Arc<KeyRef>) -> Self {
        self.key = Some(key);
        self
    }
}

impl From<ApiKeyErrorKind> for ApiKeyError {
    fn from(kind: ApiKeyErrorKind) -> Self {
        ApiKeyError {
            kind,
            store: None,
            key: None,
        }
    }
}

impl From<FormatError> for ApiKeyError {
    fn from(e: FormatError) -> Self {
        ApiKeyErrorKind::Format(e).into()
    }
}

impl From<StoreError> for ApiKeyError {
    fn from(e: StoreError) -> Self {
        ApiKeyError {
            kind: ApiKeyErrorKind::StoreUnavailable,
            store: Some(e),
            key: None,
        }
    }
}

impl fmt::Display for ApiKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl std::error::Error for ApiKeyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.store.as_ref().map(|e| e as _)
    }
}
