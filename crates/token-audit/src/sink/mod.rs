//! Where events go: the [`Sink`] trait and the sinks this crate ships.

mod jsonl;
mod memory;
mod trace;

use std::fmt;

pub use jsonl::{FsyncPolicy, JsonlConfig, JsonlSink};
pub use memory::MemorySink;
pub use trace::TracingSink;

use crate::event::AuditEvent;

/// A destination for audit events, driven by the auditor's single worker thread in
/// batches. Object-safe, so an auditor fans out to several boxed sinks; a database
/// sink implements it the same way (one transaction per batch).
pub trait Sink: Send + fmt::Debug {
    /// Writes a batch, all or nothing as far as the sink can tell. On error the same
    /// events (and any newer ones) are offered again after a backoff.
    fn write(&mut self, batch: &[AuditEvent]) -> Result<(), SinkError>;

    /// Makes written events durable and does periodic work (interval fsync, time-based
    /// checkpoints). Called after each batch, on [`Auditor::flush`](crate::Auditor::flush)
    /// and when the worker is idle.
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Called once at shutdown, after the last batch.
    fn close(&mut self) -> Result<(), SinkError> {
        self.flush()
    }

    /// A short name for stats and logs.
    #[allow(clippy::unnecessary_literal_bound)]
    fn name(&self) -> &str {
        "sink"
    }
}

/// A sink could not write. Opaque: the message says what failed, `source()` why.
#[derive(Debug)]
pub struct SinkError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl SinkError {
    /// A failure described by `message`.
    pub fn new(message: impl Into<String>) -> Self {
        SinkError {
            message: message.into(),
            source: None,
        }
    }

    /// A failure described by `message`, caused by `source`.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        SinkError {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(s) => write!(f, "{}: {s}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for SinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}
