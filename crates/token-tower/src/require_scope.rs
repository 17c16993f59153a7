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

use crate::auth::refusal::Refusal;
use crate::auth::respond::Shared;
use crate::body::AuthBody;

/// A per-route scope check, for users who declare requirements next to each route
/// (`.route("/reports", get(list).layer(RequireScopeLayer::new("read:reports")?))`).
///
/// It reads the [`Principal`] that [`crate::AuthLayer`] put in the request's
/// extensions, so it adds to the policy and never replaces it: the outer layer still
/// fails closed for routes the policy does not know. Without a principal it answers
/// 401; with too few scopes, 403 `insufficient_scope` naming what would satisfy it,
/// rendered as the `AuthLayer` renders its own refusals (realm, problem type, hook).
#[derive(Debug, Clone)]
pub struct RequireScopeLayer {
    requirement: Arc<Requirement>,
}

impl RequireScopeLayer {
    /// A check for `requirement` (`"read:reports"`, `"a and (b or c)"`).
    pub fn new(requirement: &str) -> Result<Self, RequirementError> {
        Ok(Self::requirement(Requirement::parse(requirement)?))
    }

    /// A check for an already parsed requirement.
    pub fn requirement(requirement: Requirement) -> Self {
        RequireScopeLayer {
            requirement: Arc::new(requirement),
        }
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
        let extensions = req.extensions();
        match Refusal::demand(extensions.get::<Principal>(), &self.layer.requirement) {
            Ok(_) => RequireScopeFuture {
                state: ScopeState::Inner {
                    future: self.inner.call(req),
                },
            },
            Err(refusal) => RequireScopeFuture {
                state: ScopeState::Refused {
                    response: Shared::of(extensions).0.refusal(&refusal),
                },
            },
        }
    }
}

pin_project! {
    #[project = ScopeStateProj]
    #[project_replace = ScopeStateTaken]
    enum ScopeState<F> {
        Inner { #[pin] future: F },
        Refused { response: Response<Full<Bytes>> },
        Done,
    }
}

pin_project! {
    /// The response future of [`RequireScope`].
    pub struct RequireScopeFuture<F> {
        #[pin]
        state: ScopeState<F>,
    }
}

impl<F> std::fmt::Debug for RequireScopeFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireScopeFuture").finish_non_exhaustive()
    }
}

impl<F, ResBody, E> Future for RequireScopeFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<AuthBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        match state.as_mut().project() {
            ScopeStateProj::Inner { future } => future.poll(cx).map_ok(|r| r.map(Either::Left)),
            ScopeStateProj::Refused { .. } => match state.project_replace(ScopeState::Done) {
                ScopeStateTaken::Refused { response } => {
                    Poll::Ready(Ok(response.map(Either::Right)))
                }
                _ => unreachable!("the state was Refused a moment ago"),
            },
            // Polled after it completed: a caller bug, answered rather than panicked.
            ScopeStateProj::Done => {
                Poll::Ready(Ok(crate::auth::respond::internal_error().map(Either::Right)))
            }
        }
    }
}
