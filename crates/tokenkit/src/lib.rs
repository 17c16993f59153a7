//! tokenkit: API keys shown once and stored hashed, short-lived JWT access tokens,
//! least-privilege scopes, per-key rate limits and a tamper-evident audit trail,
//! in-process, behind one tower layer. This crate is the one to depend on: it
//! re-exports a curated surface of the workspace's libraries.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::get};
//! use tokenkit::prelude::*;
//! # use tower::ServiceExt;
//!
//! let keys = ApiKeys::in_memory("tk_live")?;
//! let policy = Policy::builder()
//!     .rule(RuleSpec::new("GET", "/health").public())
//!     .rule(RuleSpec::new("GET", "/api/reports").require("read:reports"))
//!     .build()?; // anything else is refused
//! let app: Router = Router::new()
//!     .route("/health", get(|| async { "ok" }))
//!     .route("/api/reports", get(|who: Authenticated| async move { format!("hi {}", who.id()) }))
//!     .layer(AuthLayer::new(keys.clone(), policy));
//!
//! let (secret, _) = keys.mint(NewKey::new("demo", "read:reports".parse()?)).await?;
//! let mut request = http::Request::get("/api/reports")
//!     .header("x-api-key", secret.expose_secret())
//!     .body(axum::body::Body::empty())?;
//! // What `into_make_service_with_connect_info::<SocketAddr>()` does for a real server.
//! request.extensions_mut().insert(tokenkit::PeerAddr("127.0.0.1:50000".parse()?));
//! assert_eq!(app.oneshot(request).await?.status(), 200);
//! # Ok(()) }
//! ```
//!
//! # What is where
//!
//! | module | crate | for |
//! |---|---|---|
//! | the root, [`prelude`] | token-tower, token-core, token-scopes | the layer, the extractor, the key service, the policy |
//! | [`apikey`], [`jwt`], [`jose`], [`client`], [`refresh`] | token-core | credentials: API keys, JWT keyrings, minting and verification, keys and JWKS, OAuth clients, refresh tokens |
//! | [`backend`] | token-core | the store traits and their in-memory implementations, for store implementers |
//! | [`scopes`] | token-scopes | scopes, requirements, policies, least-privilege analysis |
//! | [`ratelimit`] | token-ratelimit | quotas and the layered limiter |
//! | [`audit`] | token-audit | the audit pipeline, sinks, chain verification, anomalies, roll-ups |
//! | [`routes`] (feature `axum`) | token-tower | JWKS, OAuth token/introspect/revoke, key administration |
//! | [`remote`] (feature `remote-jwks`) | token-tower | the keys of an external OIDC provider |
//!
//! # Features
//!
//! - `axum` (default): the [`Authenticated`] extractor and the [`routes`]. Without it
//!   the layer is plain tower over `http` types and serves a bare hyper server
//!   (`default-features = false`; see `examples/hyper-minimal`).
//! - `remote-jwks`, `https`: tokens from an external OIDC provider.
//! - `openapi`: an OpenAPI 3.1 document of the [`routes`]
//!   (`routes::openapi_document`) and a router that serves it at a path you choose
//!   (`routes::openapi_router`); it turns on `axum`.
//!
//! # The peer address
//!
//! The layer accepts credentials over plain HTTP only from loopback clients, so it
//! needs the client's address: serve with
//! `app.into_make_service_with_connect_info::<SocketAddr>()`, insert [`PeerAddr`] on a
//! bare hyper server, or call [`AuthLayerBuilder::default_peer`] for a listener only
//! local clients reach. Without one, every credential is refused (400
//! `insecure_transport`) with a message that says so.

pub use token_tower::{
    AuthLayer, AuthLayerBuilder, ClientInfo, PeerAddr, ProxyHeaders, Refusal, RenderedBody,
    RequireScopeLayer, TlsConnection,
};
#[cfg(feature = "axum")]
pub use token_tower::{Authenticated, routes};

#[cfg(feature = "remote-jwks")]
pub use token_tower::remote;

pub use token_core::apikey::{ApiKeys, NewKey};
pub use token_core::{
    AuthError, Authenticator, Cidr, Clock, ManualClock, Principal, SystemClock, apikey, backend,
    client, jose, jwt, refresh,
};
pub use token_scopes::{Policy, RuleSpec, Scope, ScopeSet};

/// Scopes, requirements, route policies and least-privilege analysis (token-scopes).
pub mod scopes {
    pub use token_scopes::*;
}

/// Quotas and the layered rate limiter (token-ratelimit).
pub mod ratelimit {
    pub use token_ratelimit::*;
}

/// The audit pipeline, sinks, chain verification, anomaly detection, roll-ups
/// (token-audit).
pub mod audit {
    pub use token_audit::*;
}

/// The names most services use: `use tokenkit::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "axum")]
    pub use token_tower::Authenticated;
    pub use token_tower::{AuthLayer, RequireScopeLayer};

    pub use token_core::apikey::{ApiKeys, NewKey};
    pub use token_core::{Authenticator, Principal};
    pub use token_scopes::{Policy, RuleSpec, Scope, ScopeSet};
}

/// The README's code blocks, compiled as documentation tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
