//! `LocalStore` tests: the store trait, and refunds that never give back what other
//! requests took (sequential, property-based and multi-threaded, with a moving clock).

use std::pin::pin;
use std::sync::Barrier;
use std::task::{Context, Poll, Waker};
use std::thread;

use proptest::prelude::*;

use super::*;
use crate::key::{KeyHasher, PRINCIPAL, TENANT};
use crate::quota::Quota;

const MS: u64 = 1_000_000;

/// Charges one check at `now`; its charge, or `None` when refused.
fn charge(store: &LocalStore, check: &LimitCheck<'_>, now: u64) -> Option<Charge> {
    let mut charges = Charges::default();
    store
        .acquire_at(&[*check], now, &mut Admissions::new(), &mut charges)
        .ok()
        .map(|()| charges[0])
}

/// How many cost-1 requests would pass at `now` (charging nothing).
fn remaining(store: &LocalStore, check: &LimitCheck<'_>, now: u64) -> u64 {
    let status = LimitCheck::new(*check.key(), check.quota(), 0);
    store.peek(&status, now).map_or(0, |a| a.remaining)
}

/// GCRA's guarantee, checked on what was finally admitted (`(time, cost)`): within any
/// window `[x, y]` at most `burst + (y − x) / T` cost passes, i.e. in nanoseconds of
/// TAT, `Σ cost·T ≤ (y − x) + T + τ`.
fn assert_conforms(kept: &mut [(u64, u32)], quota: &Quota) {
    kept.sort_unstable();
    let allowance = quota.emission_nanos() + quota.tolerance_nanos();
    for (a, &(x, _)) in kept.iter().enumerate() {
        let mut used = 0;
        for &(y, cost) in &kept[a..] {
            used += gcra::increment(quota, cost);
            assert!(
                used <= y - x + allowance,
                "over-admission: {used} ns of TAT admitted in [{x}, {y}], allowance {}",
                y - x + allowance
            );
        }
    }
}

#[test]
fn peeking_and_refunding_never_insert() {
    let store = LocalStore::new();
    let hasher = KeyHasher::default();
    let quota = Quota::per_second(2).unwrap();
    let one = LimitCheck::new(hasher.key(&PRINCIPAL, "a"), &quota, 1);
    assert_eq!(store.peek(&one, 0).unwrap().remaining, 1);
    let phantom = Charge {
        tat: 500 * MS,
        increment: 500 * MS,
        epoch: 0,
    };
    store.refund(&one, phantom, 0);
    assert!(store.is_empty());
    let charged = charge(&store, &one, 0).unwrap();
    assert_eq!(store.len(), 1);
    // The refund gives the cell back: both cells are free again.
    store.refund(&one, charged, 0);
    let two = LimitCheck::new(hasher.key(&PRINCIPAL, "a"), &quota, 2);
    assert!(charge(&store, &two, 0).is_some());
    assert_eq!(remaining(&store, &two, 0), 0);
    // A cost-0 check charges nothing, so its refund gives nothing back.
    let status = LimitCheck::new(hasher.key(&PRINCIPAL, "a"), &quota, 0);
    store.refund(&status, charge(&store, &status, 0).unwrap(), 0);
    assert_eq!(remaining(&store, &two, 0), 0);
}

#[test]
fn the_store_trait_is_all_or_nothing_with_a_ready_future() {
    let store = LocalStore::new().with_max_keys(0);
    assert_eq!(store.max_keys(), 1);
    let store = LocalStore::new();
    let hasher = KeyHasher::default();
    let (roomy, tight) = (Quota::per_second(5).unwrap(), Quota::per_second(1).unwrap());
    let checks = [
        LimitCheck::new(hasher.key(&PRINCIPAL, "a"), &roomy, 1),
        LimitCheck::new(hasher.key(&TENANT, "t"), &tight, 1),
    ];
    let mut cx = Context::from_waker(Waker::noop());
    let mut call = |now| match pin!(store.acquire(&checks, now)).poll(&mut cx) {
        Poll::Ready(outcome) => outcome.unwrap(),
        Poll::Pending => panic!("the local store never waits"),
    };
    assert!(matches!(call(Duration::ZERO), BatchOutcome::Admitted(a) if a.as_slice().len() == 2));
    let BatchOutcome::Refused(refusal) = call(Duration::ZERO) else {
        panic!("the tenant check must refuse");
    };
    assert_eq!(refusal.index(), 1);
    assert_eq!(refusal.reason(), RefusalReason::Exhausted);
    assert_eq!(refusal.retry_after(), Some(Duration::from_secs(1)));
    // The principal check was refunded: 4 of 5 cells are still free.
    let status = LimitCheck::new(hasher.key(&PRINCIPAL, "a"), &roomy, 0);
    assert_eq!(store.peek(&status, 0).unwrap().remaining, 4);
    assert!(format!("{store:?}").contains("tracked: 2"));
}

#[test]
fn a_refund_after_the_counter_refilled_gives_back_nothing_another_request_took() {
    // The reviewer's race: A charges at 0, its answer comes after one emission interval,
    // B charges the refilled counter, then A is refunded. B's charge must stay.
    let store = LocalStore::new();
    let quota = Quota::per_second(1).unwrap(); // burst 1
    let key = KeyHasher::default();
    let check = LimitCheck::new(key.key(&PRINCIPAL, "alice"), &quota, 1);
    let a = charge(&store, &check, 0).unwrap();
    let t2 = 2_000 * MS;
    assert!(charge(&store, &check, t2).is_some(), "B");
    store.refund(&check, a, t2);
    assert_eq!(charge(&store, &check, t2), None, "C must be refused");
}

#[test]
fn an_uncontended_late_refund_is_exact() {
    let store = LocalStore::new();
    let quota = Quota::per_second(10).unwrap(); // T = 100 ms, burst 10
    let hasher = KeyHasher::default();
    let one = LimitCheck::new(hasher.key(&PRINCIPAL, "busy"), &quota, 1);
    let three = LimitCheck::new(hasher.key(&PRINCIPAL, "busy"), &quota, 3);
    for _ in 0..5 {
        charge(&store, &one, 0).unwrap();
    }
    let a = charge(&store, &three, 0).unwrap();
    // 250 ms later: without A, the five leave 7 free (2.5 cells refilled).
    store.refund(&three, a, 250 * MS);
    assert_eq!(remaining(&store, &one, 250 * MS), 7);

    // On an idle counter the charge started at its own time: 50 ms of it is left.
    let idle = LimitCheck::new(hasher.key(&PRINCIPAL, "idle"), &quota, 3);
    let b = charge(&store, &idle, 0).unwrap();
    store.refund(&idle, b, 250 * MS);
    assert_eq!(remaining(&store, &idle, 250 * MS), 10);
}

#[test]
fn interleaved_refunds_never_return_what_later_requests_took() {
    // Refunding `min(increment, tat_written − now)` alone is not enough: an earlier
    // refund lowers the later charges, so the TAT they wrote overstates them.
    let store = LocalStore::new();
    let quota = Quota::per_second(100).unwrap().burst(3).unwrap(); // T = 10 ms, τ = 20 ms
    let check = LimitCheck::new(KeyHasher::default().key(&TENANT, "acme"), &quota, 1);
    let i = charge(&store, &check, 0).unwrap(); // [0, 10)
    let j = charge(&store, &check, 0).unwrap(); // [10, 20)
    store.refund(&check, i, 0); // j now holds [0, 10)
    let k = 12 * MS;
    assert!(charge(&store, &check, k).is_some()); // [12, 22)
    // j has fully refilled by 12 ms: nothing of it is left to give back. (Trusting the
    // TAT j wrote, 20, would give back 8 ms of k's charge.)
    store.refund(&check, j, k);
    let later = 14 * MS;
    let admitted = (0..5)
        .filter(|_| charge(&store, &check, later).is_some())
        .count();
    // Only k was ever admitted before: exactly what a counter holding k alone allows.
    assert_eq!(admitted, 2);
    let mut kept = vec![(k, 1), (later, 1), (later, 1)];
    assert_conforms(&mut kept, &quota);
}

#[test]
fn refunds_in_charge_order_under_contention_give_everything_back() {
    // Five requests in flight on one counter, all refused, answers in the order they
    // were charged and after the clock moved: the counter ends full, as if none came.
    let store = LocalStore::new();
    let quota = Quota::per_second(10).unwrap(); // T = 100 ms, burst 10
    let check = LimitCheck::new(KeyHasher::default().key(&TENANT, "acme"), &quota, 1);
    let charges: Vec<Charge> = (0..5).map(|_| charge(&store, &check, 0).unwrap()).collect();
    assert_eq!(remaining(&store, &check, 0), 5);
    for c in &charges {
        store.refund(&check, *c, 50 * MS);
    }
    assert_eq!(remaining(&store, &check, 50 * MS), 10);
}

/// One step of a single counter's history.
#[derive(Debug, Clone)]
enum Step {
    Charge(u32),
    /// Refunds the pending charge at this index (modulo their number).
    Refund(usize),
    /// Keeps (admits for good) the pending charge at this index.
    Keep(usize),
    Advance(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1..=3u32).prop_map(Step::Charge),
        3 => any::<usize>().prop_map(Step::Refund),
        1 => any::<usize>().prop_map(Step::Keep),
        3 => (0..=12 * MS).prop_map(Step::Advance),
    ]
}

proptest! {
    #[test]
    fn refunds_in_any_order_never_over_admit(steps in prop::collection::vec(step(), 1..200)) {
        let store = LocalStore::new();
        let quota = Quota::per_second(100).unwrap().burst(4).unwrap(); // T = 10 ms
        let check_of = |cost| LimitCheck::new(KeyHasher::placeholder(), &quota, cost);
        let (mut now, mut pending, mut kept) = (0, Vec::new(), Vec::new());
        for step in steps {
            match step {
                Step::Charge(cost) => {
                    if let Some(c) = charge(&store, &check_of(cost), now) {
                        pending.push((now, cost, c));
                    }
                }
                Step::Refund(i) if !pending.is_empty() => {
                    let (_, cost, c) = pending.swap_remove(i % pending.len());
                    store.refund(&check_of(cost), c, now);
                }
                Step::Keep(i) if !pending.is_empty() => {
                    let (t, cost, _) = pending.swap_remove(i % pending.len());
                    kept.push((t, cost));
                }
                Step::Advance(d) => now += d,
                Step::Refund(_) | Step::Keep(_) => {}
            }
        }
        kept.extend(pending.iter().map(|&(t, cost, _)| (t, cost)));
        assert_conforms(&mut kept, &quota);
    }

    #[test]
    fn a_refund_with_nothing_in_between_restores_the_counter(
        before in prop::collection::vec((0..=30 * MS, 1..=3u32), 0..20),
        cost in 1..=3u32,
        wait in 0..=60 * MS,
    ) {
        let quota = Quota::per_second(100).unwrap().burst(4).unwrap();
        let (with, without) = (LocalStore::new(), LocalStore::new());
        let check_of = |cost| LimitCheck::new(KeyHasher::placeholder(), &quota, cost);
        let mut now = 0;
        for (advance, cost) in before {
            now += advance;
            charge(&with, &check_of(cost), now);
            charge(&without, &check_of(cost), now);
        }
        if let Some(c) = charge(&with, &check_of(cost), now) {
            with.refund(&check_of(cost), c, now + wait);
        }
        let status = check_of(0);
        prop_assert_eq!(with.peek(&status, now + wait), without.peek(&status, now + wait));
    }
}

#[test]
fn threads_refunding_late_and_out_of_order_never_over_admit() {
    // Threads charge one counter concurrently in rounds; between rounds the clock moves
    // by two emission intervals (the barrier orders rounds; nothing sleeps). Each thread
    // settles its pending charges in any order, often rounds later: it refunds most
    // (their strict limit refused) and keeps the rest (admitted).
    const THREADS: usize = 4;
    const ROUNDS: u64 = 400;
    const STEP: u64 = 2 * MS;
    let store = LocalStore::new();
    let quota = Quota::per_second(1000).unwrap().burst(3).unwrap(); // T = 1 ms
    let barrier = Barrier::new(THREADS);
    let mut kept: Vec<(u64, u32)> = thread::scope(|s| {
        let workers: Vec<_> = (1..=THREADS as u64)
            .map(|seed| {
                let (store, quota, barrier) = (&store, &quota, &barrier);
                s.spawn(move || {
                    let check_of = |cost| LimitCheck::new(KeyHasher::placeholder(), quota, cost);
                    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    let mut next = move || {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        rng
                    };
                    let (mut pending, mut kept) = (Vec::new(), Vec::new());
                    for round in 0..ROUNDS {
                        barrier.wait();
                        let now = round * STEP;
                        for _ in 0..2 {
                            let cost = 1 + u32::from(next() % 4 == 0);
                            if let Some(c) = charge(store, &check_of(cost), now) {
                                pending.push((now, cost, c));
                            }
                        }
                        let mut i = 0;
                        while i < pending.len() {
                            let roll = next() % 8;
                            if roll < 3 {
                                i += 1; // still waiting for its store
                                continue;
                            }
                            let (t, cost, c) = pending.swap_remove(i);
                            if roll == 3 {
                                kept.push((t, cost));
                            } else {
                                store.refund(&check_of(cost), c, now);
                            }
                        }
                    }
                    kept.extend(pending.iter().map(|&(t, cost, _)| (t, cost)));
                    kept
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    // Plenty was admitted and kept, so the check below has something to bite on.
    let used: u64 = kept.iter().map(|&(_, cost)| u64::from(cost)).sum();
    assert!(used > ROUNDS / 4, "only {used} admitted");
    assert_conforms(&mut kept, &quota);
}
