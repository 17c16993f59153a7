//! Injectable time: one [`Clock`] for every tokenkit crate.
//!
//! Credentials expire by the wall clock in whole seconds ([`Clock::now`]), the audit
//! trail orders events by the wall clock in nanoseconds ([`Clock::unix_nanos`]), and
//! rate limits count sub-second time that never runs backwards ([`Clock::elapsed`]).
//! [`SystemClock`] reads the operating system; [`ManualClock`] moves only when a test
//! tells it to, so no test sleeps to wait for an expiry or a refill.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// A source of the current time.
///
/// ```
/// use std::time::Duration;
/// use token_core::{Clock, ManualClock};
///
/// let clock = ManualClock::new(1_800_000_000);
/// let handle = clock.clone(); // clones share one time
/// handle.advance(Duration::from_millis(1_500));
/// assert_eq!(clock.now(), 1_800_000_001);
/// assert_eq!(clock.unix_nanos(), 1_800_000_001_500_000_000);
/// ```
pub trait Clock: Send + Sync + fmt::Debug {
    /// Nanoseconds since 1970-01-01T00:00:00Z (UTC wall time; it may jump when the
    /// system's time is set).
    fn unix_nanos(&self) -> i64;

    /// Time since an arbitrary fixed origin that never decreases, for measuring
    /// intervals (rate limits). The default reads [`Clock::unix_nanos`]; clocks whose
    /// wall time can be set back override it.
    fn elapsed(&self) -> Duration {
        Duration::from_nanos(u64::try_from(self.unix_nanos()).unwrap_or(0))
    }

    /// Whole seconds since 1970-01-01T00:00:00Z (the unit of JWT `NumericDate`
    /// claims and key expiries), rounded down.
    fn now(&self) -> i64 {
        self.unix_nanos().div_euclid(NANOS_PER_SEC)
    }
}

/// The operating system's clocks: [`SystemTime`] for wall time, [`Instant`] for
/// [`Clock::elapsed`]. Reading it starts no thread and holds no state.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_nanos(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            // A clock before 1970 is broken; report the epoch rather than panic.
            Err(_) => 0,
        }
    }

    #[inline]
    fn elapsed(&self) -> Duration {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed()
    }
}

/// A clock that only moves when told to. Clones share the same time, so a test keeps
/// one clone and hands another to the code under test.
///
/// [`Clock::elapsed`] reads the same time: set the clock back only in a test about
/// wall-clock jumps, never under a rate limiter.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock set to `now` whole seconds since the epoch.
    pub fn new(now: i64) -> Self {
        let clock = ManualClock::default();
        clock.set(now);
        clock
    }

    /// Sets the time to `now` whole seconds since the epoch.
    pub fn set(&self, now: i64) {
        self.set_nanos(now.saturating_mul(NANOS_PER_SEC));
    }

    /// Sets the time to `nanos` nanoseconds since the epoch.
    pub fn set_nanos(&self, nanos: i64) {
        self.nanos.store(nanos, Ordering::SeqCst);
    }

    /// Moves the time forward by `by` (saturating).
    pub fn advance(&self, by: Duration) {
        self.add_nanos(i64::try_from(by.as_nanos()).unwrap_or(i64::MAX));
    }

    /// Moves the time forward by whole seconds, or back for negative `secs`.
    pub fn advance_secs(&self, secs: i64) {
        self.add_nanos(secs.saturating_mul(NANOS_PER_SEC));
    }

    fn add_nanos(&self, delta: i64) {
        // fetch_update never fails with a closure that always returns Some.
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(delta))
            });
    }
}

impl Clock for ManualClock {
    fn unix_nanos(&self) -> i64 {
        self.nanos.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(100);
        let shared = c.clone();
        c.advance_secs(5);
        assert_eq!(shared.now(), 105);
        shared.set(7);
        assert_eq!(c.now(), 7);
        c.advance(Duration::from_millis(2_500));
        assert_eq!(c.unix_nanos(), 9_500_000_000);
        assert_eq!(c.now(), 9);
        assert_eq!(c.elapsed(), Duration::from_millis(9_500));
        c.advance_secs(-10);
        assert_eq!(c.now(), -1, "before the epoch rounds down");
        assert_eq!(c.elapsed(), Duration::ZERO);
    }

    #[test]
    fn manual_clock_saturates() {
        let c = ManualClock::new(0);
        c.advance(Duration::MAX);
        assert_eq!(c.unix_nanos(), i64::MAX);
        c.set(i64::MIN);
        assert_eq!(c.unix_nanos(), i64::MIN);
    }

    #[test]
    fn the_system_clock_reads_the_system() {
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let now = u64::try_from(SystemClock.now()).unwrap();
        assert!(now >= before && now <= before + 1);
        let a = SystemClock.elapsed();
        assert!(SystemClock.elapsed() >= a);
    }
}
