//! `LocalStore`: per-process GCRA state on governor's keyed state store, with compact
//! keys, scheduled eviction of idle keys and a hard cap on tracked keys.

use std::cell::Cell;
use std::fmt;
use std::future::{Future, ready};
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};

use crate::decision::RefusalReason;
use crate::error::LimitStoreError;
use crate::gcra::{self, Admitted, Denied};
use crate::key::PreHashed;
use crate::store::{Admission, Admissions, BatchOutcome, LimitCheck, LimitStore, StoreRefusal};

/// The default hard cap on tracked keys.
pub const DEFAULT_MAX_KEYS: usize = 1_000_000;
/// The default time between scheduled sweeps of idle keys.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(10);

/// A cell's stored value is the TAT plus one, so that governor's "0 = absent" never
/// collides with a TAT of 0.
#[inline]
fn encode(tat: u64) -> Nanos {
    Nanos::new(tat.saturating_add(1))
}

#[inline]
fn decode(stored: Option<Nanos>) -> Option<u64> {
    stored.map(|s| s.as_u64().saturating_sub(1))
}

/// Per-process rate-limit state: one GCRA cell (8 bytes) per counter, keyed by a
/// 64-bit hash, in governor's sharded `DashMapStateStore`.
///
/// **Memory is bounded.** A counter whose theoretical arrival time has passed is back
/// to a full burst, exactly as if it had never been seen, so dropping it loses
/// nothing. Such *idle* counters are swept out every
/// [`sweep_interval`](Self::with_sweep_interval) (default 10 s) by whichever request
/// first sees the interval elapse (no background thread; one pass over the table).
///
/// **At the cap** ([`max_keys`](Self::with_max_keys), default 1,000,000) a request for
/// an untracked counter first triggers an extra sweep (at most one per tenth of the
/// sweep interval, so a flood cannot make every request scan the table); if the table
/// is still full, the request is refused with [`RefusalReason::KeyCapacity`] and a
/// retry-after of when the next sweep may run. Tracked counters keep working. This
/// fails closed: a flood of distinct keys can exhaust the cap but never memory, and is
/// never admitted unaccounted. Size the cap above the number of counters active within
/// one period. Under concurrent inserts the cap may be exceeded by at most the number
/// of threads inserting at that instant.
pub struct LocalStore {
    cells: DashMapStateStore<u64, BuildHasherDefault<PreHashed>>,
    /// Upper estimate of `cells.len()` between sweeps; exact after each.
    tracked: AtomicUsize,
    max_keys: usize,
    sweep_interval: u64,
    next_sweep: AtomicU64,
    last_sweep: AtomicU64,
}

impl fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalStore")
            .field("tracked", &self.tracked.load(Ordering::Relaxed))
            .field("max_keys", &self.max_keys)
            .field("sweep_interval", &Duration::from_nanos(self.sweep_interval))
            .finish_non_exhaustive()
    }
}

impl Default for LocalStore {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalStore {
    /// An empty store with the default cap and sweep interval.
    pub fn new() -> Self {
        Self {
            cells: DashMapStateStore::default(),
            tracked: AtomicUsize::new(0),
            max_keys: DEFAULT_MAX_KEYS,
            sweep_interval: nanos(DEFAULT_SWEEP_INTERVAL),
            next_sweep: AtomicU64::new(nanos(DEFAULT_SWEEP_INTERVAL)),
            last_sweep: AtomicU64::new(0),
        }
    }

    /// The hard cap on tracked counters (at least 1).
    pub fn with_max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys.max(1);
        self
    }

    /// How often idle counters are swept out (at least 1 ns).
    pub fn with_sweep_interval(mut self, interval: Duration) -> Self {
        self.sweep_interval = nanos(interval).max(1);
        self.next_sweep = AtomicU64::new(self.sweep_interval);
        self
    }

    /// The hard cap on tracked counters.
    pub fn max_keys(&self) -> usize {
        self.max_keys
    }

    /// How many counters are tracked now.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether no counter is tracked.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Drops every idle counter (one whose burst is full again at `now`, on the
    /// limiter's clock) and returns the memory of a mostly empty table.
    pub fn sweep(&self, now: Duration) {
        self.sweep_at(nanos(now));
    }

    fn sweep_at(&self, now: u64) {
        self.last_sweep.store(now, Ordering::Release);
        // Drops cells whose stored value (TAT + 1) ≤ now + 1, i.e. TAT ≤ now.
        self.cells.retain_recent(Nanos::new(now.saturating_add(1)));
        let len = self.cells.len();
        self.tracked.store(len, Ordering::Relaxed);
        if self.cells.capacity() > 4096 && self.cells.capacity() / 4 > len {
            ShrinkableKeyedStateStore::shrink_to_fit(&self.cells);
        }
    }

    /// Runs the scheduled sweep if its time has come and no other thread claimed it.
    #[inline]
    fn maybe_sweep(&self, now: u64) {
        let next = self.next_sweep.load(Ordering::Relaxed);
        if now >= next
            && self
                .next_sweep
                .compare_exchange(
                    next,
                    now.saturating_add(self.sweep_interval),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            self.sweep_at(now);
        }
    }

    /// At the cap: sweeps if allowed; `Err(wait)` when the table stays full.
    fn make_room(&self, now: u64) -> Result<(), u64> {
        let gap = (self.sweep_interval / 10).max(1);
        let last = self.last_sweep.load(Ordering::Acquire);
        let next_allowed = last.saturating_add(gap);
        if now >= next_allowed
            && self
                .last_sweep
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.sweep_at(now);
        }
        if self.tracked.load(Ordering::Relaxed) < self.max_keys {
            Ok(())
        } else {
            let last = self.last_sweep.load(Ordering::Acquire);
            Err(last.saturating_add(gap).saturating_sub(now).max(1))
        }
    }

    /// Charges one check, or says why not. Never charges a refused check.
    #[inline]
    fn admit(
        &self,
        check: &LimitCheck<'_>,
        now: u64,
    ) -> Result<Admitted, (RefusalReason, Option<u64>)> {
        let quota = check.quota();
        if check.cost() > quota.max_burst() {
            return Err((RefusalReason::CostExceedsBurst, None));
        }
        if check.cost() == 0 {
            return self.peek(check, now).map_err(refusal);
        }
        let key = check.key().hash();
        if self.tracked.load(Ordering::Relaxed) >= self.max_keys && !self.cells.contains_key(&key) {
            self.make_room(now)
                .map_err(|wait| (RefusalReason::KeyCapacity, Some(wait)))?;
        }
        let inserted = Cell::new(false);
        let result = self.cells.measure_and_replace(&key, |stored| {
            if stored.is_none() {
                inserted.set(true);
            }
            gcra::decide(decode(stored), now, quota, check.cost())
                .map(|(admitted, tat)| (admitted, encode(tat)))
        });
        if inserted.get() {
            self.tracked.fetch_add(1, Ordering::Relaxed);
        }
        result.map_err(refusal)
    }

    /// What charging `check` would do now, without charging or inserting anything.
    pub(crate) fn peek(&self, check: &LimitCheck<'_>, now: u64) -> Result<Admitted, Denied> {
        let key = check.key().hash();
        let decide =
            |stored: Option<Nanos>| gcra::decide(decode(stored), now, check.quota(), check.cost());
        if !self.cells.contains_key(&key) {
            return decide(None).map(|(admitted, _)| admitted);
        }
        // The closure always returns `Err`, so nothing is written.
        match self
            .cells
            .measure_and_replace(&key, |stored| Err::<((), Nanos), _>(decide(stored)))
        {
            Err(Ok((admitted, _))) => Ok(admitted),
            Err(Err(denied)) => Err(denied),
            Ok(()) => Err(Denied::Never),
        }
    }

    /// Gives back what `check` charged (after a later limit refused the request).
    /// Increments commute, so subtracting one is exact under concurrency; meanwhile
    /// other requests may have been refused conservatively (never over-admitted).
    pub(crate) fn refund(&self, check: &LimitCheck<'_>) {
        if check.cost() == 0 {
            return;
        }
        let key = check.key().hash();
        if !self.cells.contains_key(&key) {
            return; // swept out: it is idle, nothing to give back
        }
        let increment = gcra::increment(check.quota(), check.cost());
        let _ = self
            .cells
            .measure_and_replace(&key, |stored| match decode(stored) {
                Some(tat) => Ok(((), encode(tat.saturating_sub(increment)))),
                None => Err(()),
            });
    }

    /// Charges every check or none: charges in order and refunds on a refusal.
    #[inline]
    pub(crate) fn acquire_at(
        &self,
        checks: &[LimitCheck<'_>],
        now: u64,
        admissions: &mut Admissions,
    ) -> Result<(), StoreRefusal> {
        self.maybe_sweep(now);
        for (index, check) in checks.iter().enumerate() {
            match self.admit(check, now) {
                Ok(admitted) => {
                    // A batch never exceeds MAX_LIMITS; the limiter builds them.
                    let _ = admissions.push(to_admission(admitted));
                }
                Err((reason, wait)) => {
                    for charged in &checks[..index] {
                        self.refund(charged);
                    }
                    return Err(StoreRefusal::new(
                        index,
                        reason,
                        wait.map(Duration::from_nanos),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[inline]
fn refusal(denied: Denied) -> (RefusalReason, Option<u64>) {
    match denied {
        Denied::Wait(wait) => (RefusalReason::Exhausted, Some(wait)),
        Denied::Never => (RefusalReason::CostExceedsBurst, None),
    }
}

#[inline]
pub(crate) fn to_admission(admitted: Admitted) -> Admission {
    Admission::new(
        admitted.remaining,
        Duration::from_nanos(admitted.reset_nanos),
    )
}

pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl LimitStore for LocalStore {
    fn acquire(
        &self,
        checks: &[LimitCheck<'_>],
        now: Duration,
    ) -> impl Future<Output = Result<BatchOutcome, LimitStoreError>> + Send {
        let mut admissions = Admissions::new();
        let outcome = match self.acquire_at(checks, nanos(now), &mut admissions) {
            Ok(()) => BatchOutcome::Admitted(admissions),
            Err(refusal) => BatchOutcome::Refused(refusal),
        };
        ready(Ok(outcome))
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::*;
    use crate::key::{KeyHasher, PRINCIPAL, TENANT};
    use crate::quota::Quota;

    #[test]
    fn peeking_and_refunding_never_insert() {
        let store = LocalStore::new();
        let hasher = KeyHasher::default();
        let quota = Quota::per_second(2).unwrap();
        let one = LimitCheck::new(hasher.key(&PRINCIPAL, "a"), &quota, 1);
        assert_eq!(store.peek(&one, 0).unwrap().remaining, 1);
        store.refund(&one);
        assert!(store.is_empty());
        store.acquire_at(&[one], 0, &mut Admissions::new()).unwrap();
        assert_eq!(store.len(), 1);
        // The refund gives the cell back: both cells are free again.
        store.refund(&one);
        let two = LimitCheck::new(hasher.key(&PRINCIPAL, "a"), &quota, 2);
        assert_eq!(
            {
                let mut admitted = Admissions::new();
                store.acquire_at(&[two], 0, &mut admitted).unwrap();
                admitted.as_slice()[0].remaining()
            },
            0
        );
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
        assert!(
            matches!(call(Duration::ZERO), BatchOutcome::Admitted(a) if a.as_slice().len() == 2)
        );
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
}
