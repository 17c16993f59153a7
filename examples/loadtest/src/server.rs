//! The servers under test, one per child process: each binds loopback, prints its
//! port and the credential to send on stdout (a pipe to the driver, never a
//! terminal), and serves until killed.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;
use token_audit::sink::{Sink, SinkError};
use token_audit::{AuditEvent, Auditor, Overflow};
use token_core::Authenticator;
use token_core::apikey::{ApiKeys, KeyFormat, NewKey};
use token_core::backend::MemoryKeyStore;
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::{AccessTokenRequest, Keyring, Minter};
use token_ratelimit::{Limiter, Quota};
use token_scopes::{Policy, RuleSpec};
use token_tower::AuthLayer;

/// The HS256 secret every JWT variant shares (a load-test constant, not a secret).
const HS_SECRET: &[u8] = b"loadtest-only-hs256-secret-32-bytes!";
const ISS: &str = "loadtest";
const AUD: &str = "hello";

/// Which server to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Variant {
    /// axum hello-world, nothing in front.
    Bare,
    /// `axum::middleware::from_fn` calling `jsonwebtoken::decode` (HS256): what most
    /// services hand-write today.
    Jsonwebtoken,
    /// `AuthLayer` (verify, scopes, limit, audit) with an HS256 JWT and the verified
    /// token cache.
    LayerHs256,
    /// The same without the verified-token cache: every request verifies in full.
    LayerHs256Uncached,
    /// `AuthLayer` with an `EdDSA` JWT.
    LayerEddsa,
    /// `AuthLayer` with an API key.
    LayerApiKey,
}

impl Variant {
    /// Every server, in the order the report lists them.
    pub(crate) const ALL: [Variant; 6] = [
        Variant::Bare,
        Variant::Jsonwebtoken,
        Variant::LayerHs256,
        Variant::LayerHs256Uncached,
        Variant::LayerEddsa,
        Variant::LayerApiKey,
    ];

    /// The command-line name (`--only`, `--serve`), as clap spells it.
    pub(crate) fn arg(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }

    /// The report's row label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Variant::Bare => "bare axum",
            Variant::Jsonwebtoken => "from_fn + jsonwebtoken (HS256)",
            Variant::LayerHs256 => "AuthLayer, HS256 JWT (cache)",
            Variant::LayerHs256Uncached => "AuthLayer, HS256 JWT, no cache",
            Variant::LayerEddsa => "AuthLayer, EdDSA JWT (cache)",
            Variant::LayerApiKey => "AuthLayer, API key",
        }
    }
}

/// An audit sink that drops events: the load test measures the request path, and
/// the auditor's worker (its CPU included) still runs.
#[derive(Debug)]
struct Discard;

impl Sink for Discard {
    fn write(&mut self, batch: &[AuditEvent]) -> Result<(), SinkError> {
        std::hint::black_box(batch.len());
        Ok(())
    }
}

#[derive(Deserialize)]
struct Claims {
    #[allow(dead_code)]
    sub: String,
}

async fn hand_written(req: Request, next: Next) -> Result<Response, StatusCode> {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&[ISS]);
    validation.set_audience(&[AUD]);
    jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(HS_SECRET), &validation)
        .map_err(|_| StatusCode::UNAUTHORIZED)?;
    Ok(next.run(req).await)
}

fn mint(key: SigningKey) -> String {
    Minter::new(Keyring::new(key), ISS)
        .mint(
            &AccessTokenRequest::new("load", AUD)
                .scope("read:hello".parse().expect("scope"))
                .ttl_secs(900),
        )
        .expect("mint")
}

/// Builds the app and the credential header to send.
async fn app(variant: Variant) -> (Router, String, String) {
    let hello = Router::new().route("/hello", get(|| async { "hello" }));
    let hs = || SigningKey::hmac(Algorithm::HS256, HS_SECRET).expect("hmac key");
    match variant {
        Variant::Bare => (hello, "x-none".into(), "-".into()),
        Variant::Jsonwebtoken => {
            token_core::jose::install_ring_provider();
            let token = mint(hs());
            (
                hello.layer(middleware::from_fn(hand_written)),
                "authorization".into(),
                format!("Bearer {token}"),
            )
        }
        Variant::LayerHs256
        | Variant::LayerHs256Uncached
        | Variant::LayerEddsa
        | Variant::LayerApiKey => {
            let key = if variant == Variant::LayerEddsa {
                SigningKey::generate(Algorithm::EdDSA).expect("key")
            } else {
                hs()
            };
            let keyring = Keyring::new(key.clone());
            let keys = ApiKeys::new(
                MemoryKeyStore::new(),
                KeyFormat::new("tk_live").expect("format"),
            );
            let verifier = token_core::jwt::Verifier::new(
                keyring,
                token_core::jwt::Validation::access_tokens(ISS, AUD),
            );
            let verifier = if variant == Variant::LayerHs256Uncached {
                verifier
            } else {
                verifier.with_cache(10_000)
            };
            let policy = Policy::builder()
                .rule(
                    RuleSpec::new("GET", "/hello")
                        .require("read:hello")
                        .rate_class("hello"),
                )
                .build()
                .expect("policy");
            let limiter = Limiter::builder()
                .principal(Quota::per_second(10_000_000).expect("quota"))
                .route_class("hello", Quota::per_second(10_000_000).expect("quota"))
                .build()
                .expect("limiter");
            let auditor = Auditor::builder()
                .sink(Discard)
                .overflow(Overflow::DropNewest)
                .build()
                .expect("auditor");
            let layer = AuthLayer::builder(
                Authenticator::new().api_keys(keys.clone()).jwt(verifier),
                policy,
            )
            .limiter(limiter)
            .auditor(auditor)
            .build();
            let (header, value) = if variant == Variant::LayerApiKey {
                let (secret, _) = keys
                    .mint(NewKey::new("load", "read:hello".parse().expect("scope")))
                    .await
                    .expect("mint key");
                ("x-api-key".to_owned(), secret.expose_secret().to_owned())
            } else {
                ("authorization".to_owned(), format!("Bearer {}", mint(key)))
            };
            (hello.layer(layer), header, value)
        }
    }
}

/// Runs one server until the process is killed.
pub(crate) fn run(variant: Variant, workers: usize) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let (router, header, value) = app(variant).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        println!("{port}\n{header}\n{value}");
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, service).await
    })
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::Variant;

    #[test]
    fn each_variant_is_named_as_clap_parses_it() {
        for v in Variant::ALL {
            assert_eq!(Variant::from_str(&v.arg(), false), Ok(v), "{v:?}");
        }
        assert_eq!(Variant::value_variants().len(), Variant::ALL.len());
    }
}
