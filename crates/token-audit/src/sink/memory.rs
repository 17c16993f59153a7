//! [`MemorySink`]: events kept in memory, for tests and inspection.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use super::{Sink, SinkError};
use crate::event::AuditEvent;

/// Keeps the events written, in order, behind a shared handle: keep a clone and give
/// the other to the auditor. [`MemorySink::new`] keeps every event (for tests and
/// short inspections); [`MemorySink::bounded`] keeps the latest `n` and counts the
/// older ones it let go.
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    inner: Arc<Mutex<Kept>>,
}

#[derive(Debug, Default)]
struct Kept {
    events: VecDeque<AuditEvent>,
    capacity: Option<usize>,
    evicted: u64,
}

impl MemorySink {
    /// An empty sink that keeps every event: unbounded, so not for production.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty sink that keeps at most the latest `capacity` events (at least 1):
    /// a full sink drops its oldest event for each new one and counts it in
    /// [`MemorySink::evicted`].
    pub fn bounded(capacity: usize) -> Self {
        MemorySink {
            inner: Arc::new(Mutex::new(Kept {
                capacity: Some(capacity.max(1)),
                ..Kept::default()
            })),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the events kept so far.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.kept().events.iter().cloned().collect()
    }

    /// How many events are kept.
    pub fn len(&self) -> usize {
        self.kept().events.len()
    }

    /// How many old events a bounded sink let go to make room (0 for an unbounded
    /// sink).
    pub fn evicted(&self) -> u64 {
        self.kept().evicted
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes and returns the events written so far.
    pub fn take(&self) -> Vec<AuditEvent> {
        std::mem::take(&mut self.kept().events).into()
    }
}

impl Sink for MemorySink {
    fn write(&mut self, batch: &[AuditEvent]) -> Result<(), SinkError> {
        let mut kept = self.kept();
        kept.events.extend(batch.iter().cloned());
        if let Some(cap) = kept.capacity {
            let over = kept.events.len().saturating_sub(cap);
            kept.events.drain(..over);
            kept.evicted += over as u64;
        }
        Ok(())
    }

    fn name(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::MemorySink;
    use crate::event::AuditEvent;
    use crate::sink::Sink;

    #[test]
    fn a_bounded_sink_keeps_the_latest_and_counts_the_rest() {
        let memory = MemorySink::bounded(3);
        let mut sink = memory.clone();
        let e = |n: u64| AuditEvent::audit_dropped(n);
        sink.write(&[e(1), e(2)]).unwrap();
        sink.write(&[e(3), e(4), e(5)]).unwrap();
        let kept: Vec<u64> = memory
            .events()
            .iter()
            .filter_map(AuditEvent::counted)
            .collect();
        assert_eq!(kept, vec![3, 4, 5]);
        assert_eq!((memory.len(), memory.evicted()), (3, 2));
        let unbounded = MemorySink::new();
        let mut sink = unbounded.clone();
        sink.write(&[e(1), e(2), e(3), e(4)]).unwrap();
        assert_eq!((unbounded.len(), unbounded.evicted()), (4, 0));
    }
}
