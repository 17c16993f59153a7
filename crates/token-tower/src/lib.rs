//! token-tower: one tower layer for axum and hyper.
//!
//! (Docs are being written.)

mod audit;
mod body;
mod credential;
mod decide;
#[cfg(feature = "axum")]
mod extract;
mod forwarded;
mod future;
mod layer;
mod rejection;
#[cfg(feature = "remote-jwks")]
pub mod remote;
mod require_scope;
mod respond;
#[cfg(feature = "axum")]
pub mod routes;
mod service;

pub use body::AuthBody;
pub use credential::{CredentialSource, ExtractError, extract, query_carries_credential};
#[cfg(feature = "axum")]
pub use extract::{Authenticated, MissingPrincipal};
pub use forwarded::{ClientInfo, MAX_FORWARDED_HOPS, PeerAddr, TlsConnection, resolve};
pub use future::ResponseFuture;
pub use layer::{AuthLayer, AuthLayerBuilder, DEFAULT_API_KEY_HEADER, DEFAULT_PROBLEM_TYPE_BASE};
pub use rejection::{Rejection, RejectionKind, RenderFn, RenderedBody};
pub use require_scope::{RequireScope, RequireScopeFuture, RequireScopeLayer};
pub use service::AuthService;
