//! `LocalStore`: per-process GCRA state on governor's keyed state store, with compact
//! keys, scheduled eviction of idle keys and a hard cap on tracked keys.

use std::cell::Cell;
use std::fmt;
use std::future::{Future, ready};
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};

use crate::decision::RefusalReason;
use crate::error::LimitStoreError;
use crate::gcra::{self, Admitted, Denied};
use crate::key::{LimitKey, PreHashed};
use crate::store::{
    Admission, Admissions, BatchOutcome, LimitCheck, LimitStore, MAX_LIMITS, StoreRefusal,
};

/// The default hard cap on tracked keys.
pub const DEFAULT_MAX_KEYS: usize = 1_000_000;
/// The default hard cap on tracked keys of anonymous clients (their own table).
pub const DEFAULT_MAX_ANONYMOUS_KEYS: usize = 100_000;
/// The default time between scheduled sweeps of idle keys.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(10);

/// How many refund stripes a store has (see [`Charge`]). Refunds of keys that share a
/// stripe count against each other (conservatively: a refund then gives back less,
/// never more), so more stripes make an exact refund likelier under load: 1,024
/// stripes (16 KiB per store) make two busy keys collide about 16 times less often
/// than 64 did (`tests/concurrency.rs` refused an exact refund in 3 of 200 runs at 64).
const REFUND_STRIPES: usize = 1024;

/// What one admitted check wrote, so that it can be refunded safely later.
///
/// A refund must never give back capacity that another request consumed. Picture each
/// charge as an interval of length `increment` on the counter's TAT axis, ending where
/// it left the TAT: charges stack up, and the TAT is the top of the stack. At time
/// `now` only the part of our interval above `now` still counts (the rest has been
/// refilled), so a refund gives back at most `min(increment, top − now)`; cutting that
/// out lowers everything stacked above ours by the same amount, never below `now`.
///
/// The subtle part is *where* our interval is: a refund of an earlier charge (below
/// ours) lowers ours, so the TAT we wrote overstates our top. Using it anyway gives back
/// capacity that belongs to later requests (two interleaved refunds are enough; see the
/// tests). So every refund adds what it gave back to a per-stripe counter (`shifted`),
/// and a charge notes that counter: our top is at least `tat − (shifted now − epoch)`.
/// Refunds of one stripe are serialised, and each publishes its amount before the next
/// reads it; a charge reads the counter before its own update, so any refund it sees
/// happened before it (and a refund it does not see only makes us more cautious).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Charge {
    /// The TAT this charge wrote.
    tat: u64,
    /// What it added to the TAT (0: nothing charged).
    increment: u64,
    /// The stripe's `shifted` counter just before the charge.
    epoch: u64,
}

/// The charges of one batch, in the batch's order.
pub(crate) type Charges = [Charge; MAX_LIMITS];

/// Serialises the refunds of the counters whose hash falls in it, and sums what they
/// gave back.
#[derive(Debug, Default)]
struct RefundStripe {
    lock: Mutex<()>,
    shifted: AtomicU64,
}

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
///
/// **Anonymous clients have a table of their own** (counters whose key
/// [`is_anonymous`](crate::backend::LimitKey::is_anonymous), with its own cap,
/// [`max_anonymous_keys`](Self::with_max_anonymous_keys), default 100,000), so a flood
/// of anonymous addresses fills only that table: it can never make an authenticated
/// principal's new counter hit the cap.
pub struct LocalStore {
    principals: Table,
    anonymous: Table,
    sweep_interval: u64,
    next_sweep: AtomicU64,
    last_sweep: AtomicU64,
    refunds: [RefundStripe; REFUND_STRIPES],
}

/// One bounded table of counters.
struct Table {
    cells: DashMapStateStore<u64, BuildHasherDefault<PreHashed>>,
    /// Upper estimate of `cells.len()` between sweeps; exact after each.
    tracked: AtomicUsize,
    max_keys: usize,
}

impl Table {
    fn new(max_keys: usize) -> Self {
        Self {
            cells: DashMapStateStore::default(),
            tracked: AtomicUsize::new(0),
            max_keys,
        }
    }

    fn is_full(&self) -> bool {
        self.tracked.load(Ordering::Relaxed) >= self.max_keys
    }

    fn sweep_at(&self, now: u64) {
        // Drops cells whose stored value (TAT + 1) ≤ now + 1, i.e. TAT ≤ now.
        self.cells.retain_recent(Nanos::new(now.saturating_add(1)));
        let len = self.cells.len();
        self.tracked.store(len, Ordering::Relaxed);
        if self.cells.capacity() > 4096 && self.cells.capacity() / 4 > len {
            ShrinkableKeyedStateStore::shrink_to_fit(&self.cells);
        }
    }
}

impl fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalStore")
            .field("tracked", &self.principals.tracked.load(Ordering::Relaxed))
            .field("max_keys", &self.principals.max_keys)
            .field(
                "anonymous_tracked",
                &self.anonymous.tracked.load(Ordering::Relaxed),
            )
            .field("max_anonymous_keys", &self.anonymous.max_keys)
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
            principals: Table::new(DEFAULT_MAX_KEYS),
            anonymous: Table::new(DEFAULT_MAX_ANONYMOUS_KEYS),
            sweep_interval: nanos(DEFAULT_SWEEP_INTERVAL),
            next_sweep: AtomicU64::new(nanos(DEFAULT_SWEEP_INTERVAL)),
            last_sweep: AtomicU64::new(0),
            refunds: std::array::from_fn(|_| RefundStripe::default()),
        }
    }

    /// The hard cap on tracked counters of principals (at least 1).
    pub fn with_max_keys(mut self, max_keys: usize) -> Self {
        self.principals.max_keys = max_keys.max(1);
        self
    }

    /// The hard cap on tracked counters of anonymous clients, in their own table (at
    /// least 1).
    pub fn with_max_anonymous_keys(mut self, max_keys: usize) -> Self {
        self.anonymous.max_keys = max_keys.max(1);
        self
    }

    /// How often idle counters are swept out (at least 1 ns).
    pub fn with_sweep_interval(mut self, interval: Duration) -> Self {
        self.sweep_interval = nanos(interval).max(1);
        self.next_sweep = AtomicU64::new(self.sweep_interval);
        self
    }

    /// The hard cap on tracked counters of principals.
    pub fn max_keys(&self) -> usize {
        self.principals.max_keys
    }

    /// The hard cap on tracked counters of anonymous clients.
    pub fn max_anonymous_keys(&self) -> usize {
        self.anonymous.max_keys
    }

    /// How many counters are tracked now, in both tables.
    pub fn len(&self) -> usize {
        self.principals.cells.len() + self.anonymous.cells.len()
    }

    /// How many counters of anonymous clients are tracked now.
    pub fn anonymous_len(&self) -> usize {
        self.anonymous.cells.len()
    }

    /// Whether no counter is tracked.
    pub fn is_empty(&self) -> bool {
        self.principals.cells.is_empty() && self.anonymous.cells.is_empty()
    }

    /// The table a counter lives in.
    #[inline]
    fn table(&self, key: &LimitKey<'_>) -> &Table {
        if key.is_anonymous() {
            &self.anonymous
        } else {
            &self.principals
        }
    }

    /// Drops every idle counter (one whose burst is full again at `now`, on the
    /// limiter's clock) and returns the memory of a mostly empty table.
    pub fn sweep(&self, now: Duration) {
        self.sweep_at(nanos(now));
    }

    fn sweep_at(&self, now: u64) {
        self.last_sweep.store(now, Ordering::Release);
        self.principals.sweep_at(now);
        self.anonymous.sweep_at(now);
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

    /// `table` is at its cap: sweeps if allowed; `Err(wait)` when it stays full.
    fn make_room(&self, table: &Table, now: u64) -> Result<(), u64> {
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
        if table.is_full() {
            let last = self.last_sweep.load(Ordering::Acquire);
            Err(last.saturating_add(gap).saturating_sub(now).max(1))
        } else {
            Ok(())
        }
    }

    /// Charges one check, or says why not. Never charges a refused check.
    #[inline]
    fn admit(
        &self,
        check: &LimitCheck<'_>,
        now: u64,
    ) -> Result<(Admitted, Charge), (RefusalReason, Option<u64>)> {
        let quota = check.quota();
        if check.cost() > quota.max_burst() {
            return Err((RefusalReason::CostExceedsBurst, None));
        }
        if check.cost() == 0 {
            return self
                .peek(check, now)
                .map(|admitted| (admitted, Charge::default()))
                .map_err(refusal);
        }
        let table = self.table(check.key());
        let key = check.key().hash();
        if table.is_full() && !table.cells.contains_key(&key) {
            self.make_room(table, now)
                .map_err(|wait| (RefusalReason::KeyCapacity, Some(wait)))?;
        }
        // Read before the update: a refund seen here happened before this charge.
        let epoch = self.stripe(key).shifted.load(Ordering::Acquire);
        let inserted = Cell::new(false);
        let written = Cell::new(0);
        let result = table.cells.measure_and_replace(&key, |stored| {
            if stored.is_none() {
                inserted.set(true);
            }
            gcra::decide(decode(stored), now, quota, check.cost()).map(|(admitted, tat)| {
                written.set(tat);
                (admitted, encode(tat))
            })
        });
        if inserted.get() {
            table.tracked.fetch_add(1, Ordering::Relaxed);
        }
        let charge = Charge {
            tat: written.get(),
            increment: gcra::increment(quota, check.cost()),
            epoch,
        };
        result.map(|admitted| (admitted, charge)).map_err(refusal)
    }

    #[inline]
    fn stripe(&self, key: u64) -> &RefundStripe {
        // Any bits do: the key is a keyed SipHash. The remainder is below 64.
        let index = usize::try_from(key % REFUND_STRIPES as u64).unwrap_or(0);
        &self.refunds[index]
    }

    /// What charging `check` would do now, without charging or inserting anything.
    pub(crate) fn peek(&self, check: &LimitCheck<'_>, now: u64) -> Result<Admitted, Denied> {
        let cells = &self.table(check.key()).cells;
        let key = check.key().hash();
        let decide =
            |stored: Option<Nanos>| gcra::decide(decode(stored), now, check.quota(), check.cost());
        if !cells.contains_key(&key) {
            return decide(None).map(|(admitted, _)| admitted);
        }
        // The closure always returns `Err`, so nothing is written.
        match cells.measure_and_replace(&key, |stored| Err::<((), Nanos), _>(decide(stored))) {
            Err(Ok((admitted, _))) => Ok(admitted),
            Err(Err(denied)) => Err(denied),
            Ok(()) => Err(Denied::Never),
        }
    }

    /// Gives back what `charge` (of `check`) still holds at `now`, after a later limit
    /// refused the request, and never more: the part of it that time has already
    /// refilled, and any capacity later requests took, stay charged. See [`Charge`].
    ///
    /// Exact when no other request touched the counter in between; otherwise it may give
    /// back less than was charged (a conservative refusal later, never an over-admission).
    pub(crate) fn refund(&self, check: &LimitCheck<'_>, charge: Charge, now: u64) {
        if charge.increment == 0 || charge.tat <= now {
            return; // nothing charged, or all of it refilled already
        }
        let cells = &self.table(check.key()).cells;
        let key = check.key().hash();
        if !cells.contains_key(&key) {
            return; // swept out: it is idle, nothing to give back
        }
        let stripe = self.stripe(key);
        let _serial = stripe.lock.lock().unwrap_or_else(PoisonError::into_inner);
        // Earlier refunds lowered our interval by at most this much.
        let lowered = stripe
            .shifted
            .load(Ordering::Acquire)
            .wrapping_sub(charge.epoch);
        let top = charge.tat.saturating_sub(lowered);
        let owed = charge.increment.min(top.saturating_sub(now));
        if owed == 0 {
            return;
        }
        let given = Cell::new(0);
        let refunded = cells.measure_and_replace(&key, |stored| match decode(stored) {
            Some(tat) if tat > now => {
                let give = owed.min(tat - now);
                given.set(give);
                Ok(((), encode(tat - give)))
            }
            _ => Err(()),
        });
        if refunded.is_ok() {
            stripe.shifted.fetch_add(given.get(), Ordering::Release);
        }
    }

    /// Refunds the charges of `checks` (see [`refund`](Self::refund)), latest first.
    pub(crate) fn refund_all(&self, checks: &[LimitCheck<'_>], charges: &Charges, now: u64) {
        for (check, charge) in checks.iter().zip(charges).rev() {
            self.refund(check, *charge, now);
        }
    }

    /// Charges every check or none: charges in order and refunds on a refusal. What was
    /// charged goes to `charges`, for a later [`refund_all`](Self::refund_all).
    #[inline]
    pub(crate) fn acquire_at(
        &self,
        checks: &[LimitCheck<'_>],
        now: u64,
        admissions: &mut Admissions,
        charges: &mut Charges,
    ) -> Result<(), StoreRefusal> {
        self.maybe_sweep(now);
        for (index, check) in checks.iter().enumerate() {
            match self.admit(check, now) {
                Ok((admitted, charge)) => {
                    // A batch never exceeds MAX_LIMITS; the limiter builds them.
                    let _ = admissions.push(to_admission(admitted));
                    if let Some(slot) = charges.get_mut(index) {
                        *slot = charge;
                    }
                }
                Err((reason, wait)) => {
                    self.refund_all(&checks[..index], charges, now);
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
        let mut charges = Charges::default();
        let outcome = match self.acquire_at(checks, nanos(now), &mut admissions, &mut charges) {
            Ok(()) => BatchOutcome::Admitted(admissions),
            Err(refusal) => BatchOutcome::Refused(refusal),
        };
        ready(Ok(outcome))
    }
}

#[cfg(test)]
mod tests;
