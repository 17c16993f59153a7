//! [`AuditorBuilder`]: sinks, queue, overflow policy, detectors, roll-ups.

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::worker::{Hook, Retry, Slot, Worker};
use super::{Auditor, Inner, Overflow, Shared, SinkStats};
use crate::anomaly::{Anomaly, AnomalyConfig, AnomalyDetector};
use crate::chain::hex;
use crate::error::{AuditError, AuditErrorKind};
use crate::rollup::{RollupConfig, Rollups};
use crate::sink::Sink;
use token_core::{Clock, SystemClock};

/// Configures an [`Auditor`]. Defaults: queue of 8192 events,
/// [`Overflow::DropNewest`], batches of at most 256, a 10 ms gather window, no
/// detectors, no roll-ups, the system clock; a failing sink is retried after 100 ms, doubling to 30 s, holding at
/// most 65 536 events.
#[must_use]
pub struct AuditorBuilder {
    sinks: Vec<Box<dyn Sink>>,
    capacity: usize,
    overflow: Overflow,
    batch: usize,
    detector: Option<AnomalyConfig>,
    hook: Option<Hook>,
    rollups: Option<RollupConfig>,
    time: Arc<dyn Clock>,
    retry: Retry,
    idle_tick: Duration,
    gather: Duration,
}

impl AuditorBuilder {
    pub(super) fn new() -> Self {
        AuditorBuilder {
            sinks: Vec::new(),
            capacity: 8192,
            overflow: Overflow::DropNewest,
            batch: 256,
            detector: None,
            hook: None,
            rollups: None,
            time: Arc::new(SystemClock),
            retry: Retry {
                base: Duration::from_millis(100),
                max: Duration::from_secs(30),
                buffer: 65_536,
            },
            idle_tick: Duration::from_millis(100),
            gather: Duration::from_millis(10),
        }
    }

    /// Adds a sink; every event goes to every sink, in order.
    pub fn sink(mut self, sink: impl Sink + 'static) -> Self {
        self.sinks.push(Box::new(sink));
        self
    }

    /// Adds a boxed sink.
    pub fn boxed_sink(mut self, sink: Box<dyn Sink>) -> Self {
        self.sinks.push(sink);
        self
    }

    /// The queue's capacity in events (its memory is bounded by this).
    pub fn capacity(mut self, events: usize) -> Self {
        self.capacity = events;
        self
    }

    /// What happens when the queue is full.
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// The most events per sink write.
    pub fn batch(mut self, max: usize) -> Self {
        self.batch = max;
        self
    }

    /// Runs the anomaly detectors with `config`.
    pub fn detector(mut self, config: AnomalyConfig) -> Self {
        self.detector = Some(config);
        self
    }

    /// Calls `hook` for each anomaly (on the worker thread; keep it quick). A
    /// panicking hook is caught and logged. The hook may record events (under any
    /// overflow policy: they join the current batch without going through the queue,
    /// at most the queue's capacity per batch, more are counted as dropped); `flush`
    /// and `shutdown` called from it return at once. A hook that holds an [`Auditor`] clone keeps the
    /// worker alive until [`Auditor::shutdown`] is called.
    pub fn on_anomaly(mut self, hook: impl Fn(&Anomaly) + Send + Sync + 'static) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// Keeps per-key and per-tenant usage roll-ups, queried with
    /// [`Auditor::usage`] and [`Auditor::tenant_usage`].
    pub fn rollups(mut self, config: RollupConfig) -> Self {
        self.rollups = Some(config);
        self
    }

    /// The time source for event times and retry backoff.
    pub fn clock(mut self, time: Arc<dyn Clock>) -> Self {
        self.time = time;
        self
    }

    /// Retry policy for failing sinks: first retry after `base`, doubling up to
    /// `max`; at most `buffer` events held per sink (more are counted as lost).
    pub fn retry(mut self, base: Duration, max: Duration, buffer: usize) -> Self {
        self.retry = Retry {
            base,
            max: max.max(base),
            buffer,
        };
        self
    }

    /// How often the idle worker wakes to retry sinks, fsync on an interval and write
    /// time-based checkpoints (default 100 ms, real time).
    pub fn idle_tick(mut self, tick: Duration) -> Self {
        self.idle_tick = tick.max(Duration::from_millis(1));
        self
    }

    /// How long the worker waits after the first event of a batch to collect more
    /// (default 10 ms; at most 100 ms; zero turns it off). While it waits it is not
    /// blocked on the queue, so `record` never has to wake it, and while events keep
    /// coming it sleeps window after window: the thread wakes once per window however
    /// busy the service. Without a window a busy service pays a thread wake-up (a
    /// futex call and a context switch) per event, and a JSON Lines sink with fsync per
    /// batch would sync per event. Events reach the sinks at most this much later,
    /// and [`Auditor::flush`] returns at the end of the current window. The default
    /// keeps wake-ups to 100 a second: on a small virtual machine each one cost about
    /// 20 µs of CPU, which with a 1 ms window came to 0.85 µs per event at 20 000
    /// events/s.
    pub fn gather(mut self, window: Duration) -> Self {
        self.gather = window.min(Duration::from_millis(100));
        self
    }

    /// Starts the worker thread.
    pub fn build(self) -> Result<Auditor, AuditError> {
        if self.capacity == 0 || self.batch == 0 {
            return Err(AuditError::new(
                AuditErrorKind::InvalidConfig,
                "the queue capacity and the batch size must be at least 1",
            ));
        }
        let shared = Arc::new(Shared {
            sinks: Mutex::new(
                self.sinks
                    .iter()
                    .map(|s| SinkStats {
                        name: s.name().to_owned(),
                        ..SinkStats::default()
                    })
                    .collect(),
            ),
            rollups: self.rollups.map(|c| Mutex::new(Rollups::new(c))),
            closed: AtomicBool::new(false),
            capacity: self.capacity,
            ..Shared::default()
        });
        let (tx, rx) = sync_channel(self.capacity);
        let mut instance = [0u8; 6];
        if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut instance).is_err()
        {
            instance = self.time.unix_nanos().to_le_bytes()[..6]
                .try_into()
                .unwrap_or_default();
        }
        let worker = Worker::new(
            rx,
            Arc::clone(&shared),
            self.sinks.into_iter().map(Slot::new).collect(),
            self.batch,
            self.detector.map(AnomalyDetector::new),
            self.hook,
            Arc::clone(&self.time),
            self.retry,
            hex(&instance),
            self.idle_tick,
            self.gather,
        );
        let handle = std::thread::Builder::new()
            .name("token-audit".to_owned())
            .spawn(move || {
                worker.enter();
                worker.run();
            })
            .map_err(|e| AuditError::io("cannot start the audit worker thread", e))
            .map_err(|e| AuditError::new(AuditErrorKind::Spawn, e.to_string()))?;
        Ok(Auditor {
            inner: Arc::new(Inner {
                tx,
                shared,
                overflow: self.overflow,
                time: self.time,
                worker: Mutex::new(Some(handle)),
            }),
        })
    }
}

impl fmt::Debug for AuditorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditorBuilder")
            .field("sinks", &self.sinks)
            .field("capacity", &self.capacity)
            .field("overflow", &self.overflow)
            .field("batch", &self.batch)
            .field("detector", &self.detector)
            .field("hook", &self.hook.is_some())
            .field("rollups", &self.rollups)
            .field("time", &self.time)
            .finish_non_exhaustive()
    }
}
