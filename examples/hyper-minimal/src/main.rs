//! `AuthLayer` on a bare hyper 1 server (no axum).
//!
//! ```text
//! cargo run -p hyper-minimal
//! curl -s localhost:3001/hello -H "X-API-Key: $(cat hyper-minimal.key)"
//! ```
//!
//! It mints one API key with `read:hello` and prints only its display hint; the key
//! itself goes to `hyper-minimal.key` (mode 0600).

use std::convert::Infallible;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use token_core::apikey::{ApiKeys, KeyFormat, NewKey};
use token_core::backend::MemoryKeyStore;
use token_core::{Authenticator, Principal};
use token_scopes::{Policy, RuleSpec};
use token_tower::{AuthLayer, PeerAddr};
use tower::{Layer, ServiceExt, service_fn};

async fn hello<B>(req: Request<B>) -> Result<Response<Full<Bytes>>, Infallible> {
    let who = req
        .extensions()
        .get::<Principal>()
        .map_or("nobody", Principal::id);
    Ok(Response::new(Full::new(Bytes::from(format!(
        "hello, {who}\n"
    )))))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys = ApiKeys::new(MemoryKeyStore::new(), KeyFormat::new("tk_live")?);
    let (secret, record) = keys
        .mint(NewKey::new("demo", "read:hello".parse()?))
        .await?;
    let _ = std::fs::remove_file("hyper-minimal.key");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open("hyper-minimal.key")?
        .write_all(secret.expose_secret().as_bytes())?;
    let policy = Policy::builder()
        .rule(RuleSpec::new("GET", "/hello").require("read:hello"))
        .build()?;
    let layer = AuthLayer::new(Authenticator::new().api_keys(keys), policy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    println!(
        "listening on http://127.0.0.1:3001; key {} in hyper-minimal.key",
        record.hint
    );
    loop {
        let (stream, peer) = listener.accept().await?;
        // The layer needs the peer address (for loopback and network checks).
        let service = layer
            .layer(service_fn(hello))
            .map_request(move |mut req: Request<_>| {
                req.extensions_mut().insert(PeerAddr(peer));
                req
            });
        tokio::spawn(async move {
            let io = TokioIo::new(stream);
            let _ = http1::Builder::new()
                .serve_connection(io, TowerToHyperService::new(service))
                .await;
        });
    }
}
