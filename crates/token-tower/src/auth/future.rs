//! `ResponseFuture`: the named future of [`crate::AuthService`], a state machine.
//!
//! The hot path (a JWT, a cached API key) decides inside `call` and starts in
//! [`State::Running`] or [`State::Refused`]. A credential that needs a store lookup (a
//! cache miss), a strict rate limit or a metered key's charge starts in
//! [`State::Deciding`], one boxed future: that path does I/O anyway.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body_util::{Either, Full};
use pin_project_lite::pin_project;
use token_core::backend::KeyStore;
use token_ratelimit::backend::LimitStore;
use tower_service::Service;

use super::layer::Config;
use super::pipeline::Outcome;
use crate::body::AuthBody;

/// The asynchronous part of a decision: the request's parts come back with it.
pub(crate) type Deciding = Pin<Box<dyn Future<Output = (Parts, Box<Outcome>)> + Send>>;

pin_project! {
    /// Where a request is.
    #[project = StateProj]
    #[project_replace = StateTaken]
    pub(crate) enum State<F, B, S> {
        /// The decision needs I/O; the body and the inner service wait for it.
        Deciding { decision: Deciding, body: B, inner: S },
        /// Admitted: the inner service runs.
        Running { #[pin] future: F, outcome: Box<Outcome> },
        /// Refused, with the rendered refusal.
        Refused { response: Response<Full<Bytes>>, outcome: Box<Outcome> },
        /// The response was returned.
        Done,
    }
}

pin_project! {
    /// The response future of [`crate::AuthService`].
    pub struct ResponseFuture<S, B, K, L>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S::Future, B, S>,
        config: Arc<Config<K, L>>,
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
            let outcome = match this.state.project_replace(State::Done) {
                StateTaken::Running { outcome, .. } | StateTaken::Refused { outcome, .. } => {
                    outcome
                }
                StateTaken::Deciding { .. } | StateTaken::Done => return,
            };
            if let Some(auditor) = &this.config.auditor {
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
pub(crate) const CLIENT_CLOSED: StatusCode = match StatusCode::from_u16(499) {
    Ok(status) => status,
    Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
};

impl<F, B, S> State<F, B, S> {
    /// The state once the decision is made: the inner service runs (started by
    /// `call`, with the parts that now carry the principal), or the refusal waits.
    #[inline]
    pub(crate) fn after<K, L>(
        config: &Config<K, L>,
        outcome: Box<Outcome>,
        mut parts: Parts,
        call: impl FnOnce(Parts) -> F,
    ) -> Self {
        match &outcome.result {
            Ok(()) => {
                outcome.admit(&mut parts, config.hand_over.then_some(&config.shared));
                State::Running {
                    future: call(parts),
                    outcome,
                }
            }
            Err(refusal) => State::Refused {
                response: config.shared.0.refusal(refusal),
                outcome,
            },
        }
    }
}

impl<S, B, K, L> ResponseFuture<S, B, K, L>
where
    S: Service<Request<B>>,
{
    #[inline]
    pub(crate) fn new(
        state: State<S::Future, B, S>,
        config: Arc<Config<K, L>>,
        started: Instant,
    ) -> Self {
        ResponseFuture {
            state,
            config,
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
            match this.state.as_mut().project() {
                StateProj::Deciding { decision, .. } => {
                    let (parts, outcome) = ready!(decision.as_mut().poll(cx));
                    let StateTaken::Deciding {
                        body, mut inner, ..
                    } = this.state.as_mut().project_replace(State::Done)
                    else {
                        unreachable!("the state was Deciding a moment ago")
                    };
                    let next = State::after(this.config, outcome, parts, |parts| {
                        inner.call(Request::from_parts(parts, body))
                    });
                    this.state.set(next);
                }
                StateProj::Running { future, .. } => {
                    *this.in_inner_poll = true;
                    let result = future.poll(cx);
                    *this.in_inner_poll = false;
                    let result = ready!(result);
                    let StateTaken::Running { outcome, .. } =
                        this.state.as_mut().project_replace(State::Done)
                    else {
                        unreachable!("the state was Running a moment ago")
                    };
                    return Poll::Ready(match result {
                        Ok(response) => {
                            let mut response = response.map(Either::Left);
                            this.config.finish(outcome, &mut response, *this.started);
                            Ok(response)
                        }
                        Err(e) => {
                            // The decision still gets its audit event; the service's
                            // error is recorded as a 500.
                            let mut failed = super::respond::internal_error();
                            this.config.finish(outcome, &mut failed, *this.started);
                            Err(e)
                        }
                    });
                }
                StateProj::Refused { .. } => {
                    let StateTaken::Refused { response, outcome } =
                        this.state.as_mut().project_replace(State::Done)
                    else {
                        unreachable!("the state was Refused a moment ago")
                    };
                    let mut response = response.map(Either::Right);
                    this.config.finish(outcome, &mut response, *this.started);
                    return Poll::Ready(Ok(response));
                }
                // Polled after it completed: a caller bug, answered rather than
                // panicked (the one state the types cannot rule out).
                StateProj::Done => {
                    let response = super::respond::internal_error().map(Either::Right);
                    return Poll::Ready(Ok(response));
                }
            }
        }
    }
}

impl<S, B, K, L> std::fmt::Debug for ResponseFuture<S, B, K, L>
where
    S: Service<Request<B>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Deciding { .. } => "deciding",
            State::Running { .. } => "running",
            State::Refused { .. } => "refused",
            State::Done => "done",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}
