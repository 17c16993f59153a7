//! What every storage backend reports when it fails.

use std::fmt;

/// A storage failure. Opaque: match on [`StoreError::kind`]. Backends keep their own
/// error as the `source`; it never holds a secret.
#[derive(Debug, Clone)]
pub struct StoreError {
    kind: StoreErrorKind,
    message: std::sync::Arc<str>,
}

/// The kinds of [`StoreError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The backend could not be reached or failed; callers fail closed.
    Unavailable,
    /// The record does not exist.
    NotFound,
    /// A record with this id or hash already exists.
    Conflict,
    /// The backend holds data it cannot read.
    Corrupt,
}

impl StoreError {
    /// A new error; `message` says what failed (never a secret).
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        StoreError {
            kind,
            message: message.into().into(),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            StoreErrorKind::Unavailable => "store unavailable",
            StoreErrorKind::NotFound => "not found",
            StoreErrorKind::Conflict => "already exists",
            StoreErrorKind::Corrupt => "store data unreadable",
        };
        write!(f, "{what}: {}", self.message)
    }
}

impl std::error::Error for StoreError {}
