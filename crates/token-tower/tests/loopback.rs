//! The layer on a real hyper 1 server over loopback, as `examples/hyper-minimal`
//! runs it: the peer address comes from the connection.

mod common;

use std::net::SocketAddr;

use bytes::Bytes;
use common::{World, echo, policy};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use token_tower::{AuthLayer, PeerAddr};
use tower::{Layer, ServiceExt, service_fn};

async fn serve(layer: AuthLayer) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                return;
            };
            let service = layer.layer(service_fn(echo)).map_request(
                move |mut req: Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(PeerAddr(peer));
                    req
                },
            );
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                    .await;
            });
        }
    });
    addr
}

async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut b = Request::get(format!("http://{addr}{path}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let r = client
        .request(b.body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    let status = r.status();
    let body = r.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_hyper_server_with_the_layer() {
    let w = World::new();
    let token = w.token("read:reports", None);
    let addr = serve(AuthLayer::new(w.authenticator(), policy())).await;
    let bearer = format!("Bearer {token}");
    assert_eq!(
        get(addr, "/api/reports", &[("authorization", &bearer)]).await,
        (StatusCode::OK, "user-1".into())
    );
    assert_eq!(
        get(addr, "/api/reports", &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(addr, "/nope", &[("authorization", &bearer)]).await.0,
        StatusCode::FORBIDDEN
    );
    // From loopback, plain HTTP is allowed; a forwarded header from an untrusted peer
    // (loopback is not a configured proxy here) cannot make the client remote.
    let spoof = get(
        addr,
        "/api/reports",
        &[
            ("authorization", &bearer),
            ("x-forwarded-for", "198.51.100.1"),
        ],
    )
    .await;
    assert_eq!(spoof.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_local_proxy_forwarding_plain_http_is_refused() {
    let w = World::new();
    let token = w.token("read:reports", None);
    let layer = AuthLayer::builder(w.authenticator(), policy())
        .trusted_proxies(vec!["127.0.0.0/8".parse().unwrap()])
        .build();
    let addr = serve(layer).await;
    let bearer = format!("Bearer {token}");
    let (status, body) = get(
        addr,
        "/api/reports",
        &[
            ("authorization", &bearer),
            ("x-forwarded-for", "198.51.100.1"),
            ("x-forwarded-proto", "http"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("insecure_transport"));
    let (status, _) = get(
        addr,
        "/api/reports",
        &[
            ("authorization", &bearer),
            ("x-forwarded-for", "198.51.100.1"),
            ("x-forwarded-proto", "https"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}
