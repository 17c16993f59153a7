//! API-key verification and credit spending on the SQL stores, beside the memory
//! store: warm verification (a cache hit, which never reaches the store), cold
//! verification (every lookup a `SELECT`), and credits taken per second.
//!
//! Run: `cargo bench -p token-sql --bench stores`. PostgreSQL rows need
//! `TOKENKIT_TEST_POSTGRES_URL` (each run in a schema of its own, dropped after);
//! without it they are skipped, saying so. Before criterion's medians, the cold
//! verification's p50 and p99 over 2,000 keys are printed for each engine.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use token_core::apikey::{ApiKeys, CacheConfig, Credits, KeyFormat, NewKey};
use token_core::backend::{KeyStore, MemoryKeyStore};
use token_sql::{Database, Options};
use tokio::runtime::Runtime;

const KEYS: usize = 2_000;

/// A database for the run, and what to remove after it.
struct Scratch {
    db: Database,
    drop_schema: Option<(String, String)>,
    dir: Option<std::path::PathBuf>,
}

fn sqlite(rt: &Runtime) -> Scratch {
    let dir = std::env::temp_dir().join(format!("tokenkit-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let db = rt.block_on(Database::connect(&url)).unwrap();
    rt.block_on(db.migrate()).unwrap();
    Scratch {
        db,
        drop_schema: None,
        dir: Some(dir),
    }
}

fn postgres(rt: &Runtime) -> Option<Scratch> {
    let Ok(url) = std::env::var("TOKENKIT_TEST_POSTGRES_URL") else {
        eprintln!("postgres rows skipped: TOKENKIT_TEST_POSTGRES_URL is not set");
        return None;
    };
    let schema = format!("tk_bench_{}", std::process::id());
    let options = Options::new().postgres_schema(&schema);
    let db = rt.block_on(Database::connect_with(&url, options)).unwrap();
    rt.block_on(db.migrate()).unwrap();
    Some(Scratch {
        db,
        drop_schema: Some((url, schema)),
        dir: None,
    })
}

impl Scratch {
    fn finish(mut self, rt: &Runtime) {
        rt.block_on(self.db.close());
        self.remove(rt);
    }

    fn remove(&mut self, rt: &Runtime) {
        if let Some((url, schema)) = self.drop_schema.take() {
            rt.block_on(async {
                use sqlx::{Connection as _, Executor as _};
                // Best effort: this also runs while a panic unwinds.
                if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                    let drop = format!("DROP SCHEMA \"{schema}\" CASCADE");
                    let _ = conn.execute(sqlx::raw_sql(&drop)).await;
                }
            });
        }
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A bench that panics still drops its schema and files.
impl Drop for Scratch {
    fn drop(&mut self) {
        let pending = self.drop_schema.is_some() || self.dir.is_some();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if pending && let Ok(rt) = runtime {
            self.remove(&rt);
        }
    }
}

/// A key service that never caches a found key (`ttl 0`): every verification looks
/// the key up in the store.
fn uncached<S: KeyStore>(store: S) -> ApiKeys<S> {
    ApiKeys::builder(store, KeyFormat::new("tk_bench").unwrap())
        .cache(CacheConfig::default().ttl_secs(0))
        .build()
}

fn mint<S: KeyStore>(rt: &Runtime, keys: &ApiKeys<S>, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let spec = NewKey::new(&format!("bench {i}"), "read:reports".parse().unwrap());
            let (secret, _) = rt.block_on(keys.mint(spec)).unwrap();
            secret.expose_secret().to_owned()
        })
        .collect()
}

/// p50 and p99 of one cold verification per key.
fn cold_percentiles<S: KeyStore>(rt: &Runtime, name: &str, keys: &ApiKeys<S>, secrets: &[String]) {
    let mut took: Vec<Duration> = secrets
        .iter()
        .map(|secret| {
            let start = Instant::now();
            rt.block_on(keys.verify(secret)).unwrap();
            start.elapsed()
        })
        .collect();
    took.sort_unstable();
    // The sample at `per_mille`/1000 of the way up.
    let at = |per_mille: usize| took[(took.len() * per_mille / 1000).min(took.len() - 1)];
    println!(
        "cold verification {name:<10} p50 {:>8.1} µs   p99 {:>8.1} µs   ({} keys)",
        at(500).as_secs_f64() * 1e6,
        at(990).as_secs_f64() * 1e6,
        took.len()
    );
}

fn bench_engine<S: KeyStore + Clone>(c: &mut Criterion, rt: &Runtime, name: &str, store: &S) {
    let cold = uncached(store.clone());
    let secrets = mint(rt, &cold, KEYS);
    cold_percentiles(rt, name, &cold, &secrets);
    let warm = ApiKeys::new(store.clone(), KeyFormat::new("tk_bench").unwrap());
    let secret = secrets[0].clone();
    rt.block_on(warm.verify(&secret)).unwrap();

    let mut group = c.benchmark_group("verify");
    group.bench_function(format!("{name}/warm (cache hit)"), |b| {
        b.iter(|| {
            black_box(warm.verify_cached(black_box(&secret)))
                .unwrap()
                .unwrap()
        });
    });
    let mut i = 0;
    group.bench_function(format!("{name}/cold (store lookup)"), |b| {
        b.iter(|| {
            i = (i + 1) % secrets.len();
            rt.block_on(cold.verify(&secrets[i])).unwrap()
        });
    });
    group.finish();

    let metered =
        NewKey::new("metered", "read:reports".parse().unwrap()).credits(Credits::fixed(1 << 40));
    let (_, record) = rt.block_on(cold.mint(metered)).unwrap();
    c.bench_function(&format!("credits/{name}/take one"), |b| {
        b.iter(|| rt.block_on(store.consume_credit(&record.id, 1)).unwrap());
    });
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench_engine(
        &mut c,
        &rt,
        "memory",
        &std::sync::Arc::new(MemoryKeyStore::new()),
    );
    let lite = sqlite(&rt);
    bench_engine(&mut c, &rt, "sqlite", &lite.db.keys());
    lite.finish(&rt);
    if let Some(pg) = postgres(&rt) {
        bench_engine(&mut c, &rt, "postgres", &pg.db.keys());
        pg.finish(&rt);
    }
    c.final_summary();
}
