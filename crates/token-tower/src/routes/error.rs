//! What the routes answer when they refuse or fail: one [`RouteError`] that
//! handlers return with `?` (axum's error-handling pattern), rendered with the
//! settings of the [`crate::AuthLayer`] in front (realm, problem-type base, hook).

use axum::extract::{FromRequestParts, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;
use token_core::Principal;
use token_core::apikey::{ApiKeyError, ApiKeyErrorKind};

use super::oauth_error::OAuthError;
use crate::auth::refusal::Refusal;
use crate::auth::respond::Shared;

/// A route's error: a refusal of the caller, or a problem with the request.
#[derive(Debug, Clone)]
pub(crate) enum RouteError {
    /// The caller may not do this (401 or 403 with a challenge).
    Refused(Refusal),
    /// Bad input, not found, a conflict, a store down: a problem document.
    Problem {
        status: StatusCode,
        code: &'static str,
        detail: String,
        /// The field (or query parameter, or header) refused, and the rule.
        field: Option<(String, String)>,
    },
    /// An OAuth endpoint's error, in RFC 6749's own format.
    OAuth(OAuthError),
}

impl From<OAuthError> for RouteError {
    fn from(e: OAuthError) -> Self {
        RouteError::OAuth(e)
    }
}

impl RouteError {
    /// A 400 `invalid_request` with `detail`.
    pub(crate) fn invalid(detail: impl Into<String>) -> Self {
        Self::problem(StatusCode::BAD_REQUEST, "invalid_request", detail)
    }

    /// A problem document.
    pub(crate) fn problem(
        status: StatusCode,
        code: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        RouteError::Problem {
            status,
            code,
            detail: detail.into(),
            field: None,
        }
    }

    /// A 400 `invalid_request` about one value: `field` breaks `rule`. The problem
    /// document names both (`field`, `rule` members) and says it in `detail`.
    pub(crate) fn invalid_field(field: impl Into<String>, rule: impl Into<String>) -> Self {
        let (field, rule) = (field.into(), rule.into());
        RouteError::Problem {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
            detail: format!("{field}: {rule}"),
            field: Some((field, rule)),
        }
    }

    /// This problem with another `detail` (a refusal or an OAuth error unchanged).
    pub(crate) fn with_detail(mut self, new: String) -> Self {
        if let RouteError::Problem { detail, .. } = &mut self {
            *detail = new;
        }
        self
    }

    fn render(&self, shared: &Shared) -> Response {
        match self {
            RouteError::Refused(r) => shared.0.refusal(r).map(axum::body::Body::new),
            RouteError::Problem {
                status,
                code,
                detail,
                field,
            } => shared
                .0
                .problem(
                    *status,
                    code,
                    detail,
                    field.as_ref().map(|(f, r)| (f.as_str(), r.as_str())),
                )
                .map(axum::body::Body::new),
            RouteError::OAuth(e) => e.clone().into_response(),
        }
    }
}

impl From<Refusal> for RouteError {
    fn from(r: Refusal) -> Self {
        RouteError::Refused(r)
    }
}

impl From<ApiKeyError> for RouteError {
    fn from(e: ApiKeyError) -> Self {
        if let ApiKeyErrorKind::InvalidInput { field, rule } = e.kind() {
            return RouteError::invalid_field(field, rule);
        }
        let status = match e.kind() {
            ApiKeyErrorKind::NotFound => StatusCode::NOT_FOUND,
            ApiKeyErrorKind::WouldWiden
            | ApiKeyErrorKind::ExceedsCreator(_)
            | ApiKeyErrorKind::TenantMismatch
            | ApiKeyErrorKind::WouldExtend
            | ApiKeyErrorKind::OwnLimits => StatusCode::FORBIDDEN,
            ApiKeyErrorKind::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            // A change to a key that can no longer change.
            ApiKeyErrorKind::Invalid(_) | ApiKeyErrorKind::Expired => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        RouteError::problem(status, e.code(), e.to_string())
    }
}

impl From<axum::extract::rejection::JsonRejection> for RouteError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        RouteError::invalid(e.body_text())
    }
}

/// The handler's answer carries the error; [`render_errors`] renders it with the
/// request's settings on the way out.
impl IntoResponse for RouteError {
    fn into_response(self) -> Response {
        let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// The middleware every router of this crate wears: renders a [`RouteError`] with
/// the settings the `AuthLayer` handed the request (the defaults without one).
pub(crate) async fn render_errors(request: Request, next: Next) -> Response {
    let shared = Shared::of(request.extensions());
    let mut response = next.run(request).await;
    match response.extensions_mut().remove::<RouteError>() {
        Some(e) => e.render(&shared),
        None => response,
    }
}

/// The caller as the routes see it: the principal the layer authenticated, if any,
/// and the layer's settings.
pub(crate) struct Caller {
    pub(crate) principal: Option<Principal>,
    pub(crate) shared: Shared,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller {
            principal: parts.extensions.get::<Principal>().cloned(),
            shared: Shared::of(&parts.extensions),
        })
    }
}
