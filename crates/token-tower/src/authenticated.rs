//! axum extractors for the authenticated [`Principal`].

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use token_core::Principal;

use token_scopes::DenyReason;

use crate::auth::refusal::Refusal;
use crate::auth::respond::Shared;

/// The authenticated caller. Extracting it from a request that [`crate::AuthLayer`]
/// did not authenticate (a public route without a credential, or a router the layer
/// does not wrap) answers 401. Use `Option<Authenticated>` where a caller is optional.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl std::ops::Deref for Authenticated {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.0
    }
}

/// The 401 an [`Authenticated`] extractor answers with, rendered as the
/// [`crate::AuthLayer`] in front renders its refusals (realm, problem type, hook).
#[derive(Debug)]
pub struct MissingPrincipal(Shared);

impl IntoResponse for MissingPrincipal {
    fn into_response(self) -> Response {
        self.0
            .0
            .refusal(&Refusal::Policy(DenyReason::Unauthenticated))
            .map(axum::body::Body::new)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = MissingPrincipal;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, MissingPrincipal> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Authenticated)
            .ok_or_else(|| MissingPrincipal(Shared::of(&parts.extensions)))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Authenticated {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &S,
    ) -> Result<Option<Self>, std::convert::Infallible> {
        Ok(parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Authenticated))
    }
}
