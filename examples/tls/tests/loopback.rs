//! The example over real loopback connections: a credential over TLS (the client
//! trusting the generated certificate) is accepted; the same credential to the same
//! service over plain HTTP is refused with `insecure_transport`.

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Request, StatusCode};
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use tls::{Options, Running};

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

struct Reply {
    status: StatusCode,
    content_type: Option<String>,
    body: String,
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tokenkit-tls-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn options(name: &str) -> Options {
    Options {
        listen: "127.0.0.1:0".parse().unwrap(),
        plain_listen: "127.0.0.1:0".parse().unwrap(),
        cert: None,
        key: None,
        names: vec!["localhost".into(), "127.0.0.1".into()],
        out: scratch(name),
    }
}

async fn start(name: &str) -> Running {
    tls::start(&options(name)).await.unwrap()
}

/// An HTTPS client trusting `roots` only (with the ring provider, as the server).
fn https_client(roots: RootCertStore) -> HttpsClient {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(connector)
}

fn trusting(pem: &str) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    roots
}

async fn get<C>(
    client: &Client<C, Empty<Bytes>>,
    url: &str,
    key: Option<&str>,
) -> Result<Reply, hyper_util::client::legacy::Error>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let mut b = Request::builder().uri(url);
    if let Some(k) = key {
        b = b.header("x-api-key", k);
    }
    let response = client.request(b.body(Empty::new()).unwrap()).await?;
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Ok(Reply {
        status: parts.status,
        content_type: parts
            .headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_over_tls_is_accepted() {
    let running = start("accepted").await;
    let client = https_client(trusting(&running.cert_pem));
    let key = running.api_key.expose_secret();
    let base = format!("https://127.0.0.1:{}", running.tls_addr.port());

    let hello = get(&client, &format!("{base}/hello"), Some(key))
        .await
        .unwrap();
    assert_eq!(hello.status, StatusCode::OK, "{}", hello.body);
    assert!(hello.body.starts_with("hello, "), "{}", hello.body);
    // By name too: the generated certificate is valid for localhost.
    let by_name = format!("https://localhost:{}/hello", running.tls_addr.port());
    if let Ok(r) = get(&client, &by_name, Some(key)).await {
        // (localhost may resolve to ::1 only, where nothing listens: then skip.)
        assert_eq!(r.status, StatusCode::OK);
    }
    let anonymous = get(&client, &format!("{base}/hello"), None).await.unwrap();
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    // The files the banner points at: the certificate, and the key with mode 0600.
    assert_eq!(
        std::fs::read_to_string(&running.cert_file).unwrap(),
        running.cert_pem
    );
    let mode = std::fs::metadata(&running.key_file)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&running.key_file).unwrap(), key);
    assert!(running.banner().contains("curl --cacert"));
    assert!(
        !running.banner().contains(key),
        "the banner holds no secret"
    );
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_trust_the_certificate_gets_no_connection() {
    let running = start("untrusted").await;
    let client = https_client(another_certificate());
    let url = format!("https://127.0.0.1:{}/hello", running.tls_addr.port());
    let refused = get(&client, &url, Some(running.api_key.expose_secret())).await;
    assert!(refused.is_err(), "a self-signed certificate is not trusted");
    running.stop();
}

/// Roots that trust another self-signed certificate for the same address.
fn another_certificate() -> RootCertStore {
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    trusting(&other.cert.pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_the_same_service_is_refused_with_the_documented_message() {
    let running = start("plain").await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let key = running.api_key.expose_secret();
    let base = format!("http://127.0.0.1:{}", running.plain_addr.port());
    let reply = get(&client, &format!("{base}/hello"), Some(key))
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(
        reply.content_type.as_deref(),
        Some("application/problem+json")
    );
    let problem: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(problem["code"], "insecure_transport");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("accepted only over HTTPS") && detail.contains("exposed"),
        "{detail}"
    );
    assert!(
        !reply.body.contains(key),
        "the refusal does not echo the key"
    );

    // Without a credential, public routes answer over plain HTTP.
    let health = get(&client, &format!("{base}/health"), None).await.unwrap();
    assert_eq!(
        (health.status, health.body.as_str()),
        (StatusCode::OK, "ok\n")
    );
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_and_key_from_files_are_served() {
    let mut options = options("files");
    let given = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (options.out.join("given.crt"), options.out.join("given.key"));
    std::fs::write(&cert, given.cert.pem()).unwrap();
    std::fs::write(&key, given.signing_key.serialize_pem()).unwrap();
    (options.cert, options.key) = (Some(cert), Some(key.clone()));
    let running = tls::start(&options).await.unwrap();
    assert_eq!(running.cert_pem, given.cert.pem());
    let client = https_client(trusting(&given.cert.pem()));
    let url = format!("https://127.0.0.1:{}/hello", running.tls_addr.port());
    let hello = get(&client, &url, Some(running.api_key.expose_secret()))
        .await
        .unwrap();
    assert_eq!(hello.status, StatusCode::OK);
    running.stop();

    // A key file without a key is refused without echoing its content.
    std::fs::write(&key, "secret-looking garbage").unwrap();
    let e = tls::start(&options).await.unwrap_err();
    assert!(e.contains("--key") && !e.contains("garbage"), "{e}");
}
