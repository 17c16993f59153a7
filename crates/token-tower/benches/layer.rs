//! The whole layer around a trivial service, beside the same service bare and the
//! core verification call alone, so the layer's own overhead is visible.
//!
//! ```text
//! cargo bench -p token-tower --bench layer -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Every variant builds the same request (method, path, one header, peer address) and
//! polls the service's future once with a no-op waker: warm credentials never wait, so
//! no executor is involved in any of them.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use http_body_util::Full;
use token_audit::sink::{Sink, SinkError};
use token_audit::{AuditEvent, Auditor, Overflow};
use token_core::Authenticator;
use token_core::apikey::{ApiKeys, KeyFormat, NewKey};
use token_core::backend::MemoryKeyStore;
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::{AccessTokenRequest, Keyring, Minter, Validation, Verifier};
use token_ratelimit::{Limiter, Quota};
use token_scopes::{Policy, RuleSpec};
use token_tower::{AuthLayer, PeerAddr};
use tower::{Layer, Service, service_fn};

/// Discards events: measures the pipeline, not a disk.
#[derive(Debug)]
struct Discard;

impl Sink for Discard {
    fn write(&mut self, batch: &[AuditEvent]) -> Result<(), SinkError> {
        black_box(batch.len());
        Ok(())
    }
}

fn poll_once<F: Future>(f: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("a warm request never waits"),
    }
}

fn request(header: &'static str, value: &str) -> Request<Full<Bytes>> {
    let mut r = Request::get("/api/reports")
        .header(header, value)
        .body(Full::new(Bytes::new()))
        .unwrap();
    r.extensions_mut()
        .insert(PeerAddr(SocketAddr::from(([127, 0, 0, 1], 40_000))));
    r
}

fn inner(_: Request<Full<Bytes>>) -> std::future::Ready<Result<Response<Full<Bytes>>, Infallible>> {
    std::future::ready(Ok(Response::new(Full::new(Bytes::from_static(b"ok")))))
}

fn policy() -> Policy {
    Policy::builder()
        .rule(
            RuleSpec::new("GET", "/api/reports")
                .require("read:reports")
                .rate_class("reads"),
        )
        .build()
        .unwrap()
}

#[allow(clippy::too_many_lines)] // one table of rows, in the order they print
fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let hs = Keyring::new(SigningKey::hmac(Algorithm::HS256, &[9; 32]).unwrap());
    let ed = Keyring::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
    let keys = ApiKeys::new(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap());
    let (key, _) = rt
        .block_on(keys.mint(NewKey::new("bench", "read:reports".parse().unwrap())))
        .unwrap();
    let key = key.expose_secret().to_owned();
    let mint = |ring: &Keyring| {
        Minter::new(ring.clone(), "iss")
            .mint(&AccessTokenRequest::new("user", "aud").scope("read:reports".parse().unwrap()))
            .unwrap()
    };
    let (hs_token, ed_token) = (
        format!("Bearer {}", mint(&hs)),
        format!("Bearer {}", mint(&ed)),
    );
    let validation = Validation::access_tokens("iss", "aud");
    let auth_for = |ring: &Keyring| {
        Authenticator::new()
            .api_keys(keys.clone())
            .jwt(Verifier::new(ring.clone(), validation.clone()))
    };
    let auditor = Auditor::builder()
        .sink(Discard)
        .overflow(Overflow::DropNewest)
        .capacity(1 << 16)
        .build()
        .unwrap();
    let limiter = || {
        Limiter::builder()
            .principal(Quota::per_second(1_000_000_000).unwrap())
            .route_class("reads", Quota::per_second(1_000_000_000).unwrap())
            .build()
            .unwrap()
    };
    let full = |auth: Authenticator| {
        AuthLayer::builder(auth, policy())
            .limiter(limiter())
            .auditor(auditor.clone())
            .build()
    };
    // Warm the API key's cache entry.
    rt.block_on(auth_for(&hs).authenticate(&key)).unwrap();

    let mut g = c.benchmark_group("layer");
    let mut bare = service_fn(inner);
    g.bench_function("bare service", |b| {
        b.iter(|| poll_once(bare.call(request("authorization", &hs_token))).unwrap());
    });
    let cases: [(&str, &str, String, Keyring); 3] = [
        ("api key (warm)", "x-api-key", key.clone(), hs.clone()),
        ("HS256 JWT", "authorization", hs_token.clone(), hs.clone()),
        ("EdDSA JWT", "authorization", ed_token.clone(), ed.clone()),
    ];
    for (name, header, value, ring) in cases {
        let auth = auth_for(&ring);
        let raw = value.strip_prefix("Bearer ").unwrap_or(&value).to_owned();
        let core = auth.clone();
        g.bench_function(format!("{name}: core verification only"), |b| {
            b.iter(|| {
                let _ = black_box(&request(header, &value));
                core.authenticate_now(black_box(&raw)).unwrap().unwrap()
            });
        });
        let mut plain = AuthLayer::new(auth.clone(), policy()).layer(service_fn(inner));
        g.bench_function(format!("{name}: layer (verify + scopes)"), |b| {
            b.iter(|| poll_once(plain.call(request(header, &value))).unwrap());
        });
        if name.starts_with("api key") {
            // The parts, once: what the limit and the audit event each add.
            let mut with_limit = AuthLayer::builder(auth.clone(), policy())
                .limiter(limiter())
                .build()
                .layer(service_fn(inner));
            g.bench_function(format!("{name}: layer (verify + scopes + limit)"), |b| {
                b.iter(|| poll_once(with_limit.call(request(header, &value))).unwrap());
            });
            let mut with_audit = AuthLayer::builder(auth.clone(), policy())
                .auditor(auditor.clone())
                .build()
                .layer(service_fn(inner));
            g.bench_function(format!("{name}: layer (verify + scopes + audit)"), |b| {
                b.iter(|| poll_once(with_audit.call(request(header, &value))).unwrap());
            });
        }
        let mut all = full(auth).layer(service_fn(inner));
        g.bench_function(
            format!("{name}: layer (verify + scopes + limit + audit)"),
            |b| {
                b.iter(|| poll_once(all.call(request(header, &value))).unwrap());
            },
        );
    }
    // The verified-token cache: a token seen again costs a SHA-256 and a lookup.
    for (name, ring, value) in [
        ("HS256 JWT (cache)", hs.clone(), hs_token.clone()),
        ("EdDSA JWT (cache)", ed.clone(), ed_token.clone()),
    ] {
        let cached = Authenticator::new()
            .api_keys(keys.clone())
            .jwt(Verifier::new(ring, validation.clone()).with_cache(1_000));
        let mut all = full(cached).layer(service_fn(inner));
        g.bench_function(
            format!("{name}: layer (verify + scopes + limit + audit)"),
            |b| {
                b.iter(|| poll_once(all.call(request("authorization", &value))).unwrap());
            },
        );
    }
    g.finish();
    black_box(auditor.shutdown());
}

criterion_group!(benches, bench);
criterion_main!(benches);
