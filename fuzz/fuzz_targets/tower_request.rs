//! A whole request through `AuthLayer`, from arbitrary bytes: credential extraction,
//! forwarded-header parsing and the decision never panic, and their answers keep
//! their promises. Input: the first line is the request target, each further line a
//! `name: value` header; a leading `!` on the target marks the connection as TLS.
#![no_main]

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use http_body_util::Full;
use libfuzzer_sys::fuzz_target;
use token_core::apikey::{ApiKeys, KeyFormat};
use token_core::backend::MemoryKeyStore;
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::{Keyring, Validation, Verifier};
use token_core::{Authenticator, Cidr};
use token_scopes::{Policy, RuleSpec};
use token_tower::{AuthLayer, PeerAddr, TlsConnection};
use tower::{Layer, Service, service_fn};

const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");

fn layer() -> &'static AuthLayer {
    static L: OnceLock<AuthLayer> = OnceLock::new();
    L.get_or_init(|| {
        let keys = ApiKeys::new(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap());
        let keyring = Keyring::new(SigningKey::hmac(Algorithm::HS256, &[3u8; 32]).unwrap());
        let verifier = Verifier::new(keyring, Validation::access_tokens("i", "a"));
        let policy = Policy::builder()
            .rule(RuleSpec::new("GET", "/health").public())
            .rule(RuleSpec::new("GET", "/api/{tenant}/x").require("read:x").tenant("tenant"))
            .build()
            .unwrap();
        AuthLayer::builder(Authenticator::new().api_keys(keys).jwt(verifier), policy)
            .trusted_proxies(trusted())
            .build()
    })
}

fn trusted() -> Vec<Cidr> {
    vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()]
}

fn poll_once<F: Future>(f: F) -> Option<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let Some(target) = lines.next() else { return };
    let (tls, target) = match target.strip_prefix(b"!") {
        Some(rest) => (true, rest),
        None => (false, target),
    };
    let Ok(target) = std::str::from_utf8(target) else { return };
    let Ok(uri) = target.parse::<http::Uri>() else { return };
    let mut headers = HeaderMap::new();
    for line in lines.take(64) {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }

    // Extraction: a credential found is non-empty, has no whitespace, and was sent.
    if let Ok(Some((credential, _))) = token_tower::fuzzing::extract(&headers, &API_KEY_HEADER) {
        assert!(!credential.is_empty());
        assert!(!credential.bytes().any(|b| b.is_ascii_whitespace()));
        assert!(headers.values().any(|v| v.as_bytes().windows(credential.len()).any(|w| w == credential.as_bytes())));
    }
    let _ = token_tower::fuzzing::query_carries_credential(&uri, |v| v.starts_with("tk_live_"));

    // Forwarded headers count only from trusted peers.
    for peer in ["203.0.113.9", "10.0.0.1", "::1"] {
        let peer: IpAddr = peer.parse().unwrap();
        let info = token_tower::fuzzing::resolve(Some(peer), tls, &headers, &trusted(), token_tower::ProxyHeaders::XForwarded);
        let is_trusted = trusted().iter().any(|c| c.contains(peer));
        if !is_trusted {
            assert_eq!((info.ip, info.tls), (Some(peer), tls));
        }
        assert!(info.tls || !tls, "a TLS connection stays TLS");
    }

    // The whole layer: answers without panicking, on the first poll (no I/O here).
    let mut request = Request::builder().uri(uri).body(Full::new(Bytes::new())).unwrap();
    *request.headers_mut() = headers;
    request
        .extensions_mut()
        .insert(PeerAddr(SocketAddr::from(([10, 0, 0, 1], 4000))));
    if tls {
        request.extensions_mut().insert(TlsConnection);
    }
    let mut service = layer().layer(service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
    }));
    if let Some(Ok(response)) = poll_once(service.call(request)) {
        let status = response.status().as_u16();
        assert!(matches!(status, 200 | 400 | 401 | 403 | 429 | 503), "{status}");
    }
});
