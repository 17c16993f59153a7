//! Keyed check cost with 10k and 1M live keys, side by side with bare governor on the
//! same keys, plus bytes per tracked key (resident memory, measured in a fresh child
//! process each). After criterion's groups it prints paired medians: short alternating
//! rounds of both limiters, which cancel load drift on a shared machine.
//!
//! Run: `cargo bench -p token-ratelimit --bench limiter -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::num::NonZeroU32;
use std::process::Command;
use std::time::Instant;

use criterion::Criterion;
use governor::{Quota as GovQuota, RateLimiter};
use token_ratelimit::{CheckRequest, Limiter, Quota};

/// Each check adds 3.6 s to a key's TAT and the burst is a million: every key stays
/// live (never idle, never swept) and every check is admitted, for both limiters.
fn ours_quota() -> Quota {
    Quota::per_hour(1)
        .and_then(|q| q.burst(1_000_000))
        .expect("valid quota")
}

fn governor_quota() -> GovQuota {
    let one = NonZeroU32::MIN;
    let burst = NonZeroU32::new(1_000_000).expect("non-zero");
    GovQuota::per_hour(one).allow_burst(burst)
}

fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("key_{i:08}_principal")).collect()
}

fn ours(n: usize, keys: &[String]) -> Limiter {
    let limiter = Limiter::builder()
        .principal(ours_quota())
        .max_keys(n * 2)
        .build()
        .expect("valid limiter");
    for key in keys {
        assert!(
            limiter
                .try_check(&CheckRequest::new(key))
                .is_some_and(|d| d.is_allowed())
        );
    }
    limiter
}

type Governor = governor::DefaultKeyedRateLimiter<String>;

fn governor(keys: &[String]) -> Governor {
    let limiter = RateLimiter::keyed(governor_quota());
    for key in keys {
        assert!(limiter.check_key(key).is_ok());
    }
    limiter
}

fn keyed(c: &mut Criterion, label: &str, n: usize) {
    let keys = keys(n);
    let mut group = c.benchmark_group(format!("keyed_check/{label}"));
    {
        let limiter = ours(n, &keys);
        let mut i = 0;
        group.bench_function("token-ratelimit", |b| {
            b.iter(|| {
                i = (i + 1) % n;
                black_box(limiter.try_check(&CheckRequest::new(&keys[i])))
            });
        });
        if n <= 10_000 {
            let layered = Limiter::builder()
                .principal(ours_quota())
                .tenant(ours_quota())
                .route_class("search", ours_quota())
                .build()
                .expect("valid limiter");
            group.bench_function("token-ratelimit 3 layers", |b| {
                b.iter(|| {
                    i = (i + 1) % n;
                    let request = CheckRequest::new(&keys[i])
                        .tenant(Some("acme"))
                        .route_class(Some("search"));
                    black_box(layered.try_check(&request))
                });
            });
            group.bench_function("token-ratelimit override string", |b| {
                b.iter(|| {
                    i = (i + 1) % n;
                    let request = CheckRequest::new(&keys[i])
                        .override_quota_str(Some("1/hour burst 1000000"));
                    black_box(limiter.try_check(&request))
                });
            });
        }
    }
    {
        let limiter = governor(&keys);
        let mut i = 0;
        group.bench_function("governor String keys", |b| {
            b.iter(|| {
                i = (i + 1) % n;
                black_box(limiter.check_key(&keys[i]))
            });
        });
    }
    group.finish();
}

/// Load on a shared machine drifts during a run; alternating short rounds of both
/// limiters on the same keys and taking medians cancels most of it.
fn paired(label: &str, n: usize) {
    const ROUNDS: usize = 101;
    const OPS: usize = 20_000;
    const OPS_F: f64 = 20_000.0;
    let keys = keys(n);
    let ours = ours(n, &keys);
    let peer = governor(&keys);
    let (mut ours_ns, mut peer_ns, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut i = 0;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for _ in 0..OPS {
            i = (i + 1) % n;
            black_box(ours.try_check(&CheckRequest::new(&keys[i])));
        }
        let a = start.elapsed().as_secs_f64() * 1e9 / OPS_F;
        let start = Instant::now();
        for _ in 0..OPS {
            i = (i + 1) % n;
            black_box(peer.check_key(&keys[i]).is_ok());
        }
        let b = start.elapsed().as_secs_f64() * 1e9 / OPS_F;
        ours_ns.push(a);
        peer_ns.push(b);
        ratios.push(a / b);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "paired {label}: token-ratelimit {:.1} ns, governor {:.1} ns, median ratio {:.2}",
        median(&mut ours_ns),
        median(&mut peer_ns),
        median(&mut ratios)
    );
    // One sweep pass over n live (busy, so kept) keys: the scheduled cost per interval.
    let start = Instant::now();
    ours.sweep();
    println!(
        "sweep {label}: {:?} for {} live keys",
        start.elapsed(),
        ours.tracked_keys()
    );
}

const MEASURE_ENV: &str = "TOKEN_RATELIMIT_BENCH_MEASURE";
const MEASURE_KEYS: usize = 1_000_000;

/// Resident set size in bytes (Linux), if known.
fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// In a child process: resident bytes added per tracked key.
fn measure(which: &str) {
    let before = rss();
    let mut key = String::new();
    let fill = |key: &mut String, i: usize| {
        key.clear();
        std::fmt::Write::write_fmt(key, format_args!("key_{i:08}_principal")).expect("write");
    };
    let tracked = if which == "governor" {
        let limiter: Governor = RateLimiter::keyed(governor_quota());
        for i in 0..MEASURE_KEYS {
            fill(&mut key, i);
            black_box(limiter.check_key(&key).is_ok());
        }
        let after = rss();
        (limiter.len(), after)
    } else {
        let limiter = Limiter::builder()
            .principal(ours_quota())
            .max_keys(MEASURE_KEYS)
            .build()
            .expect("valid limiter");
        for i in 0..MEASURE_KEYS {
            fill(&mut key, i);
            black_box(limiter.try_check(&CheckRequest::new(&key)));
        }
        let after = rss();
        (limiter.tracked_keys(), after)
    };
    match (before, tracked.1) {
        (Some(before), Some(after)) => {
            let keys = u64::try_from(tracked.0).unwrap_or(u64::MAX).max(1);
            let tenths = after.saturating_sub(before) * 10 / keys;
            println!(
                "{which}: {} keys, {}.{} bytes per tracked key (RSS)",
                tracked.0,
                tenths / 10,
                tenths % 10
            );
        }
        _ => println!("{which}: RSS not available on this platform"),
    }
}

fn bytes_per_key() {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    for which in ["token-ratelimit", "governor"] {
        match Command::new(&exe).env(MEASURE_ENV, which).output() {
            Ok(out) => print!("{}", String::from_utf8_lossy(&out.stdout)),
            Err(e) => println!("{which}: could not measure ({e})"),
        }
    }
}

fn main() {
    if let Ok(which) = std::env::var(MEASURE_ENV) {
        measure(&which);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    keyed(&mut c, "10k", 10_000);
    keyed(&mut c, "1M", 1_000_000);
    c.final_summary();
    paired("10k", 10_000);
    paired("1M", 1_000_000);
    bytes_per_key();
}
