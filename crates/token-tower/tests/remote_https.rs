//! The JWKS fetched over HTTPS from a local TLS server whose certificate a test CA
//! (made here with rcgen) issued: a token verifies with the fetched keys; an untrusted
//! CA and a certificate for another host are refused; `http://` needs the dangerous
//! option.
#![cfg(all(feature = "https", feature = "axum"))]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use common::{NOW, answer, echo, req};
use http::StatusCode;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::{AccessTokenRequest, Keyring, Minter, Validation, Verifier};
use token_core::{Authenticator, ManualClock};
use token_scopes::{Policy, RuleSpec};
use token_tower::AuthLayer;
use token_tower::remote::backend::FetchError;
use token_tower::remote::{HttpFetcher, RemoteError, RemoteJwks, RemoteJwksBuilder, TrustRoots};
use tower::{Layer, ServiceExt, service_fn};

const AUD: &str = "api";

/// A certificate authority that exists only in this test.
struct TestCa(CertifiedIssuer<'static, KeyPair>);

impl TestCa {
    fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        TestCa(CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap())
    }

    fn roots(&self) -> TrustRoots {
        TrustRoots::from_pem(self.0.pem().as_bytes()).unwrap()
    }

    /// A server certificate for `names` (host names or IP addresses).
    fn server_cert(
        &self,
        names: &[&str],
    ) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.0)
            .unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (vec![cert.der().clone()], key)
    }
}

#[derive(Clone)]
struct Docs {
    discovery: Arc<Mutex<String>>,
    jwks: Arc<Mutex<String>>,
}

/// An identity provider on 127.0.0.1 that speaks TLS only, with `cert`.
struct Idp {
    issuer: String,
    docs: Docs,
    keyring: Keyring,
}

impl Idp {
    async fn start(cert: (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)) -> Idp {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(cert.0, cert.1)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let issuer = format!("https://{addr}");
        let keyring = Keyring::new(SigningKey::generate(Algorithm::ES256).unwrap());
        let docs = Docs {
            discovery: Arc::new(Mutex::new(
                serde_json::json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/jwks") })
                    .to_string(),
            )),
            jwks: Arc::new(Mutex::new(
                serde_json::to_string(&keyring.public_jwks()).unwrap(),
            )),
        };
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(|State(d): State<Docs>| async move { d.discovery.lock().unwrap().clone() }),
            )
            .route(
                "/jwks",
                get(|State(d): State<Docs>| async move {
                    d.jwks.lock().unwrap().clone().into_response()
                }),
            )
            .with_state(docs.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, app) = (acceptor.clone(), app.clone());
                tokio::spawn(async move {
                    // A refused handshake ends here: the client saw why.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                        .await;
                });
            }
        });
        Idp {
            issuer,
            docs,
            keyring,
        }
    }

    fn remote(&self, roots: &TrustRoots, clock: &ManualClock) -> RemoteJwksBuilder {
        RemoteJwks::builder(&self.issuer)
            .fetcher(HttpFetcher::with_roots(roots))
            .clock(Arc::new(clock.clone()))
    }
}

fn tls_refused(r: Result<impl std::fmt::Debug, RemoteError>) -> String {
    match r {
        Err(RemoteError::Fetch(FetchError::Tls(why))) => why,
        other => panic!("expected a TLS refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_verifies_with_keys_discovered_and_fetched_over_https() {
    let ca = TestCa::new("tokenkit test CA");
    let idp = Idp::start(ca.server_cert(&["127.0.0.1"])).await;
    let clock = ManualClock::new(NOW);
    let remote = idp.remote(&ca.roots(), &clock).build().unwrap();
    assert_eq!(remote.refresh().await.unwrap().loaded.len(), 1);

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
    let layer: AuthLayer = AuthLayer::builder(Authenticator::new().jwt(verifier), policy)
        .remote_jwks(remote.clone())
        .build();
    let token = Minter::new(idp.keyring.clone(), &idp.issuer)
        .with_clock(Arc::new(clock.clone()))
        .mint(&AccessTokenRequest::new("ext-user", AUD).scope("read:reports".parse().unwrap()))
        .unwrap();
    let a = answer(
        layer
            .layer(service_fn(echo))
            .oneshot(req("GET", "/api/reports").bearer(&token).build())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "ext-user"));

    // A known JWKS URL, without discovery, over HTTPS too.
    let direct = RemoteJwks::builder("https://issuer.example")
        .jwks_uri(&format!("{}/jwks", idp.issuer))
        .fetcher(HttpFetcher::with_roots(&ca.roots()))
        .build()
        .unwrap();
    assert_eq!(direct.refresh().await.unwrap().loaded.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_an_untrusted_ca_is_refused() {
    let ca = TestCa::new("the server's CA");
    let idp = Idp::start(ca.server_cert(&["127.0.0.1"])).await;
    let clock = ManualClock::new(NOW);
    let stranger = TestCa::new("another CA");
    let remote = idp.remote(&stranger.roots(), &clock).build().unwrap();
    let why = tls_refused(remote.refresh().await);
    assert!(why.contains("UnknownIssuer"), "{why}");
    // The web PKI roots (the default) do not know the test CA either.
    let default = RemoteJwks::discover(&idp.issuer).unwrap();
    tls_refused(default.refresh().await);
    assert_eq!(
        remote.keyring().load().verifying_keys().count(),
        0,
        "no key was loaded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_host_name_is_refused() {
    let ca = TestCa::new("tokenkit test CA");
    let idp = Idp::start(ca.server_cert(&["idp.example", "127.0.0.2"])).await;
    let clock = ManualClock::new(NOW);
    let remote = idp.remote(&ca.roots(), &clock).build().unwrap();
    let why = tls_refused(remote.refresh().await);
    assert!(why.contains("not valid for name"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_refused_unless_dangerously_allowed() {
    let not_https = |r: Result<RemoteJwks, RemoteError>| match r {
        Err(RemoteError::NotHttps(which)) => which,
        other => panic!("expected NotHttps, got {other:?}"),
    };
    assert_eq!(
        not_https(RemoteJwks::discover("http://127.0.0.1:9/realm")),
        "issuer's discovery URL"
    );
    assert_eq!(
        not_https(RemoteJwks::from_jwks_uri(
            "https://idp.example",
            "http://idp.example/jwks"
        )),
        "JWKS URL"
    );
    assert_eq!(
        not_https(RemoteJwks::with_fetcher(
            HttpFetcher::new(),
            "http://idp.example",
            None
        )),
        "issuer's discovery URL"
    );
    assert!(
        RemoteJwks::builder("http://127.0.0.1:9/realm")
            .dangerous_allow_http()
            .build()
            .is_ok()
    );
    assert!(matches!(
        RemoteJwks::discover("ftp://x"),
        Err(RemoteError::BadIssuer)
    ));

    // An https issuer's discovery document cannot send the keys over http, even with
    // plain HTTP allowed.
    let ca = TestCa::new("tokenkit test CA");
    let idp = Idp::start(ca.server_cert(&["127.0.0.1"])).await;
    *idp.docs.discovery.lock().unwrap() =
        serde_json::json!({ "issuer": idp.issuer, "jwks_uri": "http://127.0.0.1:9/jwks" })
            .to_string();
    let clock = ManualClock::new(NOW);
    let remote = idp
        .remote(&ca.roots(), &clock)
        .dangerous_allow_http()
        .build()
        .unwrap();
    assert!(matches!(
        remote.refresh().await,
        Err(RemoteError::NotHttps(
            "JWKS URL named by the discovery document"
        ))
    ));
}
