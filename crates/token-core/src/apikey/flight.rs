//! Single-flight: concurrent misses for one key share one store call.
//!
//! A tiny, runtime-agnostic completion cell: the leader loads and completes it; the
//! others await it. If the leader is dropped before completing (its request was
//! cancelled), the cell completes as `Abandoned` and the waiters retry.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

/// One in-flight load whose result many may await.
#[derive(Debug)]
pub(crate) struct Flight<T> {
    state: Mutex<State<T>>,
}

#[derive(Debug)]
enum State<T> {
    Waiting(Vec<Waker>),
    Done(Outcome<T>),
}

/// What a waiter gets.
#[derive(Debug, Clone)]
pub(crate) enum Outcome<T> {
    /// The leader's result.
    Ready(T),
    /// The leader was dropped first; load again.
    Abandoned,
}

impl<T: Clone> Flight<T> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Flight {
            state: Mutex::new(State::Waiting(Vec::new())),
        })
    }

    /// Completes the flight and wakes every waiter. Later calls do nothing.
    pub(crate) fn complete(&self, outcome: Outcome<T>) {
        let wakers = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            match &mut *state {
                State::Done(_) => return,
                State::Waiting(w) => {
                    let wakers = std::mem::take(w);
                    *state = State::Done(outcome);
                    wakers
                }
            }
        };
        for w in wakers {
            w.wake();
        }
    }

    /// Waits for the outcome.
    pub(crate) fn wait(self: &Arc<Self>) -> Wait<T> {
        Wait {
            flight: Arc::clone(self),
        }
    }
}

/// The future returned by [`Flight::wait`].
#[derive(Debug)]
pub(crate) struct Wait<T> {
    flight: Arc<Flight<T>>,
}

impl<T: Clone> Future for Wait<T> {
    type Output = Outcome<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome<T>> {
        let mut state = self
            .flight
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match &mut *state {
            State::Done(outcome) => Poll::Ready(outcome.clone()),
            State::Waiting(wakers) => {
                if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_get_the_leaders_result() {
        let flight = Flight::<u32>::new();
        let waiters: Vec<_> = (0..4).map(|_| tokio::spawn(flight.wait())).collect();
        tokio::task::yield_now().await;
        flight.complete(Outcome::Ready(7));
        flight.complete(Outcome::Ready(8));
        for w in waiters {
            assert!(matches!(w.await.unwrap(), Outcome::Ready(7)));
        }
        assert!(matches!(flight.wait().await, Outcome::Ready(7)));
    }
}
