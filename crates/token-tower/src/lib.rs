//! token-tower: one tower layer that gives an axum or hyper service what an API
//! gateway would: authentication (API keys and JWTs), least-privilege authorization
//! against a fail-closed route policy, per-key rate limits and an audit trail, plus the
//! OAuth, JWKS and key-administration routes a developer portal would serve.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::get};
//! use token_core::{Authenticator, apikey::{ApiKeys, NewKey}};
//! use token_scopes::{Policy, RuleSpec};
//! use token_tower::{AuthLayer, Authenticated};
//! # use tower::ServiceExt;
//!
//! let keys = ApiKeys::in_memory("tk_live")?;
//! let policy = Policy::builder()
//!     .rule(RuleSpec::new("GET", "/health").public())
//!     .rule(RuleSpec::new("GET", "/api/reports").require("read:reports"))
//!     .build()?;
//! let app = Router::new()
//!     .route("/health", get(|| async { "ok" }))
//!     .route("/api/reports", get(|who: Authenticated| async move { format!("hello {}", who.id()) }))
//!     .layer(AuthLayer::new(Authenticator::new().api_keys(keys.clone()), policy));
//! // Serve with `axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())`.
//!
//! let (secret, record) = keys.mint(NewKey::new("demo", "read:reports".parse()?)).await?;
//! # let mut request = http::Request::get("/api/reports")
//! #     .header("x-api-key", secret.expose_secret())
//! #     .body(axum::body::Body::empty())?;
//! # request.extensions_mut().insert(token_tower::PeerAddr("127.0.0.1:1".parse()?));
//! let response = app.clone().oneshot(request).await?;
//! assert_eq!(response.status(), 200);
//! # let anonymous = http::Request::get("/api/reports").body(axum::body::Body::empty())?;
//! let refused = app.oneshot(anonymous).await?;
//! assert_eq!(refused.status(), 401); // with `WWW-Authenticate: Bearer realm="api"`
//! # let _ = record;
//! # Ok(()) }
//! ```
//!
//! One request, in order: the credential is extracted (`Authorization: Bearer` or
//! `X-API-Key`; never the query string, never two), the client address resolved
//! (forwarded headers only from [trusted proxies](AuthLayerBuilder::trusted_proxies)),
//! credentials refused unless they arrived over TLS (loopback excepted), the
//! credential authenticated ([`token_core::Authenticator`]), the principal's networks
//! checked, the [`token_scopes::Policy`] asked (no rule: deny), the
//! [rate limits](AuthLayerBuilder::limiter) charged, and the [`token_core::Principal`]
//! handed to the service in the request's extensions. One audit event per decision is
//! [recorded](AuthLayerBuilder::auditor) after the response. Refusals are RFC 6750
//! challenges with RFC 9457 problem bodies (one typed [`Refusal`]); `docs/tower.md` lists
//! every status, header and reason code.
//!
//! # Features
//!
//! - `axum` (default): the [`routes`] (JWKS, `/oauth/token`, `/oauth/introspect`,
//!   `/oauth/revoke`, `/admin/keys`) and the [`Authenticated`] extractor.
//! - `remote-jwks`: `remote::RemoteJwks`, tokens from an external OIDC provider with
//!   a cached, refreshed JWKS. Off by default: it brings an HTTP client stack (hyper's
//!   client, tokio's timers) that a service verifying only its own tokens does not need.
//! - `https`: `remote-jwks` over `https://` (rustls on *ring*: no C toolchain, no
//!   OpenSSL, no aws-lc), trusting the web PKI roots compiled in from `webpki-roots` or
//!   roots you give it (`remote::TrustRoots`). Enable `https` for a real provider (it
//!   turns on `remote-jwks`); `remote-jwks` alone speaks plain HTTP only, for local
//!   providers.
//! - `native-roots`: `remote::TrustRoots::platform`, the operating system's store.
//!
//! The layer itself needs neither: it is plain tower over `http` types and works on a
//! bare hyper server (`examples/hyper-minimal`).

mod auth;
#[cfg(feature = "axum")]
mod authenticated;
mod body;
#[cfg(feature = "remote-jwks")]
pub mod remote;
mod require_scope;
#[cfg(feature = "axum")]
pub mod routes;

pub use auth::{
    AuthLayer, AuthLayerBuilder, AuthService, ClientInfo, ExtractError, InsecureTransport,
    PeerAddr, ProxyHeaders, Refusal, RenderedBody, ResponseFuture, TlsConnection, UnavailableStore,
};

/// Not an API: the request-parsing steps the fuzz targets (`fuzz/`) drive directly,
/// behind the `fuzzing` feature. They may change in any release.
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    pub use crate::auth::{CredentialSource, extract, query_carries_credential, resolve};
}
#[cfg(feature = "axum")]
pub use authenticated::{Authenticated, MissingPrincipal};
pub use body::AuthBody;
pub use require_scope::{RequireScope, RequireScopeFuture, RequireScopeLayer};
