//! Errors: quota parsing, limiter configuration and shared-store failures.

use std::error::Error as StdError;
use std::fmt;

/// What was wrong with a quota string or quota parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QuotaErrorKind {
    /// The input was empty or only whitespace.
    Empty,
    /// A number was expected (the count, or the burst after `burst`).
    ExpectedNumber,
    /// The count or the burst was zero; a quota admits at least one request.
    Zero,
    /// A number does not fit in 32 bits (at most 4294967295).
    NumberTooLarge,
    /// The `/` between the count and the period is missing.
    ExpectedSlash,
    /// The period is not one of second, minute, hour, day (or s, m, h, d).
    UnknownUnit,
    /// Something follows the quota that is not `burst <n>`.
    UnexpectedInput,
    /// More than one request per nanosecond (e.g. over 1000000000/second).
    RateTooHigh,
    /// The burst is so large that refilling it would take longer than about 146 years.
    BurstTooLarge,
}

/// A quota string or quota parameters were invalid. `Display` says what and where
/// (byte offset into the input), in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaError {
    kind: QuotaErrorKind,
    offset: Option<usize>,
    /// The offending input, truncated to a few dozen characters.
    found: Option<Box<str>>,
}

impl QuotaError {
    pub(crate) fn new(kind: QuotaErrorKind) -> Self {
        Self {
            kind,
            offset: None,
            found: None,
        }
    }

    pub(crate) fn at(kind: QuotaErrorKind, offset: usize, found: &str) -> Self {
        let found = truncate(found, 32);
        Self {
            kind,
            offset: Some(offset),
            found: Some(found.into()),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> QuotaErrorKind {
        self.kind
    }

    /// The byte offset into the parsed string where the problem starts, when the
    /// error came from parsing.
    pub fn offset(&self) -> Option<usize> {
        self.offset
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl fmt::Display for QuotaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid quota: ")?;
        match self.kind {
            QuotaErrorKind::Empty => f.write_str("empty; write e.g. \"100/minute\"")?,
            QuotaErrorKind::ExpectedNumber => f.write_str("expected a whole number")?,
            QuotaErrorKind::Zero => f.write_str("the count and the burst must be at least 1")?,
            QuotaErrorKind::NumberTooLarge => {
                f.write_str("number too large (at most 4294967295)")?;
            }
            QuotaErrorKind::ExpectedSlash => {
                f.write_str("expected '/' between the count and the period, as in \"100/minute\"")?;
            }
            QuotaErrorKind::UnknownUnit => {
                f.write_str("unknown period; use second, minute, hour or day (or s, m, h, d)")?;
            }
            QuotaErrorKind::UnexpectedInput => {
                f.write_str("unexpected input; only \"burst <n>\" may follow the period")?;
            }
            QuotaErrorKind::RateTooHigh => {
                f.write_str("more than one request per nanosecond cannot be limited")?;
            }
            QuotaErrorKind::BurstTooLarge => {
                f.write_str(
                    "the burst is too large for this rate (it would take over a century to refill)",
                )?;
            }
        }
        if let Some(offset) = self.offset {
            write!(f, " at byte {offset}")?;
        }
        if let Some(found) = &self.found {
            if found.is_empty() {
                f.write_str(" (found end of input)")?;
            } else {
                write!(f, " (found {found:?})")?;
            }
        }
        Ok(())
    }
}

impl StdError for QuotaError {}

/// What was wrong with a limiter configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BuildErrorKind {
    /// A route class name is empty, longer than 32 bytes, or has characters other
    /// than ASCII letters, digits, `_`, `-` and `.`.
    InvalidClassName,
    /// A route class name is `principal`, `tenant` or `global`, which name other limits.
    ReservedClassName,
    /// The same route class was configured twice.
    DuplicateClass,
    /// `max_keys` or `max_anonymous_keys` is zero.
    ZeroMaxKeys,
    /// The sweep interval is zero.
    ZeroSweepInterval,
}

/// A limiter could not be built from its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    kind: BuildErrorKind,
    detail: Option<Box<str>>,
}

impl BuildError {
    pub(crate) fn new(kind: BuildErrorKind, detail: Option<&str>) -> Self {
        Self {
            kind,
            detail: detail.map(|d| truncate(d, 64).into()),
        }
    }

    /// What was wrong.
    pub fn kind(&self) -> BuildErrorKind {
        self.kind
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            BuildErrorKind::InvalidClassName => {
                "invalid route class name: use 1 to 32 ASCII letters, digits, '_', '-' or '.'"
            }
            BuildErrorKind::ReservedClassName => {
                "route class name is reserved: 'principal', 'tenant' and 'global' name other limits"
            }
            BuildErrorKind::DuplicateClass => "route class configured twice",
            BuildErrorKind::ZeroMaxKeys => "max_keys and max_anonymous_keys must be at least 1",
            BuildErrorKind::ZeroSweepInterval => "the sweep interval must be longer than zero",
        })?;
        if let Some(detail) = &self.detail {
            write!(f, " (got {detail:?})")?;
        }
        Ok(())
    }
}

impl StdError for BuildError {}

/// How a shared limit store failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitStoreErrorKind {
    /// The store could not be reached or did not answer in time.
    Unavailable,
    /// The store answered with something the client did not understand.
    Protocol,
    /// Any other failure.
    Other,
}

/// A shared limit store (e.g. a future Redis backend) failed. The limiter then fails
/// closed (the request is refused as unavailable) unless the operator chose
/// [`LimiterBuilder::dangerous_fail_open`](crate::LimiterBuilder::dangerous_fail_open).
#[derive(Debug)]
pub struct LimitStoreError {
    kind: LimitStoreErrorKind,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl LimitStoreError {
    /// A new error of `kind`, keeping the backend's error as the `source()`.
    pub fn new(
        kind: LimitStoreErrorKind,
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// A new error of `kind` without a cause.
    pub fn from_kind(kind: LimitStoreErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// How the store failed.
    pub fn kind(&self) -> LimitStoreErrorKind {
        self.kind
    }
}

impl fmt::Display for LimitStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            LimitStoreErrorKind::Unavailable => {
                "rate-limit store unavailable; check the backend's connectivity"
            }
            LimitStoreErrorKind::Protocol => "rate-limit store sent an unexpected reply",
            LimitStoreErrorKind::Other => "rate-limit store failed",
        })?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl StdError for LimitStoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_error_keeps_its_source() {
        let io = std::io::Error::other("connection refused");
        let err = LimitStoreError::new(LimitStoreErrorKind::Unavailable, io);
        assert_eq!(err.kind(), LimitStoreErrorKind::Unavailable);
        assert_eq!(
            err.to_string(),
            "rate-limit store unavailable; check the backend's connectivity: connection refused"
        );
        assert_eq!(
            err.source().map(ToString::to_string).as_deref(),
            Some("connection refused")
        );
        assert!(
            LimitStoreError::from_kind(LimitStoreErrorKind::Other)
                .source()
                .is_none()
        );
    }

    #[test]
    fn found_text_is_truncated_on_a_char_boundary() {
        let long = "é".repeat(40);
        let err = QuotaError::at(QuotaErrorKind::UnknownUnit, 4, &long);
        let shown = err.to_string();
        assert!(shown.contains(&"é".repeat(16)));
        assert!(!shown.contains(&"é".repeat(17)));
        assert_eq!(err.offset(), Some(4));
    }
}
