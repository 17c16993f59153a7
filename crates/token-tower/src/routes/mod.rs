//! Routes users mount (feature `axum`): JWKS, the OAuth endpoints, key administration,
//! and (feature `openapi`) their OpenAPI 3.1 document.

mod admin;
mod admin_body;
mod admin_create;
mod admin_fleet;
mod admin_wire;
mod client_auth;
mod error;
mod idempotency;
mod jwks;
mod oauth;
mod oauth_error;
mod oauth_wire;
#[cfg(feature = "openapi")]
pub mod openapi;

pub use admin::KeyAdmin;
pub use jwks::jwks_router;
pub use oauth::OAuthRoutes;
