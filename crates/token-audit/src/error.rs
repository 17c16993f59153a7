//! The crate's error for setting up auditors and sinks.

use std::fmt;

/// Setting up an auditor or a sink failed. Opaque: match on [`AuditError::kind`].
#[derive(Debug)]
pub struct AuditError {
    kind: AuditErrorKind,
    context: String,
    source: Option<std::io::Error>,
}

/// The kinds of [`AuditError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditErrorKind {
    /// A file could not be opened, read, written or renamed.
    Io,
    /// The configuration is unusable (a zero capacity, an HMAC key too short, ...).
    InvalidConfig,
    /// An existing audit file does not end in a line this crate wrote.
    Corrupt,
    /// The background worker thread could not be started.
    Spawn,
}

impl AuditError {
    pub(crate) fn new(kind: AuditErrorKind, context: impl Into<String>) -> Self {
        AuditError {
            kind,
            context: context.into(),
            source: None,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        AuditError {
            kind: AuditErrorKind::Io,
            context: context.into(),
            source: Some(source),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> AuditErrorKind {
        self.kind
    }
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(e) => write!(f, "{}: {e}", self.context),
            None => f.write_str(&self.context),
        }
    }
}

impl std::error::Error for AuditError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

#[cfg(test)]
mod tests {
    use super::{AuditError, AuditErrorKind};

    #[test]
    fn display_names_the_context_and_the_cause() {
        let e = AuditError::io(
            "cannot open /x/audit.jsonl",
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert_eq!(e.kind(), AuditErrorKind::Io);
        assert!(e.to_string().starts_with("cannot open /x/audit.jsonl: "));
        assert!(std::error::Error::source(&e).is_some());
        let e = AuditError::new(AuditErrorKind::InvalidConfig, "capacity must be > 0");
        assert_eq!(e.to_string(), "capacity must be > 0");
    }
}
