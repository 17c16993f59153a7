//! API-key verification: warm (cache hit) for one hot key and across a million keys,
//! a cold miss against the in-memory store, and two threads at once; each beside the
//! floor (CRC32 + SHA-256 + one hash-map probe) measured in the same run.
//!
//! Run with `cargo bench -p token-core --bench apikey`.

use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use token_core::apikey::{ApiKeys, CacheConfig, KeyFormat, NewKey};
use token_core::backend::MemoryKeyStore;

/// Runs a future that never waits (every store call here completes at once).
fn now<F: Future>(f: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("in-memory futures complete at once"),
    }
}

/// Key hash → record id: the floor's table.
type Table = HashMap<[u8; 32], Arc<String>>;

/// The floor: what any checksummed, hashed-at-rest scheme must do per request: check
/// the CRC32 against the key's checksum digits, hash the key, probe a table.
fn floor(table: &Table, key: &str) -> Option<Arc<String>> {
    let (signed, sum) = key.split_at(key.len() - 6);
    let digits = sum.bytes().try_fold(0u64, |acc, b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            b'a'..=b'z' => b - b'a' + 36,
            _ => return None,
        };
        Some(acc * 62 + u64::from(d))
    })?;
    if u64::from(crc32fast::hash(signed.as_bytes())) != digits {
        return None;
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    let mut hash = [0u8; 32];
    hash.copy_from_slice(digest.as_ref());
    table.get(&hash).cloned()
}

fn setup(n: usize, cache: CacheConfig) -> (ApiKeys<MemoryKeyStore>, Vec<String>, Table) {
    let keys = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .cache(cache)
        .build();
    let mut secrets = Vec::with_capacity(n);
    let mut table = HashMap::with_capacity(n);
    for i in 0..n {
        let spec = NewKey::new("bench", "read:reports read:usage".parse().unwrap()).tenant("acme");
        let (secret, record) = now(keys.mint(spec)).unwrap();
        table.insert(*record.hash.as_bytes(), Arc::new(record.id));
        secrets.push(secret.expose_secret().to_owned());
        if i % 100_000 == 99_999 {
            eprintln!("minted {}", i + 1);
        }
    }
    (keys, secrets, table)
}

fn warm(c: &mut Criterion) {
    let (keys, secrets, table) = setup(1, CacheConfig::default());
    let hot = &secrets[0];
    now(keys.verify(hot)).unwrap();
    let mut g = c.benchmark_group("api key, 1 hot key");
    g.bench_function("tokenkit warm verify", |b| {
        b.iter(|| now(keys.verify(black_box(hot))).unwrap());
    });
    g.bench_function("floor", |b| {
        b.iter(|| floor(&table, black_box(hot)).unwrap());
    });
    g.finish();

    let cold_keys = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .cache(CacheConfig::default().ttl_secs(0))
        .build();
    let (secret, _) =
        now(cold_keys.mint(NewKey::new("cold", "read:reports".parse().unwrap()))).unwrap();
    c.bench_function("api key, cold miss (store lookup every time)", |b| {
        b.iter(|| now(cold_keys.verify(black_box(secret.expose_secret()))).unwrap());
    });

    c.bench_function(
        "api key, 2 threads, warm verify (time per verification)",
        |b| {
            b.iter_custom(|iters| {
                let per_thread = iters.div_ceil(2);
                let start = Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..2 {
                        s.spawn(|| {
                            for _ in 0..per_thread {
                                now(keys.verify(black_box(hot))).unwrap();
                            }
                        });
                    }
                });
                // Wall time over all verifications: two threads share it.
                start.elapsed() / 2
            });
        },
    );
}

fn million(c: &mut Criterion) {
    const N: usize = 1_000_000;
    // A TTL longer than the whole run: every lookup here is a warm hit.
    let (keys, secrets, table) = setup(N, CacheConfig::default().capacity(2 * N).ttl_secs(3600));
    for s in &secrets {
        now(keys.verify(s)).unwrap();
    }
    // Visit keys in a scattered order so that caches are cold, as with real traffic.
    let order: Vec<usize> = (0..N).map(|i| (i * 7919) % N).collect();
    let mut g = c.benchmark_group("api key, 1M keys");
    g.measurement_time(Duration::from_secs(4));
    let mut i = 0;
    g.bench_function("tokenkit warm verify", |b| {
        b.iter(|| {
            i = (i + 1) % N;
            now(keys.verify(black_box(&secrets[order[i]]))).unwrap()
        });
    });
    let mut j = 0;
    g.bench_function("floor", |b| {
        b.iter(|| {
            j = (j + 1) % N;
            floor(&table, black_box(&secrets[order[j]])).unwrap()
        });
    });
    g.finish();
}

criterion_group!(benches, warm, million);
criterion_main!(benches);
