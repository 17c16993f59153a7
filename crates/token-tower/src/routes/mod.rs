//! Routes users mount (feature `axum`): JWKS, the OAuth endpoints, key administration.

mod admin;
mod client_auth;
mod jwks;
mod oauth;
mod oauth_error;

pub use admin::{DEFAULT_ADMIN_SCOPE, DEFAULT_CROSS_TENANT_SCOPE, KeyAdmin, MAX_TTL_SECS};
pub use jwks::{JWKS_MAX_AGE_SECS, jwks_router};
pub use oauth::{DEFAULT_INTROSPECTION_SCOPE, OAuthRoutes};
