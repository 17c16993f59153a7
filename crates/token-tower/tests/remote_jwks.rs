//! Tokens from an external provider, served by a local plain-HTTP server (so every
//! test opts in with `dangerous_allow_http`; HTTPS is in `remote_https.rs`): discovery, the
//! JWKS cache, refresh on an unknown `kid` (rate-limited against floods), and the
//! last good keys kept while the provider is down.
#![cfg(all(feature = "remote-jwks", feature = "axum"))]

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::{Answer, NOW, answer, echo, req};
use http::StatusCode;
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::{AccessTokenRequest, Keyring, Minter, Validation, Verifier};
use token_core::{Authenticator, ManualClock};
use token_scopes::{Policy, RuleSpec};
use token_tower::AuthLayer;
use token_tower::remote::{RemoteError, RemoteJwks};
use tower::{Layer, ServiceExt, service_fn};

const AUD: &str = "api";

#[derive(Clone, Default)]
struct Provider {
    issuer: Arc<Mutex<String>>,
    jwks: Arc<Mutex<String>>,
    down: Arc<AtomicBool>,
    jwks_hits: Arc<AtomicU64>,
}

async fn discovery(State(p): State<Provider>) -> Response {
    let issuer = p.issuer.lock().unwrap().clone();
    let body = serde_json::json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/jwks") });
    axum::Json(body).into_response()
}

async fn jwks(State(p): State<Provider>) -> Response {
    p.jwks_hits.fetch_add(1, Ordering::SeqCst);
    if p.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let body = p.jwks.lock().unwrap().clone();
    ([("cache-control", "max-age=600")], body).into_response()
}

struct Idp {
    provider: Provider,
    issuer: String,
    key: Mutex<Keyring>,
}

impl Idp {
    async fn start() -> Idp {
        let provider = Provider::default();
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .with_state(provider.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let issuer = format!("http://{addr}");
        provider.issuer.lock().unwrap().clone_from(&issuer);
        let idp = Idp {
            provider,
            issuer,
            key: Mutex::new(Keyring::new(
                SigningKey::generate(Algorithm::ES256).unwrap(),
            )),
        };
        idp.publish();
        idp
    }

    fn publish(&self) {
        let jwks = self.key.lock().unwrap().public_jwks();
        *self.provider.jwks.lock().unwrap() = serde_json::to_string(&jwks).unwrap();
    }

    /// A new key, published at once (providers publish before signing with it).
    fn rotate(&self) {
        *self.key.lock().unwrap() = Keyring::new(SigningKey::generate(Algorithm::ES256).unwrap());
        self.publish();
    }

    fn token(&self, clock: &ManualClock) -> String {
        let ring = self.key.lock().unwrap().clone();
        Minter::new(ring, &self.issuer)
            .with_clock(Arc::new(clock.clone()))
            .mint(&AccessTokenRequest::new("ext-user", AUD).scope("read:reports".parse().unwrap()))
            .unwrap()
    }

    fn hits(&self) -> u64 {
        self.provider.jwks_hits.load(Ordering::SeqCst)
    }
}

fn layer(remote: &RemoteJwks, clock: &ManualClock) -> AuthLayer {
    let verifier = Verifier::new(
        Keyring::verify_only(),
        Validation::access_tokens(remote.issuer(), AUD),
    )
    .with_clock(Arc::new(clock.clone()))
    .with_shared_keyring(remote.keyring());
    let policy = Policy::builder()
        .rule(RuleSpec::new("GET", "/api/reports").require("read:reports"))
        .build()
        .unwrap();
    AuthLayer::builder(Authenticator::new().jwt(verifier), policy)
        .remote_jwks(remote.clone())
        .build()
}

/// A provider on a plain-HTTP loopback server: the dangerous option opts in.
fn plain_http(issuer: &str) -> Result<RemoteJwks, RemoteError> {
    RemoteJwks::builder(issuer).dangerous_allow_http().build()
}

/// A provider's keys discovered and loaded, on a manual clock, and the layer using them.
async fn loaded(idp: &Idp) -> (ManualClock, RemoteJwks, AuthLayer) {
    let clock = ManualClock::new(NOW);
    let remote = RemoteJwks::builder(&idp.issuer)
        .dangerous_allow_http()
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let report = remote.refresh().await.unwrap();
    assert_eq!(report.loaded.len(), 1);
    let l = layer(&remote, &clock);
    (clock, remote, l)
}

/// A token for the provider's issuer signed by a key it never published.
fn forged(idp: &Idp, clock: &ManualClock) -> String {
    let stranger = Keyring::new(SigningKey::generate(Algorithm::ES256).unwrap());
    Minter::new(stranger, &idp.issuer)
        .with_clock(Arc::new(clock.clone()))
        .mint(&AccessTokenRequest::new("x", AUD))
        .unwrap()
}

async fn call(l: &AuthLayer, token: &str) -> Answer {
    let svc = l.layer(service_fn(echo));
    answer(
        svc.oneshot(req("GET", "/api/reports").bearer(token).build())
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_then_cached_keys_verify_tokens() {
    let idp = Idp::start().await;
    let (clock, remote, l) = loaded(&idp).await;
    for _ in 0..5 {
        let a = call(&l, &idp.token(&clock)).await;
        assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "ext-user"));
    }
    assert_eq!(idp.hits(), 1, "verification uses the cached keys");
    assert!(!remote.is_stale());
    clock.advance_secs(601);
    assert!(remote.is_stale(), "the provider's max-age is honoured");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_fetched_once_and_random_kids_cannot_hammer_the_provider() {
    let idp = Idp::start().await;
    let (clock, remote, l) = loaded(&idp).await;
    idp.rotate();
    let rotated = call(&l, &idp.token(&clock)).await;
    assert_eq!(
        rotated.status,
        StatusCode::OK,
        "unknown kid: refreshed and verified"
    );
    assert_eq!(idp.hits(), 2);

    // A flood of tokens signed by keys the provider never published.
    for _ in 0..50 {
        let a = call(&l, &forged(&idp, &clock)).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNAUTHORIZED, "unknown_key".into())
        );
    }
    assert_eq!(
        idp.hits(),
        2,
        "within the interval, unknown kids cause no fetch"
    );
    assert_eq!(remote.stats().throttled, 50);
    clock.advance_secs(31);
    call(&l, &forged(&idp, &clock)).await;
    assert_eq!(idp.hits(), 3, "one fetch per interval at most");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_good_keys_serve_while_the_provider_is_down() {
    let idp = Idp::start().await;
    let (clock, remote, l) = loaded(&idp).await;
    idp.provider.down.store(true, Ordering::SeqCst);
    clock.advance_secs(3600);
    assert!(remote.is_stale());
    assert!(matches!(remote.refresh().await, Err(RemoteError::Fetch(_))));
    assert_eq!(remote.stats().failures, 1);
    let a = call(&l, &idp.token(&clock)).await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "the provider is down; its last keys still verify"
    );
    assert!(
        !remote.is_stale(),
        "a failed refresh waits an interval before the next try"
    );
    // Back up: a stale cache refreshes in the background, without holding requests.
    idp.provider.down.store(false, Ordering::SeqCst);
    clock.advance_secs(31);
    let before = idp.hits();
    assert_eq!(call(&l, &idp.token(&clock)).await.status, StatusCode::OK);
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while idp.hits() == before || remote.is_stale() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("a background refresh happened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_must_name_the_configured_issuer() {
    let idp = Idp::start().await;
    *idp.provider.issuer.lock().unwrap() = "http://evil.example".into();
    let remote = plain_http(&idp.issuer).unwrap();
    assert!(matches!(
        remote.refresh().await,
        Err(RemoteError::IssuerMismatch(_))
    ));
    // A JWKS with nothing usable keeps the old keys.
    let idp = Idp::start().await;
    let remote = plain_http(&idp.issuer).unwrap();
    remote.refresh().await.unwrap();
    *idp.provider.jwks.lock().unwrap() = r#"{"keys":[{"kty":"oct","k":"AAAA"}]}"#.into();
    assert!(matches!(
        remote.refresh().await,
        Err(RemoteError::NoUsableKey)
    ));
    assert_eq!(
        remote.keyring().load().verifying_keys().count(),
        1,
        "the old key stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_providers_keys_speak_only_for_the_provider() {
    // The provider signs a token in our name: its keys are bound to its issuer, so even
    // a verifier that accepts several issuers refuses it (RFC 8725 §3.8).
    let idp = Idp::start().await;
    let (clock, remote, _) = loaded(&idp).await;
    let any = Validation::builder()
        .dangerous_any_issuer()
        .audience(AUD)
        .build()
        .unwrap();
    let verifier = Verifier::new(Keyring::verify_only(), any)
        .with_clock(Arc::new(clock.clone()))
        .with_shared_keyring(remote.keyring());
    let ring = idp.key.lock().unwrap().clone();
    let in_our_name = Minter::new(ring, "https://auth.example")
        .with_clock(Arc::new(clock.clone()))
        .mint(&AccessTokenRequest::new("mallory", AUD).scope("*".parse().unwrap()))
        .unwrap();
    assert_eq!(
        verifier.verify(&in_our_name).unwrap_err().code(),
        "key_issuer_mismatch"
    );
    let own = verifier.verify(&idp.token(&clock)).unwrap();
    assert_eq!(own.claims.iss.as_deref(), Some(idp.issuer.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_rsa_keys_without_alg_bind_to_the_allowed_algorithms() {
    let idp = Idp::start().await;
    let rsa = include_str!("../../token-core/tests/data/rsa2048-pkcs8.pem");
    *idp.key.lock().unwrap() = Keyring::new(SigningKey::from_pem(rsa, None).unwrap());
    // As many identity providers publish them: no `alg`.
    let mut jwks = serde_json::to_value(idp.key.lock().unwrap().public_jwks()).unwrap();
    for key in jwks["keys"].as_array_mut().unwrap() {
        key.as_object_mut().unwrap().remove("alg");
    }
    *idp.provider.jwks.lock().unwrap() = jwks.to_string();

    let unbound = plain_http(&idp.issuer).unwrap();
    assert!(
        matches!(unbound.refresh().await, Err(RemoteError::NoUsableKey)),
        "without allowed algorithms an RSA key without alg names no algorithm"
    );

    let clock = ManualClock::new(NOW);
    let remote = RemoteJwks::builder(&idp.issuer)
        .dangerous_allow_http()
        .algorithms(&[Algorithm::RS256, Algorithm::ES256])
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let report = remote.refresh().await.unwrap();
    assert_eq!(report.loaded.len(), 1, "{report:?}");
    let l = layer(&remote, &clock);
    let a = call(&l, &idp.token(&clock)).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "ext-user"));

    // Bound to RS256 only: the same key never verifies PS256 (not allowed here).
    let remote = RemoteJwks::builder(&idp.issuer)
        .dangerous_allow_http()
        .algorithms(&[Algorithm::PS256])
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    remote.refresh().await.unwrap();
    let a = call(&layer(&remote, &clock), &idp.token(&clock)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}
