//! `GET /.well-known/jwks.json`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
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
    Router::new()
        .route("/.well-known/jwks.json", get(jwks::<F>))
        .with_state(Arc::new(source))
}

/// The public keys that verify this service's tokens.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "jwks",
    operation_id = "jwks",
    summary = "The JSON Web Key Set (RFC 7517)",
    responses(
        (status = 200, description = "Public keys only, `Cache-Control: public, max-age=300`.",
            body = super::openapi::JwkSet, content_type = "application/jwk-set+json",
            headers(("cache-control" = String, description = "`public, max-age=300`"))),
    )
))]
async fn jwks<F: Fn() -> JwkSet>(State(source): State<Arc<F>>) -> Response {
    respond(&source())
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
