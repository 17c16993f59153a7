//! `GET /.well-known/jwks.json`.

use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::HeaderValue;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use token_core::jose::JwkSet;

/// How long clients may cache the key set: five minutes, so a new key is seen soon
/// after a rotation (verifiers also refetch on an unknown `kid`).
pub(crate) const JWKS_MAX_AGE_SECS: u32 = 300;

/// A router serving `GET /.well-known/jwks.json` from `source`, called per request so
/// that rotations show at once (for a fixed keyring:
/// `jwks_router(move || keyring.public_jwks())`). Public keys only: `public_jwks`
/// never includes private or symmetric keys.
pub fn jwks_router<S, F>(source: F) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    F: Fn() -> JwkSet + Send + Sync + 'static,
{
    let source = Arc::new(source);
    Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            let source = Arc::clone(&source);
            async move { respond(&source()) }
        }),
    )
}

fn respond(set: &JwkSet) -> Response {
    // Whatever the source hands over, never a private or symmetric key.
    let public = JwkSet {
        keys: set
            .keys
            .iter()
            .filter(|k| !k.is_private() && k.kty != "oct")
            .cloned()
            .collect(),
    };
    let body = serde_json::to_vec(&public).unwrap_or_else(|_| b"{\"keys\":[]}".to_vec());
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={JWKS_MAX_AGE_SECS}"))
            .unwrap_or(HeaderValue::from_static("public, max-age=300")),
    );
    r
}
