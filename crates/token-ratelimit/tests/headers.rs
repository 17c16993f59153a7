//! Exact header values for every kind of decision.

mod common;

use std::time::Duration;

use common::{block_on, q};
use token_core::ManualClock;
use token_ratelimit::{CheckRequest, HeaderStyle, Limiter};

fn owned(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(n, v)| (*n, (*v).to_owned())).collect()
}

#[test]
fn admitted_requests_carry_the_policy_and_remaining() {
    let limiter = Limiter::builder()
        .principal(q("100/minute"))
        .clock(ManualClock::default())
        .build()
        .unwrap();
    let d = limiter.try_check(&CheckRequest::new("a").cost(42)).unwrap();
    assert_eq!(
        d.headers(HeaderStyle::Ietf),
        owned(&[
            ("ratelimit-policy", "\"principal\";q=100;w=60"),
            // 42 cells at 600 ms each: full again in 25.2 s, rounded up.
            ("ratelimit", "\"principal\";r=58;t=26"),
        ])
    );
    assert_eq!(
        d.headers(HeaderStyle::IetfAndLegacy),
        owned(&[
            ("ratelimit-policy", "\"principal\";q=100;w=60"),
            ("ratelimit", "\"principal\";r=58;t=26"),
            ("x-ratelimit-limit", "100"),
            ("x-ratelimit-remaining", "58"),
            ("x-ratelimit-reset", "26"),
        ])
    );
}

#[test]
fn refusals_carry_retry_after_rounded_up() {
    let clock = ManualClock::default();
    let limiter = Limiter::builder()
        .tenant(q("2/hour"))
        .clock(clock.clone())
        .build()
        .unwrap();
    let r = CheckRequest::new("a").tenant(Some("acme"));
    assert!(limiter.try_check(&r).unwrap().is_allowed());
    assert!(limiter.try_check(&r).unwrap().is_allowed());
    clock.advance(Duration::from_millis(1500));
    let d = limiter.try_check(&r).unwrap();
    assert_eq!(d.retry_after(), Some(Duration::from_millis(1_798_500)));
    assert_eq!(
        d.headers(HeaderStyle::IetfAndLegacy),
        owned(&[
            ("ratelimit-policy", "\"tenant\";q=2;w=3600"),
            ("ratelimit", "\"tenant\";r=0;t=1799"),
            ("retry-after", "1799"),
            ("x-ratelimit-limit", "2"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1799"),
        ])
    );
}

#[test]
fn a_cost_that_can_never_pass_gets_no_retry_after() {
    let limiter = Limiter::builder()
        .route_class("export", q("10/second burst 5"))
        .clock(ManualClock::default())
        .build()
        .unwrap();
    let d = limiter
        .try_check(&CheckRequest::new("a").route_class(Some("export")).cost(6))
        .unwrap();
    assert_eq!(d.retry_after(), None);
    assert_eq!(
        d.headers(HeaderStyle::IetfAndLegacy),
        owned(&[
            ("ratelimit-policy", "\"export\";q=10;w=1"),
            ("x-ratelimit-limit", "10")
        ])
    );
}

#[test]
fn no_applicable_limit_means_no_headers() {
    let limiter = Limiter::builder()
        .tenant(q("2/hour"))
        .clock(ManualClock::default())
        .build()
        .unwrap();
    let d = block_on(limiter.check(&CheckRequest::new("no-tenant")));
    assert!(d.is_allowed());
    assert!(d.headers(HeaderStyle::IetfAndLegacy).is_empty());
}
