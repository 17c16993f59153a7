//! Bytes per cached entry: resident memory the verified-key cache of `ApiKeys` and the
//! verified-token cache of a JWT `Verifier` add per entry, each measured in a fresh
//! child process (so one measurement's freed pages do not flatter the next), beside
//! the rate limiter's 36 bytes per tracked key (`token-ratelimit`'s `limiter` bench).
//!
//! Run: `cargo bench -p token-core --bench memory` (a plain program, not criterion:
//! it measures memory, not time).

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::process::Command;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use token_core::apikey::{ApiKeys, CacheConfig, KeyFormat, NewKey};
use token_core::backend::MemoryKeyStore;
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::{AccessTokenRequest, Keyring, Minter, Validation, Verifier};
use token_core::{Authenticator, ManualClock};

/// Entries per measurement: enough that allocator slack and page rounding vanish.
const N: usize = 200_000;
const NOW: i64 = 1_800_000_000;

/// Runs a future that never waits (every store call here completes at once).
fn now<F: Future>(f: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("in-memory futures complete at once"),
    }
}

/// Resident set size in bytes (Linux), if known.
fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// In a child: resident bytes the cache adds per entry. Everything else (the keys in
/// the store, the token strings) exists before the first reading.
fn measure(which: &str) -> Option<u64> {
    let clock = ManualClock::new(NOW);
    let (before, after, cached) = match which {
        "api-key" => {
            let keys = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").ok()?)
                .cache(CacheConfig::default().capacity(2 * N).ttl_secs(3600))
                .clock(Arc::new(clock))
                .build();
            let mut secrets = Vec::with_capacity(N);
            for _ in 0..N {
                let spec =
                    NewKey::new("bench", "read:reports read:usage".parse().ok()?).tenant("acme");
                let (secret, _) = now(keys.mint(spec)).ok()?;
                secrets.push(secret.expose_secret().to_owned());
            }
            let before = rss()?;
            for s in &secrets {
                black_box(now(keys.verify(s)).ok()?);
            }
            (before, rss()?, keys.cached_entries())
        }
        "jwt" => {
            let keyring = Keyring::new(SigningKey::generate(Algorithm::HS256).ok()?);
            let verifier = Verifier::new(keyring.clone(), Validation::access_tokens("iss", "aud"))
                .with_clock(Arc::new(clock.clone()))
                .with_cache(2 * N);
            let auth: Authenticator = Authenticator::new().jwt(verifier.clone());
            let minter = Minter::new(keyring, "iss").with_clock(Arc::new(clock));
            let mut tokens = Vec::with_capacity(N);
            for i in 0..N {
                let request = AccessTokenRequest::new(&format!("user-{i}"), "aud")
                    .scope("read:reports read:usage".parse().ok()?)
                    .ttl_secs(600);
                tokens.push(minter.mint(&request).ok()?);
            }
            let before = rss()?;
            for t in &tokens {
                black_box(auth.authenticate_now(t)?.ok()?);
            }
            (before, rss()?, verifier.cached_tokens())
        }
        _ => return None,
    };
    if cached != N {
        eprintln!("{which}: {cached} entries cached, expected {N}");
        return None;
    }
    let entries = u64::try_from(N).ok()?;
    Some(after.saturating_sub(before).div_ceil(entries))
}

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--child") {
        let which = args.next().unwrap_or_default();
        match measure(&which) {
            Some(bytes) => println!("{bytes}"),
            None => std::process::exit(1),
        }
        return;
    }
    let Ok(me) = std::env::current_exe() else {
        eprintln!("cannot find this program to run its measurements");
        std::process::exit(1);
    };
    println!("resident bytes per cached entry ({N} entries, each in a fresh process):");
    for (which, what) in [
        ("api-key", "verified API key (ApiKeys cache)"),
        ("jwt", "verified JWT (Verifier::with_cache, HS256)"),
    ] {
        let out = Command::new(&me).args(["--child", which]).output();
        match out {
            Ok(o) if o.status.success() => {
                println!(
                    "  {what}: {} bytes",
                    String::from_utf8_lossy(&o.stdout).trim()
                );
            }
            _ => println!("  {what}: measurement failed"),
        }
    }
}
