//! Injectable time.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time, in whole seconds since the Unix epoch (the unit of
/// JWT `NumericDate` claims). Inject [`ManualClock`] in tests; never sleep to expire.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Seconds since 1970-01-01T00:00:00Z.
    fn now(&self) -> i64;
}

/// The system clock, read at whole-second resolution.
///
/// Reading the time costs a system call's worth (~20 ns) per request, so the first use
/// starts one background thread that stores the current second every 50 ms, and
/// `now()` is then a single atomic load. Credentials are checked at second
/// granularity, so the value is never more than 50 ms stale where it matters. If the
/// thread cannot be started, every call reads the system time directly.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

/// 0 until the ticker runs.
static TICK: AtomicI64 = AtomicI64::new(0);

fn read_system_time() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        // A clock before 1970 is broken; report the epoch rather than panic.
        Err(_) => 0,
    }
}

fn start_ticker() -> bool {
    TICK.store(read_system_time(), Ordering::Relaxed);
    std::thread::Builder::new()
        .name("tokenkit-clock".to_owned())
        .spawn(|| {
            loop {
                std::thread::sleep(std::time::Duration::from_millis(50));
                TICK.store(read_system_time(), Ordering::Relaxed);
            }
        })
        .is_ok()
}

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        static TICKER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if *TICKER.get_or_init(start_ticker) {
            TICK.load(Ordering::Relaxed)
        } else {
            read_system_time()
        }
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock set to `now` seconds since the epoch.
    pub fn new(now: i64) -> Self {
        ManualClock {
            now: Arc::new(AtomicI64::new(now)),
        }
    }

    /// Sets the time.
    pub fn set(&self, now: i64) {
        self.now.store(now, Ordering::SeqCst);
    }

    /// Moves the time forward (or back, for negative `secs`).
    pub fn advance(&self, secs: i64) {
        self.now.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(100);
        let shared = c.clone();
        c.advance(5);
        assert_eq!(shared.now(), 105);
        shared.set(7);
        assert_eq!(c.now(), 7);
        assert!(SystemClock.now() > 1_700_000_000);
        assert!((SystemClock.now() - read_system_time()).abs() <= 1);
    }
}
