//! The GCRA decision on one key, as a pure function of its theoretical arrival time
//! (TAT), the time, the quota and the cost. Stores only keep the TAT.

use crate::quota::Quota;

/// What admitting a request left: how many cost-1 requests would still pass now, and
/// how long until the key is back to a full burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Admitted {
    pub(crate) remaining: u64,
    pub(crate) reset_nanos: u64,
}

/// Why a request did not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denied {
    /// It would pass after this many nanoseconds (if nothing else is admitted meanwhile).
    Wait(u64),
    /// Its cost exceeds the burst: it can never pass.
    Never,
}

/// Tests `cost` against a key whose TAT is `tat` (`None`: untracked, i.e. full) at
/// `now`. On success returns the status and the new TAT to store.
///
/// GCRA with emission interval T and tolerance τ = T·(burst − 1): a request of cost c
/// passes iff `now ≥ max(tat, now) + c·T − T − τ`, and then `tat ← max(tat, now) + c·T`.
/// A cost of 0 always passes and leaves the TAT unchanged in meaning.
#[inline]
pub(crate) fn decide(
    tat: Option<u64>,
    now: u64,
    quota: &Quota,
    cost: u32,
) -> Result<(Admitted, u64), Denied> {
    if cost > quota.max_burst() {
        return Err(Denied::Never);
    }
    let t = quota.emission_nanos();
    let tau = quota.tolerance_nanos();
    let base = tat.map_or(now, |tat| tat.max(now));
    // cost ≤ burst and T·burst ≤ 2^62, so this cannot overflow.
    let increment = t * u64::from(cost);
    let new_tat = base.saturating_add(increment);
    let earliest = new_tat.saturating_sub(t + tau);
    if now < earliest {
        return Err(Denied::Wait(earliest - now));
    }
    Ok((status(new_tat, now, quota), new_tat))
}

/// The status of a key whose TAT is `tat`, at `now`.
#[inline]
pub(crate) fn status(tat: u64, now: u64, quota: &Quota) -> Admitted {
    let t = quota.emission_nanos();
    let tau = quota.tolerance_nanos();
    Admitted {
        remaining: now.saturating_add(tau + t).saturating_sub(tat) / t,
        reset_nanos: tat.saturating_sub(now),
    }
}

/// The cost in nanoseconds of TAT that admitting `cost` added (for refunds).
pub(crate) fn increment(quota: &Quota, cost: u32) -> u64 {
    quota.emission_nanos() * u64::from(cost.min(quota.max_burst()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    /// Runs `n` cost-1 requests at `now`, threading the TAT; returns how many passed.
    fn burst_at(tat: &mut Option<u64>, now: u64, q: &Quota, n: u32) -> u32 {
        let mut passed = 0;
        for _ in 0..n {
            if let Ok((_, new)) = decide(*tat, now, q, 1) {
                *tat = Some(new);
                passed += 1;
            }
        }
        passed
    }

    #[test]
    fn an_idle_key_passes_exactly_the_burst_then_waits_one_interval() {
        let q = Quota::per_second(10).unwrap().burst(20).unwrap();
        let mut tat = None;
        assert_eq!(burst_at(&mut tat, 0, &q, 25), 20);
        assert_eq!(decide(tat, 0, &q, 1), Err(Denied::Wait(SEC / 10)));
        // One interval later exactly one more passes.
        assert_eq!(burst_at(&mut tat, SEC / 10, &q, 5), 1);
    }

    #[test]
    fn remaining_and_reset_count_down() {
        let q = Quota::per_minute(100).unwrap();
        let (first, tat) = decide(None, 0, &q, 1).unwrap();
        assert_eq!(
            first,
            Admitted {
                remaining: 99,
                reset_nanos: 600_000_000
            }
        );
        let (second, _) = decide(Some(tat), 0, &q, 3).unwrap();
        assert_eq!(
            second,
            Admitted {
                remaining: 96,
                reset_nanos: 2_400_000_000
            }
        );
    }

    #[test]
    fn cost_counts_as_that_many_requests_and_over_burst_never_passes() {
        let q = Quota::per_second(5).unwrap();
        assert_eq!(decide(None, 0, &q, 6), Err(Denied::Never));
        let (s, tat) = decide(None, 0, &q, 5).unwrap();
        assert_eq!(s.remaining, 0);
        // All five cells must come back before a cost-5 request passes again.
        assert_eq!(decide(Some(tat), 0, &q, 5), Err(Denied::Wait(SEC)));
        assert_eq!(decide(Some(tat), 0, &q, 1), Err(Denied::Wait(SEC / 5)));
    }

    #[test]
    fn cost_zero_reports_without_spending() {
        let q = Quota::per_second(5).unwrap();
        let (s, tat) = decide(None, 0, &q, 0).unwrap();
        assert_eq!((s.remaining, tat), (5, 0));
        let (_, full) = decide(None, 0, &q, 5).unwrap();
        let (s, same) = decide(Some(full), 0, &q, 0).unwrap();
        assert_eq!((s.remaining, same), (0, full));
    }

    #[test]
    fn a_full_period_refills_the_whole_burst() {
        let q = Quota::per_hour(3).unwrap();
        let mut tat = None;
        assert_eq!(burst_at(&mut tat, 0, &q, 10), 3);
        let drained = tat;
        assert_eq!(burst_at(&mut tat, 3600 * SEC - 1, &q, 10), 2);
        tat = drained;
        assert_eq!(burst_at(&mut tat, 3600 * SEC, &q, 10), 3);
        assert_eq!(increment(&q, 2), 2400 * SEC);
    }
}
