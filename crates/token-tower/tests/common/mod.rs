//! A small world for the layer's tests: keys, tokens, a policy, and a request builder.
#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use token_core::apikey::{ApiKeySecret, ApiKeys, KeyFormat, KeyRecord, NewKey};
use token_core::backend::MemoryKeyStore;
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::{AccessTokenRequest, Keyring, Minter, Validation, Verifier};
use token_core::{Authenticator, ManualClock, Principal};
use token_scopes::{Policy, RuleSpec};

#[cfg(feature = "openapi")]
pub mod openapi;

pub const NOW: i64 = 1_800_000_000;
pub const ISS: &str = "https://auth.test";
pub const AUD: &str = "reports-api";

pub struct World {
    pub clock: ManualClock,
    pub keys: ApiKeys<MemoryKeyStore>,
    pub minter: Minter,
    pub verifier: Verifier,
    pub keyring: Keyring,
}

impl World {
    pub fn new() -> World {
        let clock = ManualClock::new(NOW);
        let keys = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
            .clock(Arc::new(clock.clone()))
            .build();
        let keyring = Keyring::new(SigningKey::hmac(Algorithm::HS256, &[7; 32]).unwrap());
        let minter = Minter::new(keyring.clone(), ISS).with_clock(Arc::new(clock.clone()));
        let verifier = Verifier::new(keyring.clone(), Validation::access_tokens(ISS, AUD))
            .with_clock(Arc::new(clock.clone()));
        World {
            clock,
            keys,
            minter,
            verifier,
            keyring,
        }
    }

    pub fn authenticator(&self) -> Authenticator<MemoryKeyStore> {
        Authenticator::new()
            .api_keys(self.keys.clone())
            .jwt(self.verifier.clone())
    }

    pub fn token(&self, scope: &str, tenant: Option<&str>) -> String {
        let mut req = AccessTokenRequest::new("user-1", AUD).scope(scope.parse().unwrap());
        if let Some(t) = tenant {
            req = req.tenant(t);
        }
        self.minter.mint(&req).unwrap()
    }

    pub async fn key(&self, spec: NewKey) -> (ApiKeySecret, KeyRecord) {
        self.keys.mint(spec).await.unwrap()
    }
}

/// The quickstart's policy.
pub fn policy() -> Policy {
    Policy::builder()
        .rule(RuleSpec::new("GET", "/health").public())
        .rule(
            RuleSpec::new("GET", "/api/reports")
                .require("read:reports")
                .rate_class("reads"),
        )
        .rule(RuleSpec::new("POST", "/api/reports").require("write:reports"))
        .rule(
            RuleSpec::new("GET", "/api/tenants/{tenant}/usage")
                .require("read:usage")
                .tenant("tenant"),
        )
        .build()
        .unwrap()
}

/// Answers 200 with the principal's id (or `anonymous`).
#[allow(clippy::needless_pass_by_value)] // a service function owns its request
pub fn echo<B>(req: Request<B>) -> std::future::Ready<Result<Response<Full<Bytes>>, Infallible>> {
    let who = req
        .extensions()
        .get::<Principal>()
        .map_or("anonymous".to_owned(), |p| p.id().to_owned());
    std::future::ready(Ok(Response::new(Full::new(Bytes::from(who)))))
}

pub struct Req {
    builder: http::request::Builder,
    peer: Option<SocketAddr>,
    tls: bool,
}

pub fn req(method: &str, uri: &str) -> Req {
    Req {
        builder: Request::builder().method(method).uri(uri),
        peer: Some("127.0.0.1:50000".parse().unwrap()),
        tls: false,
    }
}

impl Req {
    pub fn header(mut self, k: &str, v: &str) -> Req {
        self.builder = self.builder.header(k, v);
        self
    }
    /// A header whose value is raw bytes (not necessarily visible ASCII).
    pub fn header_bytes(mut self, k: &str, v: &[u8]) -> Req {
        self.builder = self
            .builder
            .header(k, http::HeaderValue::from_bytes(v).unwrap());
        self
    }
    pub fn bearer(self, token: &str) -> Req {
        self.header("authorization", &format!("Bearer {token}"))
    }
    pub fn api_key(self, key: &str) -> Req {
        self.header("x-api-key", key)
    }
    pub fn peer(mut self, addr: &str) -> Req {
        self.peer = Some(addr.parse().unwrap());
        self
    }
    pub fn no_peer(mut self) -> Req {
        self.peer = None;
        self
    }
    pub fn tls(mut self) -> Req {
        self.tls = true;
        self
    }
    pub fn build(self) -> Request<Full<Bytes>> {
        self.body("")
    }
    pub fn body(self, body: &str) -> Request<Full<Bytes>> {
        let mut r = self
            .builder
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        if let Some(p) = self.peer {
            r.extensions_mut().insert(token_tower::PeerAddr(p));
        }
        if self.tls {
            r.extensions_mut().insert(token_tower::TlsConnection);
        }
        r
    }
}

/// Status, headers and body text of a response.
pub struct Answer {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
    pub fn problem(&self) -> serde_json::Value {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        serde_json::from_str(&self.body).unwrap()
    }
    pub fn code(&self) -> String {
        self.problem()["code"].as_str().unwrap().to_owned()
    }
}

pub async fn answer<B>(response: Response<B>) -> Answer
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}
