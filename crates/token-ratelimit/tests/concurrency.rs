//! Many threads, a frozen clock: never more admitted than the limits allow.

mod common;

use std::sync::Arc;
use std::thread;

use common::{peek, q};
use token_core::ManualClock;
use token_ratelimit::{CheckRequest, Limiter};

const THREADS: usize = 4;

#[test]
fn threads_sharing_one_key_get_exactly_the_burst() {
    let limiter = Arc::new(
        Limiter::builder()
            .principal(q("10/second burst 500"))
            .clock(ManualClock::default())
            .build()
            .unwrap(),
    );
    let admitted: usize = (0..THREADS)
        .map(|_| {
            let limiter = Arc::clone(&limiter);
            thread::spawn(move || {
                let shared = CheckRequest::new("shared");
                (0..1_000)
                    .filter(|_| limiter.try_check(&shared).unwrap().is_allowed())
                    .count()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .sum();
    assert_eq!(admitted, 500);
}

#[test]
fn layered_refunds_under_contention_are_exact() {
    // Each thread has its own principal (burst 100) and all share one tenant limit
    // of 150: the tenant limit refuses most requests, and each refusal refunds the
    // principal charge taken just before it.
    let limiter = Arc::new(
        Limiter::builder()
            .principal(q("100/minute"))
            .tenant(q("150/minute"))
            .clock(ManualClock::default())
            .build()
            .unwrap(),
    );
    let per_thread: Vec<(String, usize)> = (0..THREADS)
        .map(|t| {
            let limiter = Arc::clone(&limiter);
            thread::spawn(move || {
                let id = format!("p{t}");
                let request = CheckRequest::new(&id).tenant(Some("acme"));
                let n = (0..1_000)
                    .filter(|_| limiter.try_check(&request).unwrap().is_allowed())
                    .count();
                (id, n)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let total: usize = per_thread.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 150);
    for (id, n) in &per_thread {
        assert!(*n <= 100);
        // The principal counter holds exactly what was admitted, nothing refused.
        let principal_only = peek(&*limiter, &CheckRequest::new(id));
        let status = principal_only.status().unwrap();
        assert_eq!(status.name().as_str(), "principal");
        assert_eq!(status.remaining(), 100 - *n as u64, "{id}: admitted {n}");
    }
}
