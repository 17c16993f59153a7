//! [`AuthLayer`] and its pipeline, one file per step in the order a request meets
//! them:
//!
//! | step | file |
//! |---|---|
//! | find the one credential | `extract.rs` |
//! | resolve the client address and transport | `client.rs` |
//! | authenticate, check networks, take a metered key's use | `authenticate.rs` |
//! | ask the route policy | `authorize.rs` |
//! | charge the rate limits | `limit.rs` |
//! | render refusals, add the rate-limit fields | `respond.rs` |
//! | record one audit event | `audit.rs` |
//!
//! `pipeline.rs` strings the steps together; `refusal.rs` is the one typed "no";
//! `layer.rs`, `service.rs` and `future.rs` are the tower plumbing.

mod audit;
mod authenticate;
mod authorize;
pub(crate) mod client;
pub(crate) mod extract;
mod future;
pub(crate) mod layer;
mod limit;
mod pipeline;
mod rate_headers;
pub(crate) mod refusal;
pub(crate) mod respond;
mod service;

#[cfg(feature = "fuzzing")]
pub use client::resolve;
pub use client::{ClientInfo, PeerAddr, ProxyHeaders, TlsConnection};
pub use extract::ExtractError;
#[cfg(feature = "fuzzing")]
pub use extract::{CredentialSource, extract, query_carries_credential};
pub use future::ResponseFuture;
pub use layer::{AuthLayer, AuthLayerBuilder};
pub use refusal::{InsecureTransport, Refusal, UnavailableStore};
pub use respond::RenderedBody;
pub use service::AuthService;
