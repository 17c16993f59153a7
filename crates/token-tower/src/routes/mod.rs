//! Routes users mount (feature `axum`): JWKS, the OAuth endpoints, key administration.

mod admin;
mod client_auth;
mod error;
mod jwks;
mod oauth;
mod oauth_error;

pub use admin::KeyAdmin;
pub use jwks::jwks_router;
pub use oauth::OAuthRoutes;
