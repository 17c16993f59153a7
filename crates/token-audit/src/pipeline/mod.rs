//! [`Auditor`]: a cheap handle onto a bounded queue and one background worker that
//! batches events into the sinks.

mod builder;
mod worker;

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

pub use builder::AuditorBuilder;

use crate::event::AuditEvent;
use crate::rollup::{Rollups, UsageReport};
use crate::time::Timestamp;
use token_core::Clock;

/// What [`Auditor::record`] does when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Overflow {
    /// Waits for room: nothing is lost, but a request can be slowed by a slow sink.
    Block,
    /// Drops the new event at once and counts it; an `audit.dropped` event with the
    /// count is written when the pressure ends. The default.
    DropNewest,
}

/// Counters of an auditor. `recorded = received + dropped + still queued`; after
/// [`Auditor::shutdown`] returned (and every `record` call running then returned),
/// `recorded = received + dropped` exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditStats {
    /// Events the worker took from the queue.
    pub received: u64,
    /// Events dropped by [`Overflow::DropNewest`], recorded after shutdown (or while
    /// it closed the queue), or recorded from the anomaly hook while the hook's own
    /// buffer (the queue's capacity) was full.
    pub dropped: u64,
    /// Events the auditor made itself (`anomaly.detected`, `audit.dropped`).
    pub generated: u64,
    /// Each sink's counters, in the order the sinks were added.
    pub sinks: Vec<SinkStats>,
}

/// Counters of one sink.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkStats {
    /// The sink's name.
    pub name: String,
    /// Events it accepted.
    pub written: u64,
    /// Failed writes and flushes (each retried with backoff).
    pub failures: u64,
    /// Events held for a retry right now.
    pub pending: u64,
    /// Events given up on: the retry buffer was full, or shutdown came first.
    pub lost: u64,
}

/// What the worker receives. (An event's fields are boxed inside it, so messages
/// are small.)
enum Msg {
    Event(AuditEvent),
    /// An event built on the worker ([`Auditor::record_with`]), stamped with the time
    /// it was recorded.
    Build(Builder, Timestamp),
    Flush(SyncSender<()>),
    Shutdown(SyncSender<()>),
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::Event(e) => f.debug_tuple("Event").field(e).finish(),
            Msg::Build(_, at) => f.debug_tuple("Build").field(at).finish(),
            Msg::Flush(_) => f.write_str("Flush"),
            Msg::Shutdown(_) => f.write_str("Shutdown"),
        }
    }
}

/// Builds an event on the worker thread.
type Builder = Box<dyn FnOnce() -> AuditEvent + Send>;

impl Msg {
    /// The event a message carries, built now if it was recorded lazily (`Ok(None)`
    /// when its builder panicked: counted as dropped), or the control message.
    fn into_event(self) -> Result<Option<AuditEvent>, Msg> {
        match self {
            Msg::Event(e) => Ok(Some(e)),
            Msg::Build(builder, at) => {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(builder));
                Ok(outcome.ok().map(|mut e| {
                    e.stamp(at);
                    e
                }))
            }
            control => Err(control),
        }
    }
}

/// State shared by the handles and the worker.
#[derive(Debug, Default)]
struct Shared {
    dropped: AtomicU64,
    unreported_drops: AtomicU64,
    /// Events accepted into the queue or the worker's own buffer.
    enqueued: AtomicU64,
    received: AtomicU64,
    generated: AtomicU64,
    closed: AtomicBool,
    /// Set once the worker was joined: whatever was enqueued and not received by then
    /// is lost, and counted as dropped.
    finished: AtomicBool,
    sinks: Mutex<Vec<SinkStats>>,
    rollups: Option<Mutex<Rollups>>,
    /// Events recorded on the worker thread (from the anomaly hook), at most
    /// `capacity`: the worker appends them to the batch it is processing instead of
    /// sending them through its own queue, which it cannot wait for.
    from_worker: Mutex<Vec<AuditEvent>>,
    capacity: usize,
}

thread_local! {
    /// On a worker thread, the address of its auditor's [`Shared`] (0 elsewhere).
    static WORKER_OF: Cell<usize> = const { Cell::new(0) };
}

impl Shared {
    /// Marks the current thread as this auditor's worker.
    fn enter_worker(self: &Arc<Self>) {
        WORKER_OF.with(|w| w.set(Arc::as_ptr(self) as usize));
    }

    /// Whether the current thread is this auditor's worker.
    fn on_worker(self: &Arc<Self>) -> bool {
        WORKER_OF.with(|w| w.get() == Arc::as_ptr(self) as usize)
    }
}

struct Inner {
    tx: SyncSender<Msg>,
    shared: Arc<Shared>,
    overflow: Overflow,
    time: Arc<dyn Clock>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

/// The audit pipeline's handle: `Clone` (one `Arc`), `Send`, `Sync`.
/// [`Auditor::record`] stamps the event and enqueues it without I/O; a background
/// thread batches events into the sinks, runs the anomaly detectors and updates the
/// usage roll-ups. Dropping the last handle shuts down like [`Auditor::shutdown`].
///
/// ```
/// use token_audit::sink::MemorySink;
/// use token_audit::{AuditEvent, Auditor};
///
/// let memory = MemorySink::new();
/// let auditor = Auditor::builder().sink(memory.clone()).build()?;
/// auditor.record(AuditEvent::auth_failed_code("credential_missing"));
/// auditor.flush();
/// assert_eq!(memory.len(), 1);
/// # Ok::<(), token_audit::AuditError>(())
/// ```
#[derive(Clone)]
pub struct Auditor {
    inner: Arc<Inner>,
}

impl Auditor {
    /// Starts configuring an auditor.
    pub fn builder() -> AuditorBuilder {
        AuditorBuilder::new()
    }

    /// Records an event: stamps its time (unless set) and enqueues it. Never does
    /// I/O; under [`Overflow::DropNewest`] it never blocks. Called from the anomaly
    /// hook (on the worker thread) it never blocks either, under any policy: the
    /// event joins the batch being processed (at most the queue's capacity of them
    /// per batch; more are counted as dropped).
    pub fn record(&self, mut event: AuditEvent) {
        let inner = &*self.inner;
        if event.time().is_none() {
            event.stamp(Timestamp::now(&*inner.time));
        }
        if inner.shared.on_worker() {
            inner.record_on_worker(event);
            return;
        }
        inner.enqueue(Msg::Event(event));
    }

    /// Records an event that `build` makes on the worker thread, stamped with the
    /// time of this call. For hot paths: the caller moves what it already owns into
    /// the closure (one allocation), and the event's own allocations happen, and are
    /// freed, on the worker, so request threads and the worker never contend for the
    /// allocator over an event's strings. The same overflow policy applies; a builder
    /// that panics counts as a dropped event.
    pub fn record_with<F>(&self, build: F)
    where
        F: FnOnce() -> AuditEvent + Send + 'static,
    {
        let inner = &*self.inner;
        let at = Timestamp::now(&*inner.time);
        if inner.shared.on_worker() {
            let mut event = build();
            event.stamp(at);
            inner.record_on_worker(event);
            return;
        }
        inner.enqueue(Msg::Build(Box::new(build), at));
    }

    /// Waits until every event recorded before this call has been offered to the
    /// sinks and the sinks were flushed. Returns at once after shutdown, and when
    /// called from the anomaly hook (the worker cannot wait for itself).
    pub fn flush(&self) {
        if self.inner.on_worker() {
            return;
        }
        let (ack, done) = sync_channel(1);
        if self.inner.tx.send(Msg::Flush(ack)).is_ok() {
            let _ = done.recv();
        }
    }

    /// Writes everything queued, closes the sinks (the JSON Lines sink writes its
    /// final checkpoint) and stops the worker. Events recorded afterwards (or
    /// enqueued too late to be written) are counted as dropped. Idempotent: a second
    /// call, also from another thread, waits until the first one is done. Returns the
    /// final counters.
    pub fn shutdown(&self) -> AuditStats {
        self.inner.shutdown();
        self.stats()
    }

    /// The counters so far.
    pub fn stats(&self) -> AuditStats {
        let s = &self.inner.shared;
        let received = s.received.load(Ordering::Relaxed);
        let mut dropped = s.dropped.load(Ordering::Relaxed);
        if s.finished.load(Ordering::Acquire) {
            // Enqueued after the worker's last drain: never written.
            dropped += s.enqueued.load(Ordering::Relaxed).saturating_sub(received);
        }
        AuditStats {
            received,
            dropped,
            generated: s.generated.load(Ordering::Relaxed),
            sinks: s
                .sinks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    /// The usage roll-up of one key (by `key_id`), as of the events processed so far;
    /// `None` if roll-ups are off or the key was not seen (or was forgotten).
    pub fn usage(&self, key_id: &str) -> Option<UsageReport> {
        let r = self.inner.shared.rollups.as_ref()?;
        r.lock().unwrap_or_else(PoisonError::into_inner).key(key_id)
    }

    /// The usage roll-up of one tenant, like [`Auditor::usage`].
    pub fn tenant_usage(&self, tenant: &str) -> Option<UsageReport> {
        let r = self.inner.shared.rollups.as_ref()?;
        r.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .tenant(tenant)
    }
}

impl Inner {
    fn count_drop(&self) {
        self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        self.shared.unreported_drops.fetch_add(1, Ordering::Relaxed);
    }

    fn on_worker(&self) -> bool {
        self.shared.on_worker()
    }

    /// `record` on the worker thread: straight into the worker's own buffer.
    /// Offers a message to the queue under the overflow policy.
    fn enqueue(&self, msg: Msg) {
        if self.shared.closed.load(Ordering::Relaxed) {
            self.count_drop();
            return;
        }
        let sent = match self.overflow {
            Overflow::DropNewest => match self.tx.try_send(msg) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            },
            Overflow::Block => self.tx.send(msg).is_ok(),
        };
        if sent {
            self.shared.enqueued.fetch_add(1, Ordering::Relaxed);
        } else {
            self.count_drop();
        }
    }

    fn record_on_worker(&self, event: AuditEvent) {
        let mut buffer = self
            .shared
            .from_worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if buffer.len() < self.shared.capacity {
            buffer.push(event);
            self.shared.enqueued.fetch_add(1, Ordering::Relaxed);
        } else {
            drop(buffer);
            self.count_drop();
        }
    }

    fn shutdown(&self) {
        if self.on_worker() {
            // From the anomaly hook: refuse new events; the worker stops once the
            // other handles are gone.
            self.shared.closed.store(true, Ordering::SeqCst);
            return;
        }
        // Held until the worker is joined, so that a concurrent second call waits.
        let mut worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(handle) = worker.take() else { return };
        let (ack, done) = sync_channel(1);
        if self.tx.send(Msg::Shutdown(ack)).is_ok() {
            let _ = done.recv();
        }
        let _ = handle.join();
        self.shared.finished.store(true, Ordering::Release);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl fmt::Debug for Auditor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auditor")
            .field("overflow", &self.inner.overflow)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}
