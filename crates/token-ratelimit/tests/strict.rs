//! Strict limits through a `LimitStore`: all-or-nothing with local limits, fail closed
//! by default, fail open only when asked (and reported).

mod common;

use std::future::{Future, ready};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{admit_count, block_on, peek, q};
use token_core::ManualClock;
use token_ratelimit::backend::{
    BatchOutcome, LimitCheck, LimitStore, LimitStoreError, LimitStoreErrorKind, LocalStore,
};
use token_ratelimit::{CheckRequest, HeaderStyle, Limit, Limiter, RefusalReason};

/// A store whose backend is down, or up again after `recover`.
#[derive(Debug, Default)]
struct FlakyStore {
    up: AtomicBool,
    inner: LocalStore,
}

impl LimitStore for FlakyStore {
    fn acquire(
        &self,
        checks: &[LimitCheck<'_>],
        now: Duration,
    ) -> impl Future<Output = Result<BatchOutcome, LimitStoreError>> + Send {
        let answer = if self.up.load(Ordering::SeqCst) {
            block_on(self.inner.acquire(checks, now))
        } else {
            Err(LimitStoreError::new(
                LimitStoreErrorKind::Unavailable,
                std::io::Error::other("connection refused"),
            ))
        };
        ready(answer)
    }
}

#[test]
fn strict_limits_need_the_async_path() {
    let limiter = Limiter::builder()
        .principal(q("10/minute"))
        .tenant(Limit::strict(q("3/minute")))
        .clock(ManualClock::default())
        .build()
        .unwrap();
    let with_tenant = CheckRequest::new("alice").tenant(Some("acme"));
    assert!(limiter.try_check(&with_tenant).is_none());
    // Without a tenant, only local limits apply.
    assert!(limiter.try_check(&CheckRequest::new("alice")).is_some());
}

#[test]
fn a_strict_refusal_refunds_the_local_limits() {
    let limiter = Limiter::builder()
        .principal(q("10/minute"))
        .tenant(Limit::strict(q("3/minute")))
        .clock(ManualClock::default())
        .build()
        .unwrap();
    let alice = CheckRequest::new("alice").tenant(Some("acme"));
    assert_eq!(admit_count(&limiter, &alice, 10), 3);
    let refused = block_on(limiter.check(&alice));
    assert_eq!(refused.refusal().unwrap().name().as_str(), "tenant");
    assert_eq!(refused.retry_after(), Some(Duration::from_secs(20)));
    let left = peek(&limiter, &CheckRequest::new("alice"));
    assert_eq!(left.status().unwrap().remaining(), 7);
}

#[test]
fn strict_and_local_statuses_are_merged() {
    let limiter = Limiter::builder()
        .principal(q("10/minute"))
        .global(Limit::strict(q("5/minute")))
        .clock(ManualClock::default())
        .build()
        .unwrap();
    let d = block_on(limiter.check(&CheckRequest::new("alice")));
    let status = d.status().unwrap();
    assert_eq!((status.name().as_str(), status.remaining()), ("global", 4));
}

#[test]
fn a_failed_store_fails_closed_and_charges_nothing() {
    let limiter = Limiter::builder()
        .principal(q("10/minute"))
        .global(Limit::strict(q("1000/minute")))
        .store(FlakyStore::default())
        .clock(ManualClock::default())
        .build()
        .unwrap();
    let alice = CheckRequest::new("alice");
    for _ in 0..20 {
        let d = block_on(limiter.check(&alice));
        let refusal = d.refusal().unwrap();
        assert_eq!(refusal.reason(), RefusalReason::StoreUnavailable);
        assert_eq!(
            refusal.store_error(),
            Some(LimitStoreErrorKind::Unavailable)
        );
        assert_eq!(refusal.name().as_str(), "global");
        assert_eq!(d.retry_after(), None);
        assert!(d.headers(HeaderStyle::IetfAndLegacy).is_empty());
        assert_eq!(d.failed_open(), None);
    }
    let d = block_on(limiter.check(&alice.cost(0)));
    assert_eq!(
        d.refusal().unwrap().reason(),
        RefusalReason::StoreUnavailable
    );
    // The principal limit was refunded each time: once the store is back, alice
    // still has her whole quota.
    limiter.store().up.store(true, Ordering::SeqCst);
    assert_eq!(admit_count(&limiter, &alice, 20), 10);
}

#[test]
fn fail_open_admits_with_local_limits_and_says_so() {
    let limiter = Limiter::builder()
        .principal(q("2/minute"))
        .tenant(Limit::strict(q("1/minute")))
        .store(FlakyStore::default())
        .dangerous_fail_open(true)
        .clock(ManualClock::default())
        .build()
        .unwrap();
    let alice = CheckRequest::new("alice").tenant(Some("acme"));
    let d = block_on(limiter.check(&alice));
    assert!(d.is_allowed());
    assert_eq!(d.failed_open(), Some(LimitStoreErrorKind::Unavailable));
    assert_eq!(d.status().unwrap().name().as_str(), "principal");
    // Local limits still hold.
    assert!(block_on(limiter.check(&alice)).is_allowed());
    let third = block_on(limiter.check(&alice));
    assert_eq!(third.refusal().unwrap().reason(), RefusalReason::Exhausted);
    assert_eq!(third.failed_open(), None);
}

fn assert_send_sync<T: Send + Sync>(value: T) -> T {
    value
}

#[test]
fn limiters_and_their_futures_cross_threads() {
    // token-tower holds the limiter in an `Arc` and awaits `check` on a multi-threaded
    // runtime: both must be Send (and the limiter Sync), whatever the store.
    let limiter = assert_send_sync(
        Limiter::builder()
            .global(Limit::strict(q("1/minute")))
            .store(FlakyStore::default())
            .build()
            .unwrap(),
    );
    limiter.store().up.store(true, Ordering::SeqCst);
    let request = CheckRequest::new("alice");
    let future = limiter.check(&request);
    let decision = std::thread::scope(|s| s.spawn(|| block_on(future)).join().unwrap());
    assert!(decision.is_allowed());
}
