//! `AuthService`: the middleware itself.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use token_core::backend::KeyStore;
use token_ratelimit::backend::LimitStore;
use tower_service::Service;

use tracing::Instrument;

use super::future::{ResponseFuture, State};
use super::layer::AuthLayer;
use super::pipeline::{Begin, Step};
use crate::body::AuthBody;

/// The service [`AuthLayer`] wraps around an inner service. On admission the
/// [`token_core::Principal`] is in the request's extensions (read it with the axum
/// extractors, or `req.extensions().get::<Principal>()`), and so is the resolved
/// [`crate::ClientInfo`] (address, TLS, whether credentials may travel).
pub struct AuthService<S, K, L> {
    inner: S,
    layer: AuthLayer<K, L>,
}

impl<S, K, L> AuthService<S, K, L> {
    pub(crate) fn new(inner: S, layer: AuthLayer<K, L>) -> Self {
        AuthService { inner, layer }
    }

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

impl<S: Clone, K, L> Clone for AuthService<S, K, L> {
    fn clone(&self) -> Self {
        AuthService {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, K, L> fmt::Debug for AuthService<S, K, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, K, L, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S, K, L>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    K: KeyStore,
    L: LimitStore,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, K, L>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let started = Instant::now();
        // The clone is not ready; keep the ready service for this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.layer.config);
        let (parts, body) = req.into_parts();
        let state = match config.begin(&parts) {
            Begin::Step(Step::Decided(outcome)) => State::after(&config, outcome, parts, |parts| {
                inner.call(Request::from_parts(parts, body))
            }),
            slow => {
                let cfg = Arc::clone(&config);
                let decision = Box::pin(
                    async move {
                        let outcome = cfg.resume(&parts, slow).await;
                        (parts, outcome)
                    }
                    .instrument(tracing::debug_span!("token_tower::decide")),
                );
                State::Deciding {
                    decision,
                    body,
                    inner,
                }
            }
        };
        ResponseFuture::new(state, config, started)
    }
}
