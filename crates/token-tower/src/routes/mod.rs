//! Routes users mount (feature `axum`): JWKS, the OAuth endpoints, key administration,
//! and (feature `openapi`) their OpenAPI 3.1 document.

mod admin;
mod admin_wire;
mod client_auth;
mod error;
mod jwks;
mod oauth;
mod oauth_error;
mod oauth_wire;
#[cfg(feature = "openapi")]
pub mod openapi;

pub use crate::auth::respond::{
    DEFAULT_ADMIN_SCOPE, DEFAULT_CROSS_TENANT_SCOPE, DEFAULT_INTROSPECTION_SCOPE,
};
pub use admin::{KeyAdmin, MAX_TTL_SECS};
pub use jwks::{JWKS_MAX_AGE_SECS, jwks_router};
pub use oauth::OAuthRoutes;
