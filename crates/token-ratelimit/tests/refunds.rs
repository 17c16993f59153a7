//! Refunds of local limits when a strict store answers late or never: they never give
//! back what another request took, and a dropped check gives its charges back.

mod common;

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::{peek, q};
use token_core::ManualClock;
use token_ratelimit::backend::{
    Admissions, BatchOutcome, LimitCheck, LimitStore, LimitStoreError, StoreRefusal,
};
use token_ratelimit::{CheckRequest, Limit, Limiter, RefusalReason};

/// A strict store whose first call waits until `open` and then refuses; later calls
/// admit at once.
#[derive(Debug, Default)]
struct GatedStore {
    calls: AtomicUsize,
    open: Arc<AtomicBool>,
}

struct Gated {
    first: bool,
    open: Arc<AtomicBool>,
}

impl Future for Gated {
    type Output = Result<BatchOutcome, LimitStoreError>;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        if !self.first {
            Poll::Ready(Ok(BatchOutcome::Admitted(Admissions::new())))
        } else if self.open.load(Ordering::SeqCst) {
            let refusal = StoreRefusal::new(0, RefusalReason::Exhausted, None);
            Poll::Ready(Ok(BatchOutcome::Refused(refusal)))
        } else {
            Poll::Pending
        }
    }
}

impl LimitStore for GatedStore {
    fn acquire(
        &self,
        _checks: &[LimitCheck<'_>],
        _now: Duration,
    ) -> impl Future<Output = Result<BatchOutcome, LimitStoreError>> + Send {
        Gated {
            first: self.calls.fetch_add(1, Ordering::SeqCst) == 0,
            open: Arc::clone(&self.open),
        }
    }
}

fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

fn gated_limiter(principal: &str, clock: &ManualClock) -> Limiter<GatedStore> {
    Limiter::builder()
        .principal(q(principal))
        .global(Limit::strict(q("1000/second")))
        .store(GatedStore::default())
        .clock(clock.clone())
        .build()
        .unwrap()
}

#[test]
fn a_late_refusal_never_gives_back_a_later_requests_charge() {
    let clock = ManualClock::default();
    let limiter = gated_limiter("1/second", &clock); // burst 1
    let alice = CheckRequest::new("alice");
    // A charges the principal limit at 0 s and waits for the store.
    let mut a = pin!(limiter.check(&alice));
    assert!(poll_once(a.as_mut()).is_pending());
    // The store takes longer than one emission interval; B finds the counter full again.
    clock.advance(Duration::from_secs(2));
    let b = poll_once(pin!(limiter.check(&alice)));
    assert!(matches!(b, Poll::Ready(d) if d.is_allowed()));
    // A is refused; its refund must not erase B's charge.
    limiter.store().open.store(true, Ordering::SeqCst);
    assert!(matches!(poll_once(a.as_mut()), Poll::Ready(d) if !d.is_allowed()));
    // C at the same instant as B: burst 1, B was admitted, so C is refused.
    let Poll::Ready(c) = poll_once(pin!(limiter.check(&alice))) else {
        panic!("the store admits at once after the first call");
    };
    assert_eq!(c.refusal().unwrap().name().as_str(), "principal");
    assert_eq!(c.retry_after(), Some(Duration::from_secs(1)));
}

#[test]
fn a_late_refusal_gives_back_what_its_charge_still_holds() {
    let clock = ManualClock::default();
    let limiter = gated_limiter("10/second", &clock); // T = 100 ms, burst 10
    let alice = CheckRequest::new("alice");
    let heavy = alice.cost(3);
    let mut a = pin!(limiter.check(&heavy));
    assert!(poll_once(a.as_mut()).is_pending());
    clock.advance(Duration::from_millis(50));
    limiter.store().open.store(true, Ordering::SeqCst);
    assert!(matches!(poll_once(a.as_mut()), Poll::Ready(d) if !d.is_allowed()));
    // Nothing else touched the counter: it is as if A never came (idle: all 10 free).
    let after = peek(&limiter, &alice);
    assert_eq!(after.status().unwrap().remaining(), 10);
}

#[test]
fn a_dropped_check_gives_its_local_charges_back() {
    let clock = ManualClock::default();
    let limiter = gated_limiter("5/minute", &clock); // T = 12 s
    let alice = CheckRequest::new("alice");
    {
        let heavy = alice.cost(2);
        let mut a = Box::pin(limiter.check(&heavy));
        assert!(poll_once(a.as_mut()).is_pending());
        // Charged while in flight: 3 of 5 left.
        let during = peek(&limiter, &alice).status().unwrap().remaining();
        assert_eq!(during, 3);
        clock.advance(Duration::from_secs(6));
        // The caller gives up (a timeout, a closed connection): the future is dropped.
    }
    let after = peek(&limiter, &alice);
    let status = after.status().unwrap();
    assert_eq!((status.remaining(), status.reset()), (5, Duration::ZERO));
}

#[test]
fn a_dropped_check_never_gives_back_a_later_requests_charge() {
    let clock = ManualClock::default();
    let limiter = gated_limiter("1/second", &clock);
    let alice = CheckRequest::new("alice");
    let mut a = Box::pin(limiter.check(&alice));
    assert!(poll_once(a.as_mut()).is_pending());
    clock.advance(Duration::from_secs(2));
    let b = poll_once(pin!(limiter.check(&alice)));
    assert!(matches!(b, Poll::Ready(d) if d.is_allowed()));
    drop(a);
    let after = peek(&limiter, &alice);
    let status = after.status().unwrap();
    assert_eq!(
        (status.remaining(), status.reset()),
        (0, Duration::from_secs(1))
    );
}
