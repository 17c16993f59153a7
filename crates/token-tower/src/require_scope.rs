//! `RequireScopeLayer`: declare a route's scopes beside the route.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{Either, Full};
use pin_project_lite::pin_project;
use token_core::Principal;
use token_scopes::{Requirement, RequirementError};
use tower_layer::Layer;
use tower_service::Service;

use crate::body::AuthBody;
use crate::rejection::Rejection;
use crate::respond::Responder;

/// A per-route scope check, for users who declare requirements next to each route
/// (`.route("/reports", get(list).layer(RequireScopeLayer::new("read:reports")?))`).
///
/// It reads the [`Principal`] that [`crate::AuthLayer`] put in the request's
/// extensions, so it adds to the policy and never replaces it: the outer layer still
/// fails closed for routes the policy does not know. Without a principal it answers
/// 401; with too few scopes, 403 `insufficient_scope` naming what would satisfy it.
#[derive(Debug, Clone)]
pub struct RequireScopeLayer {
    shared: Arc<(Requirement, Responder)>,
}

impl RequireScopeLayer {
    /// A check for `requirement` (`"read:reports"`, `"a and (b or c)"`).
    pub fn new(requirement: &str) -> Result<Self, RequirementError> {
        Ok(Self::requirement(Requirement::parse(requirement)?))
    }

    /// A check for an already parsed requirement.
    pub fn requirement(requirement: Requirement) -> Self {
        RequireScopeLayer {
            shared: Arc::new((requirement, Responder::default())),
        }
    }

    /// The challenge's realm (default `api`; use the same as the `AuthLayer`).
    #[must_use]
    pub fn realm(self, realm: &str) -> Self {
        let (requirement, mut responder) = (*self.shared).clone();
        realm.clone_into(&mut responder.realm);
        RequireScopeLayer {
            shared: Arc::new((requirement, responder)),
        }
    }

    fn check(&self, principal: Option<&Principal>) -> Result<(), Rejection> {
        Rejection::demand(principal, &self.shared.0).map(|_| ())
    }
}

impl<S> Layer<S> for RequireScopeLayer {
    type Service = RequireScope<S>;

    fn layer(&self, inner: S) -> RequireScope<S> {
        RequireScope {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`RequireScopeLayer`].
#[derive(Debug, Clone)]
pub struct RequireScope<S> {
    inner: S,
    layer: RequireScopeLayer,
}

impl<S> RequireScope<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B, ResBody> Service<Request<B>> for RequireScope<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = RequireScopeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        match self.layer.check(req.extensions().get::<Principal>()) {
            Ok(()) => RequireScopeFuture {
                inner: Some(self.inner.call(req)),
                refused: None,
            },
            Err(rejection) => RequireScopeFuture {
                inner: None,
                refused: Some(self.layer.shared.1.refusal(&rejection)),
            },
        }
    }
}

pin_project! {
    /// The response future of [`RequireScope`].
    #[derive(Debug)]
    pub struct RequireScopeFuture<F> {
        #[pin]
        inner: Option<F>,
        refused: Option<Response<Full<Bytes>>>,
    }
}

impl<F, ResBody, E> Future for RequireScopeFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<AuthBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(inner) = this.inner.as_pin_mut() {
            return inner.poll(cx).map_ok(|r| r.map(Either::Left));
        }
        let response = this.refused.take().unwrap_or_else(|| {
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            r
        });
        Poll::Ready(Ok(response.map(Either::Right)))
    }
}
