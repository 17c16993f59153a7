//! `record` latency (1 and 2 threads, `DropNewest`), end-to-end throughput into the
//! JSON Lines sink with the chain on and fsync per batch, and bytes per event.
//!
//! `CARGO_TARGET_DIR=/tmp/audit-target cargo bench -p token-audit --bench audit -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use token_audit::sink::{FsyncPolicy, JsonlConfig, JsonlSink, MemorySink, Sink};
use token_audit::{AuditEvent, Auditor, Overflow};

/// A sink that discards: `record` is measured, not the sink.
#[derive(Debug)]
struct Discard;

impl Sink for Discard {
    fn write(&mut self, batch: &[AuditEvent]) -> Result<(), token_audit::sink::SinkError> {
        black_box(batch);
        Ok(())
    }
}

fn event() -> AuditEvent {
    AuditEvent::auth_failed_code("key_revoked")
        .key_id("key_0123456789ABCDEFGHIJ")
        .hint("tk_live_3Fq9…")
        .tenant("acme")
        .ip("203.0.113.7".parse().unwrap())
        .method("GET")
        .route("/v1/reports/{id}")
        .status(401)
        .latency_us(42)
        .request_id("3f2b9c1e-7a4d-4e8b-9f0a-1b2c3d4e5f60")
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
}

fn auditor() -> Auditor {
    Auditor::builder()
        .sink(Discard)
        .capacity(65_536)
        .overflow(Overflow::DropNewest)
        .build()
        .unwrap()
}

fn record(c: &mut Criterion) {
    let mut g = c.benchmark_group("record");
    let template = event();
    g.bench_function("1 thread", |b| {
        let a = auditor();
        b.iter_batched(
            || template.clone(),
            |e| a.record(e),
            criterion::BatchSize::SmallInput,
        );
    });
    g.bench_function("2 threads", |b| {
        let a = auditor();
        let stop = Arc::new(AtomicBool::new(false));
        let other = {
            let (a, stop, e) = (a.clone(), Arc::clone(&stop), template.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    a.record(e.clone());
                }
            })
        };
        b.iter_batched(
            || template.clone(),
            |e| a.record(e),
            criterion::BatchSize::SmallInput,
        );
        stop.store(true, Ordering::Relaxed);
        other.join().unwrap();
    });
    g.finish();
}

fn end_to_end(c: &mut Criterion) {
    const N: u64 = 10_000;
    let dir = std::env::temp_dir().join(format!("token-audit-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut g = c.benchmark_group("jsonl");
    g.throughput(Throughput::Elements(N));
    g.sample_size(10);
    g.bench_function("10k events, chain, fsync per batch", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let path = dir.join(format!("e2e-{i}.jsonl"));
                let _ = std::fs::remove_file(&path);
                let sink =
                    JsonlSink::open(&path, JsonlConfig::new().fsync(FsyncPolicy::EveryBatch))
                        .unwrap();
                let a = Auditor::builder()
                    .sink(sink)
                    .capacity(16_384)
                    .batch(512)
                    .overflow(Overflow::Block)
                    .build()
                    .unwrap();
                let start = Instant::now();
                for _ in 0..N {
                    a.record(event());
                }
                a.shutdown();
                total += start.elapsed();
                let _ = std::fs::remove_file(&path);
            }
            total
        });
    });
    g.finish();
    // Bytes per event, printed once.
    let path = dir.join("size.jsonl");
    let _ = std::fs::remove_file(&path);
    let memory = MemorySink::new();
    let a = Auditor::builder()
        .sink(JsonlSink::open(&path, JsonlConfig::new()).unwrap())
        .sink(memory)
        .build()
        .unwrap();
    for _ in 0..1000 {
        a.record(event());
    }
    a.shutdown();
    let bytes = std::fs::metadata(&path).unwrap().len();
    println!(
        "bytes per event (JSONL line with seq, prev and newline): {}",
        bytes / 1000
    );
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, record, end_to_end);
criterion_main!(benches);
