//! The worker thread: batches, detectors, roll-ups, delivery with retries.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use super::{Msg, Shared};
use crate::anomaly::{Anomaly, AnomalyDetector};
use crate::event::AuditEvent;
use crate::sink::{Sink, SinkError};
use crate::time::Timestamp;
use token_core::Clock;

/// Retry policy for failing sinks.
#[derive(Debug, Clone, Copy)]
pub(super) struct Retry {
    pub(super) base: Duration,
    pub(super) max: Duration,
    pub(super) buffer: usize,
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// One sink and its retry state.
pub(super) struct Slot {
    sink: Box<dyn Sink>,
    pending: VecDeque<AuditEvent>,
    retry_at: i64,
    backoff: i64,
    written: u64,
    failures: u64,
    lost: u64,
}

/// Runs `f` on the sink; a panic counts as a failure.
fn guarded(
    sink: &mut dyn Sink,
    f: impl FnOnce(&mut dyn Sink) -> Result<(), SinkError>,
) -> Result<(), SinkError> {
    catch_unwind(AssertUnwindSafe(|| f(sink)))
        .unwrap_or_else(|_| Err(SinkError::new("the sink panicked")))
}

impl Slot {
    pub(super) fn new(sink: Box<dyn Sink>) -> Self {
        Slot {
            sink,
            pending: VecDeque::new(),
            retry_at: i64::MIN,
            backoff: 0,
            written: 0,
            failures: 0,
            lost: 0,
        }
    }

    fn failed(&mut self, error: &SinkError, now: i64, retry: Retry) {
        self.failures += 1;
        self.backoff = if self.backoff == 0 {
            nanos(retry.base)
        } else {
            self.backoff.saturating_mul(2).min(nanos(retry.max))
        };
        self.retry_at = now.saturating_add(self.backoff);
        tracing::warn!(
            target: "token_audit",
            sink = self.sink.name(),
            error = %error,
            failures = self.failures,
            pending = self.pending.len(),
            retry_in_ms = self.backoff / 1_000_000,
            "audit sink failed; will retry"
        );
    }

    fn hold(&mut self, batch: &[AuditEvent], retry: Retry) {
        for e in batch {
            if self.pending.len() < retry.buffer {
                self.pending.push_back(e.clone());
            } else {
                self.lost += 1;
            }
        }
    }

    fn offer(&mut self, batch: &[AuditEvent], now: i64, retry: Retry) {
        if self.pending.is_empty() && now >= self.retry_at {
            match guarded(&mut *self.sink, |s| s.write(batch)) {
                Ok(()) => {
                    self.written += batch.len() as u64;
                    self.backoff = 0;
                }
                Err(e) => {
                    self.hold(batch, retry);
                    self.failed(&e, now, retry);
                }
            }
        } else {
            self.hold(batch, retry);
            self.retry(now, false, retry);
        }
    }

    /// Writes the held events if the backoff is over (or `force`).
    fn retry(&mut self, now: i64, force: bool, retry: Retry) {
        if self.pending.is_empty() || (!force && now < self.retry_at) {
            return;
        }
        let held = self.pending.make_contiguous();
        match guarded(&mut *self.sink, |s| s.write(held)) {
            Ok(()) => {
                self.written += held.len() as u64;
                self.pending.clear();
                self.backoff = 0;
            }
            Err(e) => self.failed(&e, now, retry),
        }
    }

    fn flush(&mut self, now: i64, retry: Retry) {
        if let Err(e) = guarded(&mut *self.sink, |s| s.flush()) {
            self.failed(&e, now, retry);
        }
    }
}

/// The anomaly hook.
pub(super) type Hook = Arc<dyn Fn(&Anomaly) + Send + Sync>;

pub(super) struct Worker {
    rx: Receiver<Msg>,
    shared: Arc<Shared>,
    slots: Vec<Slot>,
    batch_max: usize,
    detector: Option<AnomalyDetector>,
    hook: Option<Hook>,
    time: Arc<dyn Clock>,
    retry: Retry,
    instance: String,
    next_id: u64,
    idle_tick: Duration,
    /// After the first event of a batch, how long to wait for more (see
    /// `AuditorBuilder::gather`).
    gather: Duration,
    batch: Vec<AuditEvent>,
    anomalies: Vec<Anomaly>,
}

impl Worker {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        rx: Receiver<Msg>,
        shared: Arc<Shared>,
        slots: Vec<Slot>,
        batch_max: usize,
        detector: Option<AnomalyDetector>,
        hook: Option<Hook>,
        time: Arc<dyn Clock>,
        retry: Retry,
        instance: String,
        idle_tick: Duration,
        gather: Duration,
    ) -> Self {
        Worker {
            rx,
            shared,
            slots,
            batch_max,
            detector,
            hook,
            time,
            retry,
            instance,
            next_id: 0,
            idle_tick,
            gather,
            batch: Vec::with_capacity(batch_max),
            anomalies: Vec::new(),
        }
    }

    /// Marks the current thread as this auditor's worker (see `Auditor::record`).
    pub(super) fn enter(&self) {
        self.shared.enter_worker();
    }

    /// Idle, the worker blocks on the queue (a producer's first event wakes it).
    /// Busy, it works in gather windows back to back: sleep one window, drain the
    /// queue, hand the batch to the sinks, and sleep again without blocking on the
    /// queue, so producers never pay for a wake-up and the thread wakes once per
    /// window however many events arrive. A window that finds nothing returns it to
    /// idle; a full batch is followed at once by the next, without sleeping.
    pub(super) fn run(mut self) {
        loop {
            let first = match self.rx.recv_timeout(self.idle_tick) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => {
                    self.process(true);
                    self.flush_sinks();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut control = self.take(first);
            let mut wait = true;
            loop {
                if control.is_none() && wait && !self.gather.is_zero() {
                    std::thread::sleep(self.gather);
                }
                let received_before = self.batch.len();
                let mut drained = control.is_some();
                while control.is_none() && self.batch.len() < self.batch_max {
                    match self.rx.try_recv() {
                        Ok(m) => control = self.take(m),
                        Err(TryRecvError::Empty | TryRecvError::Disconnected) => {
                            drained = true;
                            break;
                        }
                    }
                }
                let got_more = self.batch.len() > received_before;
                // A control message is answered after everything queued before it.
                drained |= control.is_some();
                self.process(drained);
                match control.take() {
                    Some(Msg::Flush(ack)) => {
                        self.flush_sinks();
                        let _ = ack.send(());
                    }
                    Some(Msg::Shutdown(ack)) => {
                        self.close();
                        let _ = ack.send(());
                        return;
                    }
                    Some(Msg::Event(_) | Msg::Build(..)) | None => self.flush_sinks(),
                }
                if self.gather.is_zero() || (drained && !got_more) {
                    break;
                }
                // A full batch means more is waiting: take it now. Otherwise the
                // window brought events, so more are likely: wait one more window.
                wait = drained;
            }
        }
        self.close();
    }

    /// Adds an event to the batch, or returns a control message.
    fn take(&mut self, msg: Msg) -> Option<Msg> {
        match msg.into_event() {
            Ok(event) => {
                self.receive(event);
                None
            }
            Err(control) => Some(control),
        }
    }

    /// Counts a received event into the batch (or, if its builder failed, as dropped).
    fn receive(&mut self, event: Option<AuditEvent>) {
        self.shared.received.fetch_add(1, Ordering::Relaxed);
        if let Some(e) = event {
            self.batch.push(e);
        } else {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            self.shared.unreported_drops.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn assign_id(&mut self, event: &mut AuditEvent) {
        let (instance, n) = (&self.instance, self.next_id);
        event.set_id_if_empty(|| format!("{instance}-{n}"));
        self.next_id += 1;
    }

    /// Runs detectors and roll-ups over the batch, adds generated events, and offers
    /// the batch to every sink. `drained`: the queue is empty, so the pressure (if
    /// any) is over and dropped events are reported.
    fn process(&mut self, drained: bool) {
        let mut batch = std::mem::take(&mut self.batch);
        for e in &mut batch {
            self.assign_id(e);
        }
        if let Some(rollups) = &self.shared.rollups {
            let mut r = rollups.lock().unwrap_or_else(PoisonError::into_inner);
            for e in &batch {
                r.observe(e);
            }
        }
        let mut generated = 0u64;
        if let Some(detector) = &mut self.detector {
            for e in &batch {
                detector.observe(e, &mut self.anomalies);
            }
            for a in std::mem::take(&mut self.anomalies) {
                if let Some(hook) = &self.hook
                    && catch_unwind(AssertUnwindSafe(|| hook(&a))).is_err()
                {
                    tracing::error!(target: "token_audit", "the anomaly hook panicked");
                }
                let mut e = AuditEvent::anomaly(&a);
                self.assign_id(&mut e);
                batch.push(e);
                generated += 1;
            }
        }
        self.take_from_worker(&mut batch);
        if drained {
            let dropped = self.shared.unreported_drops.swap(0, Ordering::Relaxed);
            if dropped > 0 {
                let mut e = AuditEvent::audit_dropped(dropped).at(Timestamp::now(&*self.time));
                self.assign_id(&mut e);
                batch.push(e);
                generated += 1;
            }
        }
        self.shared
            .generated
            .fetch_add(generated, Ordering::Relaxed);
        if !batch.is_empty() {
            let now = self.time.unix_nanos();
            for slot in &mut self.slots {
                slot.offer(&batch, now, self.retry);
            }
        }
        batch.clear();
        self.batch = batch;
        self.publish();
    }

    /// Moves the events the hook recorded (on this thread) into `batch`.
    fn take_from_worker(&mut self, batch: &mut Vec<AuditEvent>) {
        let mut own = std::mem::take(
            &mut *self
                .shared
                .from_worker
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        if own.is_empty() {
            return;
        }
        self.shared
            .received
            .fetch_add(own.len() as u64, Ordering::Relaxed);
        for e in &mut own {
            self.assign_id(e);
        }
        if let Some(rollups) = &self.shared.rollups {
            let mut r = rollups.lock().unwrap_or_else(PoisonError::into_inner);
            for e in &own {
                r.observe(e);
            }
        }
        batch.append(&mut own);
    }

    fn flush_sinks(&mut self) {
        let now = self.time.unix_nanos();
        for slot in &mut self.slots {
            slot.retry(now, false, self.retry);
            slot.flush(now, self.retry);
        }
        self.publish();
    }

    /// Drains what is left, gives each failing sink a last few tries, closes every
    /// sink and counts anything recorded later as dropped.
    fn close(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        while let Ok(msg) = self.rx.try_recv() {
            match msg.into_event() {
                Ok(event) => {
                    self.receive(event);
                    if self.batch.len() >= self.batch_max {
                        self.process(false);
                    }
                }
                Err(Msg::Flush(ack) | Msg::Shutdown(ack)) => {
                    let _ = ack.send(());
                }
                Err(Msg::Event(_) | Msg::Build(..)) => {}
            }
        }
        self.process(true);
        let now = self.time.unix_nanos();
        for slot in &mut self.slots {
            for _ in 0..3 {
                slot.retry(now, true, self.retry);
            }
            if !slot.pending.is_empty() {
                tracing::error!(
                    target: "token_audit",
                    sink = slot.sink.name(),
                    lost = slot.pending.len(),
                    "audit sink still failing at shutdown; events lost"
                );
                slot.lost += slot.pending.len() as u64;
                slot.pending.clear();
            }
            if let Err(e) = guarded(&mut *slot.sink, |s| s.close()) {
                slot.failed(&e, now, self.retry);
            }
        }
        self.publish();
    }

    /// Copies the sinks' counters where [`super::Auditor::stats`] reads them.
    fn publish(&self) {
        let mut stats = self
            .shared
            .sinks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (s, slot) in stats.iter_mut().zip(&self.slots) {
            s.written = slot.written;
            s.failures = slot.failures;
            s.pending = slot.pending.len() as u64;
            s.lost = slot.lost;
        }
    }
}
