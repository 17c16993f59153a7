//! Why a token was refused or could not be minted, as data with stable codes.

use std::fmt;

/// A refused token. Opaque: match on [`JwtError::kind`]; [`JwtErrorKind::code`] is the
/// stable reason code for audit and for RFC 6750 `error_description`. Messages never
/// contain the token or claim values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtError {
    kind: JwtErrorKind,
}

impl JwtError {
    /// What went wrong.
    pub fn kind(&self) -> &JwtErrorKind {
        &self.kind
    }

    /// The stable reason code (see [`JwtErrorKind::code`]).
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

impl From<JwtErrorKind> for JwtError {
    fn from(kind: JwtErrorKind) -> Self {
        JwtError { kind }
    }
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl std::error::Error for JwtError {}

/// The kinds of [`JwtError`], each with a stable [`code`](JwtErrorKind::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtErrorKind {
    /// Longer than the configured limit (checked before any decoding).
    #[error("token is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// Not three base64url parts, bad base64url, or a header or payload that is not a
    /// JSON object (including duplicate members).
    #[error("token is malformed: {0}")]
    Malformed(&'static str),
    /// `alg: none`, in any casing.
    #[error("unsigned tokens (alg none) are never accepted")]
    AlgorithmNone,
    /// An `alg` this library does not support.
    #[error("unsupported signature algorithm")]
    UnsupportedAlgorithm,
    /// The `alg` is supported but not allowed by this verifier's configuration.
    #[error("signature algorithm not allowed here")]
    AlgorithmNotAllowed,
    /// A header that is refused: unknown `crit` extensions, `b64: false`, or a key
    /// carried in the token (`jwk`, `jku`, `x5u`, `x5c`).
    #[error("token header refused: {0}")]
    HeaderRejected(&'static str),
    /// No key has the token's `kid` (or, without `kid`, no single key has its `alg`).
    #[error("no key matches the token")]
    UnknownKey,
    /// The selected key has a different algorithm than the header names.
    #[error("the token's algorithm does not match its key")]
    AlgorithmMismatch,
    /// The key that signed the token was retired.
    #[error("the signing key was retired")]
    KeyRetired,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// A required claim is missing.
    #[error("missing claim `{0}`")]
    MissingClaim(&'static str),
    /// A claim has the wrong type or an invalid value.
    #[error("invalid claim `{0}`")]
    InvalidClaim(&'static str),
    /// `exp` is past (beyond leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` is in the future (beyond leeway).
    #[error("token issued in the future")]
    IssuedInFuture,
    /// `exp - iat` exceeds the configured maximum lifetime.
    #[error("token lifetime exceeds the allowed maximum")]
    LifetimeTooLong,
    /// `iss` is not the configured issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `iss` is not the issuer the verifying key is bound to: another issuer's key
    /// signed a token in someone else's name (RFC 8725 §3.8).
    #[error("the token's issuer is not the issuer of the key that signed it")]
    KeyIssuerMismatch,
    /// The token has no `sub` (or an empty one), so it names no principal.
    #[error("the token names no subject")]
    MissingSubject,
    /// `aud` does not contain the configured audience.
    #[error("wrong audience")]
    WrongAudience,
    /// `typ` is not the configured type.
    #[error("wrong token type")]
    WrongType,
    /// The token's `jti` has been revoked.
    #[error("token revoked")]
    Revoked,
}

impl JwtErrorKind {
    /// The stable, documented reason code.
    pub fn code(&self) -> &'static str {
        match self {
            JwtErrorKind::TooLarge { .. } => "token_too_large",
            JwtErrorKind::Malformed(_) => "token_malformed",
            JwtErrorKind::AlgorithmNone => "algorithm_none",
            JwtErrorKind::UnsupportedAlgorithm => "algorithm_unsupported",
            JwtErrorKind::AlgorithmNotAllowed => "algorithm_not_allowed",
            JwtErrorKind::HeaderRejected(_) => "header_rejected",
            JwtErrorKind::UnknownKey => "unknown_key",
            JwtErrorKind::AlgorithmMismatch => "algorithm_mismatch",
            JwtErrorKind::KeyRetired => "key_retired",
            JwtErrorKind::BadSignature => "bad_signature",
            JwtErrorKind::MissingClaim(_) => "missing_claim",
            JwtErrorKind::InvalidClaim(_) => "invalid_claim",
            JwtErrorKind::Expired => "token_expired",
            JwtErrorKind::NotYetValid => "token_not_yet_valid",
            JwtErrorKind::IssuedInFuture => "token_issued_in_future",
            JwtErrorKind::LifetimeTooLong => "token_lifetime_too_long",
            JwtErrorKind::WrongIssuer => "wrong_issuer",
            JwtErrorKind::KeyIssuerMismatch => "key_issuer_mismatch",
            JwtErrorKind::MissingSubject => "missing_sub",
            JwtErrorKind::WrongAudience => "wrong_audience",
            JwtErrorKind::WrongType => "wrong_token_type",
            JwtErrorKind::Revoked => "token_revoked",
        }
    }
}

/// Why a token could not be minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MintError {
    /// The keyring has no active signing key.
    #[error("the keyring has no signing key")]
    NoSigningKey,
    /// The requested lifetime is zero, negative, or above the configured cap.
    #[error("token lifetime must be between 1 and {max_secs} seconds")]
    Lifetime {
        /// The cap.
        max_secs: i64,
    },
    /// Down-scoping asked for scopes the parent token does not hold.
    #[error("requested scopes exceed the parent token's scopes")]
    ScopeEscalation,
    /// Down-scoping was given a token this minter did not issue: its `iss` is not the
    /// minter's, or it was not verified by one of the minter's keyring's own keys.
    #[error("only tokens from this issuer can be down-scoped")]
    ForeignParent,
    /// Down-scoping asked for an audience the parent token does not have.
    #[error("requested audience is not among the parent token's audiences")]
    AudienceEscalation,
    /// Extra claims must be a JSON object and must not reuse a registered claim name.
    #[error("extra claims invalid: {0}")]
    ExtraClaims(String),
    /// The signing key failed.
    #[error("signing failed: {0}")]
    Key(#[from] crate::jose::KeyError),
}
