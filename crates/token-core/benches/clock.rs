//! What reading the time costs: `SystemClock` (the system's clocks, no background
//! thread) beside an atomic load (what the removed 50 ms ticker cost per read) and a
//! `ManualClock`, measured in the same run.
//!
//! Run with `cargo bench -p token-core --bench clock`.

use std::hint::black_box;
use std::sync::atomic::{AtomicI64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use token_core::{Clock, ManualClock, SystemClock};

fn clocks(c: &mut Criterion) {
    let mut g = c.benchmark_group("clock");
    g.bench_function("system_now", |b| b.iter(|| black_box(SystemClock).now()));
    g.bench_function("system_elapsed", |b| {
        b.iter(|| black_box(SystemClock).elapsed());
    });
    let manual = ManualClock::new(1_800_000_000);
    g.bench_function("manual_now", |b| b.iter(|| black_box(&manual).now()));
    let tick = AtomicI64::new(1_800_000_000);
    g.bench_function("atomic_load_floor", |b| {
        b.iter(|| black_box(&tick).load(Ordering::Relaxed));
    });
    g.finish();
}

criterion_group!(benches, clocks);
criterion_main!(benches);
