//! [`MemorySink`]: events kept in memory, for tests and inspection.

use std::sync::{Arc, Mutex, PoisonError};

use super::{Sink, SinkError};
use crate::event::AuditEvent;

/// Keeps every event written, in order, behind a shared handle: keep a clone and give
/// the other to the auditor. Bounded only by what you record: for tests and short
/// inspections, not for production.
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    events: Arc<Mutex<Vec<AuditEvent>>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the events written so far.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many events were written.
    pub fn len(&self) -> usize {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes and returns the events written so far.
    pub fn take(&self) -> Vec<AuditEvent> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Sink for MemorySink {
    fn write(&mut self, batch: &[AuditEvent]) -> Result<(), SinkError> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(batch);
        Ok(())
    }

    fn name(&self) -> &'static str {
        "memory"
    }
}
