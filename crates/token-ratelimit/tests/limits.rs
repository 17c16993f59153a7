//! Limiter behaviour with a fake clock: bursts, refill, cost, layering, overrides.

mod common;

use std::time::Duration;

use common::{admit_count, peek, q};
use token_core::ManualClock;
use token_core::{Principal, PrincipalKind};
use token_ratelimit::{CheckRequest, Limiter, RefusalReason, Tier};
use token_scopes::ScopeSet;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn exactly_the_burst_is_admitted_then_refused_with_the_right_wait() {
    let clock = ManualClock::default();
    let limiter = Limiter::builder()
        .principal(q("10/second burst 20"))
        .clock(clock.clone())
        .build()
        .unwrap();
    let alice = CheckRequest::new("alice");
    assert_eq!(admit_count(&limiter, &alice, 20), 20);
    let refused = limiter.try_check(&alice).unwrap();
    let refusal = refused.refusal().unwrap();
    assert_eq!(refusal.reason(), RefusalReason::Exhausted);
    assert_eq!(refusal.name().tier(), Tier::Principal);
    assert_eq!(refusal.retry_after(), Some(ms(100)));
    assert_eq!(refusal.quota(), q("10/second burst 20"));
    // Refusals charge nothing: the wait does not grow.
    assert_eq!(
        limiter.try_check(&alice).unwrap().retry_after(),
        Some(ms(100))
    );

    clock.advance(ms(99));
    assert_eq!(
        limiter.try_check(&alice).unwrap().retry_after(),
        Some(ms(1))
    );
    clock.advance(ms(1));
    assert_eq!(admit_count(&limiter, &alice, 5), 1);
}

#[test]
fn a_full_period_refills_the_quota_and_other_keys_are_independent() {
    let clock = ManualClock::default();
    let limiter = Limiter::builder()
        .principal(q("100/minute"))
        .clock(clock.clone())
        .build()
        .unwrap();
    let alice = CheckRequest::new("alice");
    assert_eq!(admit_count(&limiter, &alice, 150), 100);
    assert_eq!(admit_count(&limiter, &CheckRequest::new("bob"), 150), 100);
    clock.advance(Duration::from_secs(30));
    assert_eq!(admit_count(&limiter, &alice, 150), 50);
    clock.advance(Duration::from_secs(60));
    assert_eq!(admit_count(&limiter, &alice, 150), 100);
}

#[test]
fn remaining_and_reset_count_down_per_request() {
    let limiter = Limiter::builder()
        .principal(q("100/minute"))
        .clock(ManualClock::default())
        .build()
        .unwrap();
    let alice = CheckRequest::new("alice");
    let first = limiter.try_check(&alice).unwrap();
    let status = first.status().unwrap();
    assert_eq!((status.remaining(), status.reset()), (99, ms(600)));
    let heavy = limiter.try_check(&alice.cost(9)).unwrap();
    let status = heavy.status().unwrap();
    assert_eq!((status.remaining(), status.reset()), (90, ms(6000)));
}

#[test]
fn cost_spends_that_many_requests_and_over_burst_can_never_pass() {
    let clock = ManualClock::default();
    let limiter = Limiter::builder()
        .principal(q("10/second"))
        .clock(clock.clone())
        .build()
        .unwrap();
    let alice = CheckRequest::new("alice");
    assert!(limiter.try_check(&alice.cost(4)).unwrap().is_allowed());
    assert!(limiter.try_check(&alice.cost(4)).unwrap().is_allowed());
    let refused = limiter.try_check(&alice.cost(4)).unwrap();
    // Two cells are left; two more must come back (200 ms).
    assert_eq!(refused.retry_after(), Some(ms(200)));
    assert_eq!(admit_count(&limiter, &alice, 5), 2);

    let never = limiter
        .try_check(&CheckRequest::new("bob").cost(11))
        .unwrap();
    let refusal = never.refusal().unwrap();
    assert_eq!(refusal.reason(), RefusalReason::CostExceedsBurst);
    assert_eq!(refusal.retry_after(), None);
    // And it charged nothing.
    assert_eq!(admit_count(&limiter, &CheckRequest::new("bob"), 20), 10);
}

#[test]
fn layered_limits_report_the_most_restrictive_one() {
    let clock = ManualClock::default();
    let limiter = Limiter::builder()
        .principal(q("100/minute"))
        .tenant(q("1000/minute"))
        .route_class("search", q("5/second"))
        .global(q("10000/minute"))
        .clock(clock.clone())
        .build()
        .unwrap();
    let search = CheckRequest::new("alice")
        .tenant(Some("acme"))
        .route_class(Some("search"));
    let d = limiter.try_check(&search).unwrap();
    let status = d.status().unwrap();
    assert_eq!(status.name().as_str(), "search");
    assert_eq!(status.remaining(), 4);
    assert_eq!(status.quota(), q("5/second"));

    // Without the route class, the principal limit is the tightest.
    let plain = CheckRequest::new("alice").tenant(Some("acme"));
    let d = limiter.try_check(&plain).unwrap();
    assert_eq!(d.status().unwrap().name().tier(), Tier::Principal);
    assert_eq!(d.status().unwrap().remaining(), 98);

    // An unknown class has no route limit: only the other layers apply.
    let unknown = CheckRequest::new("carol").route_class(Some("nope"));
    assert_eq!(admit_count(&limiter, &unknown, 120), 100);

    assert_eq!(admit_count(&limiter, &search, 10), 4);
    let refused = limiter.try_check(&search).unwrap();
    assert_eq!(refused.refusal().unwrap().name().as_str(), "search");
}

#[test]
fn when_several_limits_refuse_the_longest_wait_is_reported() {
    let limiter = Limiter::builder()
        .principal(q("1/second"))
        .global(q("1/minute"))
        .clock(ManualClock::default())
        .build()
        .unwrap();
    let alice = CheckRequest::new("alice");
    assert!(limiter.try_check(&alice).unwrap().is_allowed());
    let refusal = *limiter.try_check(&alice).unwrap().refusal().unwrap();
    assert_eq!(refusal.name().tier(), Tier::Global);
    assert_eq!(refusal.retry_after(), Some(Duration::from_secs(60)));
}

#[test]
fn a_later_refusal_charges_no_earlier_limit() {
    let clock = ManualClock::default();
    let limiter = Limiter::builder()
        .principal(q("10/minute"))
        .tenant(q("3/minute"))
        .clock(clock.clone())
        .build()
        .unwrap();
    let alice = CheckRequest::new("alice").tenant(Some("acme"));
    assert_eq!(admit_count(&limiter, &alice, 10), 3);
    // The 7 tenant refusals did not burn alice's principal quota.
    let status = peek(&limiter, &CheckRequest::new("alice"));
    assert_eq!(status.status().unwrap().remaining(), 7);
    // Alice without the tenant still has exactly 7 left.
    assert_eq!(admit_count(&limiter, &CheckRequest::new("alice"), 20), 7);
}

#[test]
fn overrides_replace_the_default_for_that_key_only() {
    let limiter = Limiter::builder()
        .principal(q("5/minute"))
        .clock(ManualClock::default())
        .build()
        .unwrap();
    let vip = CheckRequest::new("vip").override_quota_str(Some("1000/hour"));
    let d = limiter.try_check(&vip).unwrap();
    assert_eq!(d.status().unwrap().quota(), q("1000/hour"));
    assert!(!d.override_rejected());
    assert_eq!(admit_count(&limiter, &vip, 50), 50);
    assert_eq!(admit_count(&limiter, &CheckRequest::new("plain"), 50), 5);
    let parsed = CheckRequest::new("pre").override_quota(Some(q("2/minute")));
    assert_eq!(admit_count(&limiter, &parsed, 50), 2);
}

#[test]
fn an_unparsable_override_falls_back_to_the_default_and_is_reported() {
    let limiter = Limiter::builder()
        .principal(q("5/minute"))
        .clock(ManualClock::default())
        .build()
        .unwrap();
    let bad = CheckRequest::new("bad").override_quota_str(Some("lots/fortnight"));
    let d = limiter.try_check(&bad).unwrap();
    assert!(d.override_rejected());
    assert_eq!(d.status().unwrap().quota(), q("5/minute"));
    assert_eq!(admit_count(&limiter, &bad, 50), 4);
}

#[test]
fn an_override_applies_even_without_a_default_principal_limit() {
    let limiter = Limiter::builder()
        .clock(ManualClock::default())
        .build()
        .unwrap();
    let free = CheckRequest::new("anyone");
    let d = limiter.try_check(&free).unwrap();
    assert!(d.is_allowed() && d.status().is_none());
    let capped = CheckRequest::new("capped").override_quota_str(Some("2/day"));
    assert_eq!(admit_count(&limiter, &capped, 10), 2);
}

#[test]
fn requests_from_a_principal_carry_its_id_tenant_and_override() {
    let principal = Principal::builder("key_7", PrincipalKind::ApiKey, ScopeSet::default())
        .tenant(Some("acme".to_owned()))
        .rate_limit(Some("3/minute".to_owned()))
        .build();
    let limiter = Limiter::builder()
        .principal(q("100/minute"))
        .tenant(q("4/minute"))
        .clock(ManualClock::default())
        .build()
        .unwrap();
    let request = CheckRequest::from_principal(&principal);
    assert_eq!(admit_count(&limiter, &request, 10), 3);
    // The tenant counted those three too.
    assert_eq!(
        admit_count(
            &limiter,
            &CheckRequest::new("other").tenant(Some("acme")),
            10
        ),
        1
    );
}

#[test]
fn invalid_configurations_are_refused_with_a_reason() {
    use token_ratelimit::BuildErrorKind;
    let kind = |b: token_ratelimit::LimiterBuilder| b.build().unwrap_err().kind();
    assert_eq!(
        kind(Limiter::builder().route_class("has space", q("1/s"))),
        BuildErrorKind::InvalidClassName
    );
    assert_eq!(
        kind(Limiter::builder().route_class("tenant", q("1/s"))),
        BuildErrorKind::ReservedClassName
    );
    assert_eq!(
        kind(
            Limiter::builder()
                .route_class("a", q("1/s"))
                .route_class("a", q("2/s"))
        ),
        BuildErrorKind::DuplicateClass
    );
    assert_eq!(
        kind(Limiter::builder().max_keys(0)),
        BuildErrorKind::ZeroMaxKeys
    );
    assert_eq!(
        kind(Limiter::builder().sweep_interval(Duration::ZERO)),
        BuildErrorKind::ZeroSweepInterval
    );
    let err = Limiter::builder()
        .route_class("tenant", q("1/s"))
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "route class name is reserved: 'principal', 'tenant' and 'global' name other limits (got \"tenant\")"
    );
}
