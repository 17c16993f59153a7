//! `AuthLayer` behind rustls, with no proxy in front: the TLS acceptor inserts the
//! [`TlsConnection`] marker into every request of a TLS connection, so credentials
//! are accepted over HTTPS and refused over plain HTTP.
//!
//! ```text
//! cargo run -p tls
//! curl --cacert tls-example-cert.pem https://localhost:3443/hello \
//!      -H "X-API-Key: $(cat tls-example-api-key)"                    # 200 hello, tls-demo
//! curl http://localhost:3080/hello -H "X-API-Key: $(cat tls-example-api-key)"
//!                                                                     # 400 insecure_transport
//! ```
//!
//! At start it generates a self-signed certificate for `localhost`, `127.0.0.1` and
//! `::1` (or takes `--cert FILE --key FILE`), writes the certificate to
//! `tls-example-cert.pem` for clients to trust, mints an API key with `read:hello`
//! into `tls-example-api-key` (mode 0600), and prints the curl commands above.
//!
//! The same service listens on HTTPS (`--listen`) and on plain HTTP
//! (`--plain-listen`): over plain HTTP a credential is refused with 400
//! `insecure_transport` ("credentials are accepted only over HTTPS; ... treat the
//! credential as exposed"), even from loopback, because the layer is built with
//! `require_tls_on_loopback()`; public routes (`/health`) still answer there.

mod cert;
mod options;

use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use hyper::Request;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use token_core::Authenticator;
use token_core::apikey::{ApiKeySecret, ApiKeys, KeyFormat, NewKey};
use token_core::backend::MemoryKeyStore;
use token_scopes::{Policy, RuleSpec};
use token_tower::{AuthLayer, Authenticated, PeerAddr, TlsConnection};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

pub use cert::ServerCert;
pub use options::Options;

/// The file the certificate is written to, in `--out`.
pub const CERT_FILE: &str = "tls-example-cert.pem";
/// The file the API key is written to (mode 0600), in `--out`.
pub const KEY_FILE: &str = "tls-example-api-key";

/// A running example.
#[derive(Debug)]
pub struct Running {
    /// The HTTPS address.
    pub tls_addr: SocketAddr,
    /// The plain-HTTP address.
    pub plain_addr: SocketAddr,
    /// The certificate chain clients should trust, as PEM.
    pub cert_pem: String,
    /// Where the certificate was written.
    pub cert_file: PathBuf,
    /// Where the API key was written.
    pub key_file: PathBuf,
    /// The API key (`read:hello`).
    pub api_key: ApiKeySecret,
    servers: Vec<JoinHandle<()>>,
}

impl Running {
    /// What to print at start: where it listens and how to curl it.
    pub fn banner(&self) -> String {
        let (cert, key) = (self.cert_file.display(), self.key_file.display());
        let https = self.tls_addr.port();
        let http = self.plain_addr.port();
        format!(
            "listening on https://localhost:{https} (TLS) and http://localhost:{http} (plain)\n\
             certificate in {cert}, API key (read:hello) in {key}\n\n\
             over TLS, accepted:\n  \
             curl --cacert {cert} https://localhost:{https}/hello -H \"X-API-Key: $(cat {key})\"\n\
             over plain HTTP, refused (400 insecure_transport):\n  \
             curl -i http://localhost:{http}/hello -H \"X-API-Key: $(cat {key})\""
        )
    }

    /// Stops accepting connections.
    pub fn stop(self) {
        for server in self.servers {
            server.abort();
        }
    }
}

/// The service: `GET /hello` needs `read:hello`, `GET /health` is public, and the
/// layer takes credentials only over TLS, loopback included.
pub fn app(keys: ApiKeys<MemoryKeyStore>) -> Result<Router, String> {
    let policy = Policy::builder()
        .rule(RuleSpec::new("GET", "/health").public())
        .rule(RuleSpec::new("GET", "/hello").require("read:hello"))
        .build()
        .map_err(|e| e.to_string())?;
    let layer = AuthLayer::builder(Authenticator::new().api_keys(keys), policy)
        .realm("tls-example")
        .require_tls_on_loopback()
        .build();
    Ok(Router::new()
        .route("/health", get(|| async { "ok\n" }))
        .route(
            "/hello",
            get(|who: Authenticated| async move { format!("hello, {}\n", who.id()) }),
        )
        .layer(layer))
}

/// Starts both listeners.
pub async fn start(options: &Options) -> Result<Running, String> {
    let cert = match (&options.cert, &options.key) {
        (Some(c), Some(k)) => ServerCert::from_files(c, k)?,
        _ => ServerCert::self_signed(&options.names)?,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(cert.chain.clone(), cert.key.clone_key())
        .map_err(|e| format!("the certificate and key do not fit: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));

    let keys = ApiKeys::new(
        MemoryKeyStore::new(),
        KeyFormat::new("tk_live").map_err(|e| e.to_string())?,
    );
    let (api_key, _record) = keys
        .mint(NewKey::new(
            "tls-demo",
            "read:hello".parse().map_err(|e| format!("{e}"))?,
        ))
        .await
        .map_err(|e| e.to_string())?;
    let cert_file = options.out.join(CERT_FILE);
    std::fs::write(&cert_file, &cert.chain_pem)
        .map_err(|e| format!("{}: {e}", cert_file.display()))?;
    let key_file = options.out.join(KEY_FILE);
    write_private(&key_file, api_key.expose_secret().as_bytes())?;

    let app = app(keys)?;
    let bind = |addr: SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))
    };
    let tls_listener = bind(options.listen).await?;
    let plain_listener = bind(options.plain_listen).await?;
    let local = |l: &TcpListener| l.local_addr().map_err(|e| e.to_string());
    let (tls_addr, plain_addr) = (local(&tls_listener)?, local(&plain_listener)?);
    let servers = vec![
        tokio::spawn(accept(tls_listener, Some(acceptor), app.clone())),
        tokio::spawn(accept(plain_listener, None, app)),
    ];
    Ok(Running {
        tls_addr,
        plain_addr,
        cert_pem: cert.chain_pem,
        cert_file,
        key_file,
        api_key,
        servers,
    })
}

/// Accepts connections for ever; with an acceptor, each completes a TLS handshake
/// first and its requests carry [`TlsConnection`].
async fn accept(listener: TcpListener, tls: Option<TlsAcceptor>, app: Router) {
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            continue;
        };
        let (tls, app) = (tls.clone(), app.clone());
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => {
                    // A failed handshake (an untrusting client, a port scan) ends here.
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        serve(TokioIo::new(stream), peer, true, app).await;
                    }
                }
                None => serve(TokioIo::new(tcp), peer, false, app).await,
            }
        });
    }
}

/// Serves one connection: every request learns the peer's address and, only when
/// this process terminated TLS on the connection, the TLS marker.
async fn serve<I>(io: I, peer: SocketAddr, tls: bool, app: Router)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = app.map_request(move |mut req: Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(PeerAddr(peer));
        if tls {
            req.extensions_mut().insert(TlsConnection);
        }
        req
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, TowerToHyperService::new(service))
        .await;
}

/// Writes a secret to a new file only its owner can read.
fn write_private(path: &std::path::Path, secret: &[u8]) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(fail(e)),
        _ => {}
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(secret))
        .map_err(fail)
}
