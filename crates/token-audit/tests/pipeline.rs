//! The auditor: nothing lost across shutdown, overflow counted and reported, failing
//! sinks retried with backoff (fake time) while the others keep working.

mod common;

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TempDir, config, event, key, time};
use token_audit::sink::{JsonlSink, MemorySink, Sink, SinkError};
use token_audit::verify::verify_chain;
use token_audit::{AuditEvent, Auditor, EventKind, Overflow, RollupConfig};

#[test]
fn every_recorded_event_is_written_across_shutdown() {
    let dir = TempDir::new("shutdown");
    let path = dir.path("audit.jsonl");
    let t = time();
    let memory = MemorySink::new();
    let auditor = Auditor::builder()
        .sink(JsonlSink::open(&path, config(&t).checkpoints(key(), Some(100), None)).unwrap())
        .sink(memory.clone())
        .capacity(64)
        .batch(16)
        .overflow(Overflow::Block)
        .clock(Arc::new(t.clone()))
        .build()
        .unwrap();
    let threads: Vec<_> = (0..4)
        .map(|n| {
            let a = auditor.clone();
            std::thread::spawn(move || {
                for i in 0..500 {
                    a.record(event(n * 1000 + i));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let stats = auditor.shutdown();
    assert_eq!((stats.received, stats.dropped), (2000, 0));
    assert_eq!(stats.sinks[0].written, 2000);
    assert_eq!(memory.len(), 2000);
    let report = verify_chain(&[&path], Some(&key())).unwrap();
    assert!(report.closed);
    assert_eq!(report.lines - report.checkpoints, 2000);
    // Ids are unique.
    let ids: std::collections::HashSet<String> =
        memory.events().iter().map(|e| e.id().to_owned()).collect();
    assert_eq!(ids.len(), 2000);
    // After shutdown, records are counted as dropped, and flush returns.
    auditor.record(event(1));
    auditor.flush();
    assert_eq!(auditor.stats().dropped, 1);
    assert_eq!(memory.len(), 2000);
}

#[test]
fn dropping_the_last_handle_flushes_too() {
    let memory = MemorySink::new();
    let auditor = Auditor::builder().sink(memory.clone()).build().unwrap();
    let clone = auditor.clone();
    for i in 0..100 {
        clone.record(event(i));
    }
    drop(auditor);
    drop(clone);
    assert_eq!(memory.len(), 100);
}

/// A sink that blocks inside `write` until released, and says when it is inside.
#[derive(Debug)]
struct GatedSink {
    entered: SyncSender<()>,
    release: Arc<Mutex<Receiver<()>>>,
    inner: MemorySink,
}

impl Sink for GatedSink {
    fn write(&mut self, batch: &[AuditEvent]) -> Result<(), SinkError> {
        let _ = self.entered.send(());
        let _ = self.release.lock().unwrap().recv();
        self.inner.write(batch)
    }
}

/// A gated sink: (sink, entered, release).
fn gated(memory: &MemorySink) -> (GatedSink, Receiver<()>, SyncSender<()>) {
    let (entered_tx, entered) = sync_channel(1024);
    let (release, release_rx) = sync_channel(1024);
    let sink = GatedSink {
        entered: entered_tx,
        release: Arc::new(Mutex::new(release_rx)),
        inner: memory.clone(),
    };
    (sink, entered, release)
}

#[test]
fn drop_newest_counts_what_it_drops_and_reports_it_when_pressure_ends() {
    let memory = MemorySink::new();
    let (sink, entered, release) = gated(&memory);
    let auditor = Auditor::builder()
        .sink(sink)
        .capacity(8)
        .batch(1)
        .overflow(Overflow::DropNewest)
        .build()
        .unwrap();
    auditor.record(event(0));
    entered.recv().unwrap(); // the worker is stuck writing event 0
    for i in 1..=8 {
        auditor.record(event(i)); // fills the queue
    }
    for i in 9..=13 {
        auditor.record(event(i)); // dropped at once, without blocking
    }
    assert_eq!(auditor.stats().dropped, 5);
    for _ in 0..64 {
        release.send(()).unwrap();
    }
    auditor.flush();
    let events = memory.events();
    let counts: Vec<u64> = events.iter().filter_map(AuditEvent::counted).collect();
    assert_eq!(&counts[..9], &[0, 1, 2, 3, 4, 5, 6, 7, 8]);
    let dropped: Vec<&AuditEvent> = events
        .iter()
        .filter(|e| e.kind() == EventKind::AuditDropped)
        .collect();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].counted(), Some(5));
    assert_eq!(events.len(), 10);
    let stats = auditor.stats();
    assert_eq!((stats.received, stats.dropped, stats.generated), (9, 5, 1));
}

#[test]
fn block_loses_nothing_under_pressure() {
    let memory = MemorySink::new();
    let (sink, entered, release) = gated(&memory);
    let auditor = Auditor::builder()
        .sink(sink)
        .capacity(4)
        .batch(2)
        .overflow(Overflow::Block)
        .build()
        .unwrap();
    auditor.record(event(0));
    entered.recv().unwrap();
    let producer = {
        let a = auditor.clone();
        std::thread::spawn(move || {
            for i in 1..50 {
                a.record(event(i));
            }
        })
    };
    for _ in 0..200 {
        release.send(()).unwrap();
    }
    producer.join().unwrap();
    auditor.flush();
    assert_eq!(memory.len(), 50);
    assert_eq!(auditor.stats().dropped, 0);
}

/// Fails its first `failures` writes (and any write while `always` is set).
#[derive(Debug)]
struct FlakySink {
    failures: usize,
    attempts: Arc<Mutex<usize>>,
    inner: MemorySink,
}

impl Sink for FlakySink {
    fn write(&mut self, batch: &[AuditEvent]) -> Result<(), SinkError> {
        let mut attempts = self.attempts.lock().unwrap();
        *attempts += 1;
        if *attempts <= self.failures {
            return Err(SinkError::new("disk on fire"));
        }
        self.inner.write(batch)
    }

    fn name(&self) -> &'static str {
        "flaky"
    }
}

#[test]
fn a_failing_sink_is_retried_with_backoff_and_the_others_keep_working() {
    let t = time();
    let flaky_out = MemorySink::new();
    let attempts = Arc::new(Mutex::new(0));
    let healthy = MemorySink::new();
    let auditor = Auditor::builder()
        .sink(FlakySink {
            failures: 3,
            attempts: Arc::clone(&attempts),
            inner: flaky_out.clone(),
        })
        .sink(healthy.clone())
        .retry(Duration::from_secs(1), Duration::from_secs(60), 1000)
        .clock(Arc::new(t.clone()))
        .build()
        .unwrap();
    auditor.record(event(1));
    auditor.flush();
    assert_eq!(*attempts.lock().unwrap(), 1);
    assert_eq!(healthy.len(), 1);
    let s = &auditor.stats().sinks[0];
    assert_eq!((s.name.as_str(), s.failures, s.pending), ("flaky", 1, 1));

    // During the backoff the sink is not tried; new events are held in order.
    auditor.record(event(2));
    auditor.flush();
    assert_eq!(*attempts.lock().unwrap(), 1);
    assert_eq!(auditor.stats().sinks[0].pending, 2);
    assert_eq!(healthy.len(), 2);

    t.advance(Duration::from_secs(1));
    auditor.flush(); // attempt 2 fails; the backoff doubles to 2 s
    t.advance(Duration::from_secs(1));
    auditor.flush(); // still backing off
    assert_eq!(*attempts.lock().unwrap(), 2);
    t.advance(Duration::from_secs(1));
    auditor.flush(); // attempt 3 fails; 4 s
    t.advance(Duration::from_secs(4));
    auditor.flush(); // attempt 4 succeeds
    assert_eq!(*attempts.lock().unwrap(), 4);
    let counts: Vec<u64> = flaky_out
        .events()
        .iter()
        .filter_map(AuditEvent::counted)
        .collect();
    assert_eq!(counts, vec![1, 2]);
    let s = &auditor.stats().sinks[0];
    assert_eq!((s.written, s.failures, s.pending, s.lost), (2, 3, 0, 0));
    assert_eq!(auditor.stats().sinks[1].written, 2);
}

#[test]
fn a_dead_sink_holds_a_bounded_number_of_events_and_counts_the_rest_as_lost() {
    let healthy = MemorySink::new();
    let auditor = Auditor::builder()
        .sink(FlakySink {
            failures: usize::MAX,
            attempts: Arc::default(),
            inner: MemorySink::new(),
        })
        .sink(healthy.clone())
        .retry(Duration::from_secs(1), Duration::from_secs(1), 10)
        .clock(Arc::new(time()))
        .build()
        .unwrap();
    for i in 0..25 {
        auditor.record(event(i));
    }
    auditor.flush();
    let s = &auditor.stats().sinks[0];
    assert_eq!((s.pending, s.lost), (10, 15));
    let stats = auditor.shutdown();
    assert_eq!((stats.sinks[0].pending, stats.sinks[0].lost), (0, 25));
    assert_eq!(healthy.len(), 25);
}

#[derive(Debug)]
struct PanickingSink;

impl Sink for PanickingSink {
    fn write(&mut self, _: &[AuditEvent]) -> Result<(), SinkError> {
        panic!("bug in a sink");
    }
}

#[test]
fn a_panicking_sink_is_a_failure_not_a_dead_worker() {
    let healthy = MemorySink::new();
    let auditor = Auditor::builder()
        .sink(PanickingSink)
        .sink(healthy.clone())
        .clock(Arc::new(time()))
        .build()
        .unwrap();
    auditor.record(event(1));
    auditor.flush();
    auditor.record(event(2));
    auditor.flush();
    assert_eq!(healthy.len(), 2);
    assert_eq!(auditor.stats().sinks[0].failures, 1);
}

#[test]
fn usage_is_rolled_up_per_key_and_tenant() {
    let t = time();
    let auditor = Auditor::builder()
        .rollups(RollupConfig::new())
        .clock(Arc::new(t.clone()))
        .build()
        .unwrap();
    for _ in 0..3 {
        auditor.record(
            AuditEvent::auth_failed_code("key_revoked")
                .key_id("key_a")
                .tenant("acme"),
        );
    }
    t.advance(Duration::from_secs(60));
    auditor.record(common::event(0)); // key_0, tenant acme, allowed
    auditor.flush();
    let a = auditor.usage("key_a").unwrap();
    assert_eq!(a.minutes.len(), 1);
    assert_eq!(a.minutes[0].denied_by_reason["key_revoked"], 3);
    let acme = auditor.tenant_usage("acme").unwrap();
    assert_eq!(acme.minutes.len(), 2);
    assert_eq!((acme.hours[0].allowed, acme.hours[0].denied), (1, 3));
    assert!(auditor.usage("key_zzz").is_none());
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["minutes"][0]["start"], "2026-11-28T10:45:00.000000Z");
}

#[test]
fn a_zero_capacity_is_refused() {
    let e = Auditor::builder().capacity(0).build().unwrap_err();
    assert_eq!(e.kind(), token_audit::AuditErrorKind::InvalidConfig);
}

#[test]
fn handles_and_reports_are_shareable() {
    fn shareable<T: Clone + Send + Sync + std::fmt::Debug + 'static>() {}
    shareable::<Auditor>();
    shareable::<AuditEvent>();
    shareable::<token_audit::UsageReport>();
    shareable::<token_audit::anomaly::Anomaly>();
    shareable::<token_audit::CheckpointKey>();
    let a = Auditor::builder().build().unwrap();
    let shown = format!("{a:?}");
    assert!(
        shown.starts_with("Auditor { overflow: DropNewest"),
        "{shown}"
    );
}

/// Runs `f` on another thread and fails the test if it does not return within a
/// generous bound (a deadlock would otherwise hang the test run).
fn within_bound<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(f());
    });
    result
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what} did not return: deadlock"))
}

#[test]
fn a_hook_that_records_under_block_with_a_full_queue_does_not_deadlock() {
    let memory = MemorySink::new();
    let slot: Arc<Mutex<Option<Auditor>>> = Arc::default();
    let (in_hook_tx, in_hook_rx) = std::sync::mpsc::channel::<()>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    let hook_slot = Arc::clone(&slot);
    let auditor = Auditor::builder()
        .sink(memory.clone())
        .capacity(4)
        .overflow(Overflow::Block)
        .detector(token_audit::anomaly::AnomalyConfig::new())
        .on_anomaly(move |a| {
            let _ = in_hook_tx.send(());
            // Hold the worker here while the test fills the queue.
            let _ = go_rx.lock().unwrap().recv();
            let auditor = hook_slot.lock().unwrap().clone();
            if let Some(auditor) = auditor {
                // An auto-revocation, the documented use of the hook.
                auditor.record(AuditEvent::token_revoked(&a.subject));
            }
        })
        .build()
        .unwrap();
    *slot.lock().unwrap() = Some(auditor.clone());
    // One use of a retired key fires the hook.
    auditor.record(AuditEvent::auth_failed_code("key_revoked").key_id("key_leaked"));
    in_hook_rx.recv().unwrap();
    // Requests keep coming while the hook runs: the queue (capacity 4) fills up.
    for _ in 0..4 {
        auditor.record(AuditEvent::auth_failed_code("credential_missing"));
    }
    go_tx.send(()).unwrap();
    let a = auditor.clone();
    within_bound("flush", move || a.flush());
    let events = memory.events();
    assert!(
        events.iter().any(|e| e.kind() == EventKind::TokenRevoked),
        "the hook's event is written: {events:?}"
    );
    // Nothing lost: 5 recorded by the test, 1 by the hook; 1 anomaly generated.
    *slot.lock().unwrap() = None;
    let stats = within_bound("shutdown", move || auditor.shutdown());
    assert_eq!((stats.received, stats.dropped, stats.generated), (6, 0, 1));
    assert_eq!(memory.len(), 7);
}

/// A sink whose `close` waits for a go-ahead and then fails.
#[derive(Debug)]
struct GatedClose {
    entered: SyncSender<()>,
    go: Arc<Mutex<Receiver<()>>>,
}

impl Sink for GatedClose {
    fn write(&mut self, _batch: &[AuditEvent]) -> Result<(), SinkError> {
        Ok(())
    }

    fn close(&mut self) -> Result<(), SinkError> {
        let _ = self.entered.send(());
        let _ = self.go.lock().unwrap().recv();
        Err(SinkError::new("close failed"))
    }

    fn name(&self) -> &'static str {
        "gated-close"
    }
}

#[test]
fn a_second_shutdown_waits_for_the_first_and_returns_the_final_counters() {
    let (entered_tx, entered) = sync_channel(1);
    let (go, go_rx) = sync_channel(1);
    let auditor = Auditor::builder()
        .sink(GatedClose {
            entered: entered_tx,
            go: Arc::new(Mutex::new(go_rx)),
        })
        .build()
        .unwrap();
    let first = auditor.clone();
    let first = std::thread::spawn(move || first.shutdown());
    // The first shutdown is inside the sink's close.
    entered.recv().unwrap();
    let second = auditor.clone();
    let (second_done, second_result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = second_done.send(second.shutdown());
    });
    // The second call must not return before the close finished. If it returned
    // early, its counters show no close failure yet. (The go-ahead is given from
    // here after the second call had the chance to start; if it had not started
    // yet, the test still passes, it cannot fail wrongly.)
    let early = second_result.recv_timeout(Duration::from_millis(200)).ok();
    go.send(()).unwrap();
    let stats = match early {
        Some(stats) => stats,
        None => second_result.recv_timeout(Duration::from_secs(20)).unwrap(),
    };
    assert_eq!(stats.sinks[0].failures, 1, "{stats:?}");
    assert_eq!(first.join().unwrap().sinks[0].failures, 1);
}

#[test]
fn events_built_on_the_worker_keep_their_record_time_and_a_panicking_builder_is_a_drop() {
    let t = time();
    let memory = MemorySink::new();
    let auditor = Auditor::builder()
        .sink(memory.clone())
        .clock(Arc::new(t.clone()))
        .build()
        .unwrap();
    let recorded_at = token_core::Clock::unix_nanos(&t);
    let principal = "user-7".to_owned();
    auditor.record_with(move || {
        AuditEvent::new(EventKind::AuthSucceeded, token_audit::Outcome::Allowed)
            .principal_id(&principal)
    });
    t.advance(Duration::from_secs(60));
    auditor.record_with(|| panic!("a builder bug"));
    auditor.record(event(1));
    let stats = auditor.shutdown();
    assert_eq!(stats.dropped, 1, "{stats:?}");
    let events = memory.events();
    let (reports, written): (Vec<_>, Vec<_>) = events
        .iter()
        .partition(|e| e.kind() == EventKind::AuditDropped);
    assert_eq!(
        written.len(),
        2,
        "the panicking builder's event is not written"
    );
    assert_eq!(written[0].principal(), Some("user-7"));
    assert_eq!(
        written[0].time().unwrap().unix_micros(),
        recorded_at / 1000,
        "stamped when recorded, not when built"
    );
    let reported: Vec<Option<u64>> = reports.iter().map(|e| e.counted()).collect();
    assert_eq!(reported, [Some(1)], "the drop is reported once");
}

#[test]
fn a_busy_spell_of_many_full_batches_keeps_every_event_in_order() {
    let memory = MemorySink::new();
    let auditor = Auditor::builder()
        .sink(memory.clone())
        .capacity(4096)
        .batch(4)
        .gather(Duration::from_millis(2))
        .overflow(Overflow::Block)
        .build()
        .unwrap();
    for round in 0..5u64 {
        for i in 0..200 {
            auditor.record(event(round * 200 + i));
        }
        auditor.flush();
        assert_eq!(memory.events().len() as u64, (round + 1) * 200);
    }
    let counts: Vec<u64> = memory
        .events()
        .iter()
        .filter_map(AuditEvent::counted)
        .collect();
    assert_eq!(counts, (0..1000).collect::<Vec<u64>>());
    let stats = auditor.shutdown();
    assert_eq!((stats.received, stats.dropped), (1000, 0));
}
