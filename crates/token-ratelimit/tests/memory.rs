//! Bounded memory: idle keys are swept, the cap holds under a flood of distinct keys.

mod common;

use std::time::Duration;

use common::q;
use token_core::ManualClock;
use token_ratelimit::{CheckRequest, Limiter, RefusalReason};

const KEYS: usize = 1_000_000;

#[test]
fn a_million_distinct_keys_pass_with_the_table_staying_flat() {
    let clock = ManualClock::default();
    let limiter = Limiter::builder()
        .principal(q("100/second")) // one request keeps a key busy for 10 ms
        .max_keys(4_000)
        .sweep_interval(Duration::from_millis(10))
        .clock(clock.clone())
        .build()
        .unwrap();
    let mut name = String::new();
    let mut peak = 0;
    for i in 0..KEYS {
        name.clear();
        std::fmt::Write::write_fmt(&mut name, format_args!("key-{i}")).unwrap();
        let d = limiter.try_check(&CheckRequest::new(&name)).unwrap();
        assert!(d.is_allowed(), "key {i} refused: {d:?}");
        peak = peak.max(limiter.tracked_keys());
        clock.advance(Duration::from_micros(10));
    }
    // ~1,000 keys are busy at any instant; sweeps keep the table near that.
    assert!(peak <= 4_000, "peak {peak}");
    assert!(
        limiter.tracked_keys() <= 2_001,
        "{}",
        limiter.tracked_keys()
    );
    clock.advance(Duration::from_millis(11));
    limiter.sweep();
    assert_eq!(limiter.tracked_keys(), 0);
}

#[test]
fn at_the_cap_new_keys_are_refused_and_tracked_keys_keep_working() {
    let clock = ManualClock::default();
    let limiter = Limiter::builder()
        .principal(q("2/hour"))
        .max_keys(1_000)
        .sweep_interval(Duration::from_secs(10))
        .clock(clock.clone())
        .build()
        .unwrap();
    let alice = CheckRequest::new("alice");
    assert!(limiter.try_check(&alice).unwrap().is_allowed());

    let mut name = String::new();
    let mut refused = 0;
    for i in 0..KEYS {
        name.clear();
        std::fmt::Write::write_fmt(&mut name, format_args!("flood-{i}")).unwrap();
        let d = limiter.try_check(&CheckRequest::new(&name)).unwrap();
        if let Some(refusal) = d.refusal() {
            assert_eq!(refusal.reason(), RefusalReason::KeyCapacity);
            // The next sweep may run a tenth of the sweep interval after the last.
            assert_eq!(refusal.retry_after(), Some(Duration::from_secs(1)));
            refused += 1;
        }
        assert!(limiter.tracked_keys() <= 1_000);
    }
    assert_eq!(refused, KEYS - 999);
    // Alice's counter survived the flood: one request left, then limited.
    assert!(limiter.try_check(&alice).unwrap().is_allowed());
    assert_eq!(
        limiter
            .try_check(&alice)
            .unwrap()
            .refusal()
            .unwrap()
            .reason(),
        RefusalReason::Exhausted
    );

    // Busy keys are never swept: after 1 s the table is still full.
    clock.advance(Duration::from_secs(1));
    let newcomer = CheckRequest::new("newcomer");
    assert_eq!(
        limiter
            .try_check(&newcomer)
            .unwrap()
            .refusal()
            .unwrap()
            .reason(),
        RefusalReason::KeyCapacity
    );
    // Once the flood's keys are idle (full again), the next sweep makes room.
    clock.advance(Duration::from_secs(1800));
    assert!(limiter.try_check(&newcomer).unwrap().is_allowed());
    assert_eq!(
        limiter.tracked_keys(),
        2,
        "alice is still busy, the flood is gone"
    );
}

#[test]
fn sweeps_drop_only_idle_keys() {
    let clock = ManualClock::default();
    let limiter = Limiter::builder()
        .principal(q("1/minute"))
        .clock(clock.clone())
        .build()
        .unwrap();
    let early = CheckRequest::new("early");
    assert!(limiter.try_check(&early).unwrap().is_allowed());
    clock.advance(Duration::from_secs(30));
    let late = CheckRequest::new("late");
    assert!(limiter.try_check(&late).unwrap().is_allowed());
    clock.advance(Duration::from_secs(30));
    limiter.sweep();
    // "early" is full again and dropped; "late" still has 30 s to go.
    assert_eq!(limiter.tracked_keys(), 1);
    assert_eq!(
        limiter.try_check(&late).unwrap().retry_after(),
        Some(Duration::from_secs(30))
    );
    assert!(limiter.try_check(&early).unwrap().is_allowed());
}

#[test]
fn anonymous_clients_fill_only_their_own_table_and_never_deny_principals() {
    let clock = ManualClock::default();
    let limiter = Limiter::builder()
        .principal(q("2/hour"))
        .global(q("1000/hour"))
        .max_keys(100)
        .max_anonymous_keys(100)
        .clock(clock.clone())
        .build()
        .unwrap();
    // A flood of distinct anonymous clients fills the anonymous table and the
    // anonymous share of the global limit.
    let mut name = String::new();
    let mut refused = 0;
    for i in 0..2_000 {
        name.clear();
        std::fmt::Write::write_fmt(&mut name, format_args!("ip:2001:db8::{i:x}")).unwrap();
        if !limiter
            .try_check(&CheckRequest::anonymous(&name))
            .unwrap()
            .is_allowed()
        {
            refused += 1;
        }
    }
    assert!(refused > 1_000, "the flood hit the caps: {refused}");
    // New principals are still admitted, up to their own cap (the global counter
    // takes one slot).
    for i in 0..98 {
        let d = limiter
            .try_check(&CheckRequest::new(&format!("key-{i}")))
            .unwrap();
        assert!(d.is_allowed(), "principal {i}: {d:?}");
    }
    // The same text as an anonymous client's is another counter.
    let d = limiter
        .try_check(&CheckRequest::new("ip:2001:db8::1"))
        .unwrap();
    assert!(d.is_allowed(), "{d:?}");
    assert_eq!(limiter.local_store().anonymous_len(), 100);
    assert_eq!(limiter.local_store().max_anonymous_keys(), 100);
}

#[test]
fn anonymous_traffic_has_its_own_share_of_the_global_limit() {
    let limiter = Limiter::builder()
        .global(q("3/hour"))
        .clock(ManualClock::default())
        .build()
        .unwrap();
    for i in 0..3 {
        let ip = format!("ip:192.0.2.{i}");
        assert!(
            limiter
                .try_check(&CheckRequest::anonymous(&ip))
                .unwrap()
                .is_allowed()
        );
    }
    let d = limiter
        .try_check(&CheckRequest::anonymous("ip:192.0.2.9"))
        .unwrap();
    assert_eq!(d.refusal().map(|r| r.name().as_str()), Some("global"));
    // The principals' share is untouched.
    let d = limiter.try_check(&CheckRequest::new("alice")).unwrap();
    assert!(d.is_allowed(), "{d:?}");
}
