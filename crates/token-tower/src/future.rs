//! `ResponseFuture`: the named future of [`crate::AuthService`].
//!
//! The hot path (a JWT, a cached API key) decides inside `call` and only drives the
//! inner service's future. A credential that needs a store lookup (a cache miss), a
//! strict rate limit or a metered key's charge goes through one boxed future first:
//! that path does I/O anyway.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body_util::Either;
use pin_project_lite::pin_project;
use token_core::apikey::KeyStore;
use token_ratelimit::LimitStore;
use tower_service::Service;

use crate::body::AuthBody;
use crate::decide::Outcome;
use crate::layer::Config;

type SlowAuth = Pin<Box<dyn Future<Output = (Parts, Box<Outcome>)> + Send>>;

pin_project! {
    /// The response future of [`crate::AuthService`].
    pub struct ResponseFuture<S, B, K, L>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        running: Option<S::Future>,
        slow: Option<SlowAuth>,
        body: Option<B>,
        inner: Option<S>,
        config: Arc<Config<K, L>>,
        outcome: Option<Box<Outcome>>,
        started: Instant,
        // Set while the inner service's future is polled: still set when dropped, that
        // poll panicked.
        in_inner_poll: bool,
    }

    impl<S, B, K, L> PinnedDrop for ResponseFuture<S, B, K, L>
    where
        S: Service<Request<B>>,
    {
        /// The drop guard: a decision not yet recorded (the client disconnected, an
        /// outer timeout fired, the handler panicked) is recorded now, with 499 (client
        /// closed) or, when the inner service panicked, 500.
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let (Some(outcome), Some(auditor)) = (this.outcome.take(), &this.config.auditor) {
                let status = if *this.in_inner_poll {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    CLIENT_CLOSED
                };
                this.config.audit(auditor, outcome, status, *this.started);
            }
        }
    }
}

/// The status audit events record when the response future was dropped before it
/// completed (nginx's 499 "client closed request"): no response was sent.
pub const CLIENT_CLOSED: StatusCode = match StatusCode::from_u16(499) {
    Ok(status) => status,
    Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
};

impl<S, B, K, L> ResponseFuture<S, B, K, L>
where
    S: Service<Request<B>>,
{
    /// Decided in `call`: the inner service's future when admitted, `None` when refused.
    pub(crate) fn decided(
        running: Option<S::Future>,
        config: Arc<Config<K, L>>,
        outcome: Box<Outcome>,
        started: Instant,
    ) -> Self {
        ResponseFuture {
            running,
            slow: None,
            body: None,
            inner: None,
            config,
            outcome: Some(outcome),
            started,
            in_inner_poll: false,
        }
    }

    pub(crate) fn authenticating(
        slow: SlowAuth,
        body: B,
        inner: S,
        config: Arc<Config<K, L>>,
        started: Instant,
    ) -> Self {
        ResponseFuture {
            running: None,
            slow: Some(slow),
            body: Some(body),
            inner: Some(inner),
            config,
            outcome: None,
            started,
            in_inner_poll: false,
        }
    }
}

impl<S, B, K, L, ResBody> Future for ResponseFuture<S, B, K, L>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    K: KeyStore,
    L: LimitStore,
{
    type Output = Result<Response<AuthBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            if let Some(fut) = this.running.as_mut().as_pin_mut() {
                *this.in_inner_poll = true;
                let result = fut.poll(cx);
                *this.in_inner_poll = false;
                let result = ready!(result);
                // Never poll a finished future again: a second poll answers 500.
                this.running.set(None);
                let outcome = this.outcome.take();
                return Poll::Ready(match result {
                    Ok(response) => {
                        let mut response = response.map(Either::Left);
                        if let Some(outcome) = outcome {
                            this.config.finish(outcome, &mut response, *this.started);
                        }
                        Ok(response)
                    }
                    Err(e) => {
                        // The decision still gets its audit event; the service's
                        // error is recorded as a 500.
                        if let Some(outcome) = outcome {
                            let mut failed = crate::respond::internal_error();
                            this.config.finish(outcome, &mut failed, *this.started);
                        }
                        Err(e)
                    }
                });
            }
            if let Some(slow) = this.slow.as_mut() {
                let (mut parts, outcome) = ready!(slow.as_mut().poll(cx));
                *this.slow = None;
                if outcome.result.is_ok()
                    && let (Some(body), Some(mut inner)) = (this.body.take(), this.inner.take())
                {
                    outcome.admit(&mut parts);
                    this.running
                        .set(Some(inner.call(Request::from_parts(parts, body))));
                }
                *this.outcome = Some(outcome);
                if this.running.is_some() {
                    continue;
                }
            }
            let outcome = this.outcome.take();
            let mut response = match outcome.as_ref().map(|o| &o.result) {
                Some(Err(rejection)) => this.config.responder.refusal(rejection),
                // Polled after completion, or an admitted request whose service is
                // gone: both are bugs of the caller; answer 500 rather than panic.
                _ => crate::respond::internal_error(),
            }
            .map(Either::Right);
            if let Some(outcome) = outcome {
                this.config.finish(outcome, &mut response, *this.started);
            }
            return Poll::Ready(Ok(response));
        }
    }
}

impl<S, B, K, L> std::fmt::Debug for ResponseFuture<S, B, K, L>
where
    S: Service<Request<B>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("authenticating", &self.slow.is_some())
            .field("running", &self.running.is_some())
            .finish_non_exhaustive()
    }
}
