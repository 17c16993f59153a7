//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use token_ratelimit::backend::LimitStore;
use token_ratelimit::{CheckRequest, Limiter, Quota, RateLimitDecision};

/// Parses a quota the test knows is valid.
pub fn q(s: &str) -> Quota {
    s.parse().unwrap()
}

/// Polls a future that is ready without waiting (all stores in these tests are).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Checks `n` times, returning how many were admitted.
pub fn admit_count<S: LimitStore>(
    limiter: &Limiter<S>,
    request: &CheckRequest<'_>,
    n: usize,
) -> usize {
    (0..n)
        .filter(|_| block_on(limiter.check(request)).is_allowed())
        .count()
}

/// The status of `request`'s limits without charging (cost 0).
pub fn peek<S: LimitStore>(limiter: &Limiter<S>, request: &CheckRequest<'_>) -> RateLimitDecision {
    block_on(limiter.check(&request.cost(0)))
}
