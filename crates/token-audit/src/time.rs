//! Injectable sub-second UTC time, and RFC 3339 timestamps.
//!
//! token-core's `Clock` counts whole seconds; an audit trail wants sub-second order, so
//! this crate has its own small source of time. Tests inject [`ManualTime`].

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use token_core::civil::{civil_from_days, days_from_civil};

/// A source of the current time in nanoseconds since the Unix epoch (UTC).
pub trait TimeSource: Send + Sync + fmt::Debug {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    fn now_nanos(&self) -> i64;

    /// The current time as a [`Timestamp`].
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_nanos(self.now_nanos())
    }
}

/// The system's real-time clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemTimeSource;

impl TimeSource for SystemTimeSource {
    fn now_nanos(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            // A clock before 1970 is broken; report the epoch rather than panic.
            Err(_) => 0,
        }
    }
}

/// A time source that moves only when told to. Clones share one time.
#[derive(Debug, Clone, Default)]
pub struct ManualTime {
    nanos: Arc<AtomicI64>,
}

impl ManualTime {
    /// A time source that reads `unix_secs` seconds since the epoch.
    pub fn at_unix_secs(unix_secs: i64) -> Self {
        let t = ManualTime::default();
        t.set_nanos(unix_secs.saturating_mul(1_000_000_000));
        t
    }

    /// Sets the time, in nanoseconds since the epoch.
    pub fn set_nanos(&self, nanos: i64) {
        self.nanos.store(nanos, Ordering::SeqCst);
    }

    /// Moves the time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(by))
            });
    }
}

impl TimeSource for ManualTime {
    fn now_nanos(&self) -> i64 {
        self.nanos.load(Ordering::SeqCst)
    }
}

/// An instant in UTC with microsecond precision, shown and serialized as RFC 3339
/// (`2026-11-28T10:45:00.123456Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    micros: i64,
}

impl Timestamp {
    /// The instant `nanos` nanoseconds after the epoch (truncated to microseconds).
    pub fn from_unix_nanos(nanos: i64) -> Self {
        Timestamp {
            micros: nanos.div_euclid(1000),
        }
    }

    /// The instant `micros` microseconds after the epoch.
    pub fn from_unix_micros(micros: i64) -> Self {
        Timestamp { micros }
    }

    /// Microseconds since the epoch.
    pub fn unix_micros(self) -> i64 {
        self.micros
    }

    /// Whole seconds since the epoch (rounded down).
    pub fn unix_secs(self) -> i64 {
        self.micros.div_euclid(1_000_000)
    }

    /// `YYYY-MM-DDTHH-MM-SSZ`: the time to the second, safe in a file name.
    pub fn file_stamp(self) -> String {
        let (year, month, day, hour, min, sec) = civil(self.unix_secs());
        format!("{year:04}-{month:02}-{day:02}T{hour:02}-{min:02}-{sec:02}Z")
    }
}

/// Splits seconds since the epoch into year, month, day, hour, minute, second.
fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // rem < 86 400, so each part fits in u32.
    let rem = u32::try_from(rem).unwrap_or(0);
    (y, m, d, rem / 3600, rem / 60 % 60, rem % 60)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day, hour, min, sec) = civil(self.unix_secs());
        let frac = self.micros.rem_euclid(1_000_000);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{hour:02}:{min:02}:{sec:02}.{frac:06}Z"
        )
    }
}

/// A string that is not an RFC 3339 UTC timestamp of the form this crate writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff]Z)")]
pub struct TimestampError;

impl FromStr for Timestamp {
    type Err = TimestampError;

    /// Parses `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` (UTC only; fractions past microseconds
    /// are dropped).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let s = text;
        let b = s.as_bytes();
        if b.len() < 20 || !s.is_ascii() || b[b.len() - 1] != b'Z' {
            return Err(TimestampError);
        }
        let num = |from: usize, to: usize| -> Result<u32, TimestampError> {
            s[from..to].parse::<u32>().map_err(|_| TimestampError)
        };
        let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
        if seps.iter().any(|&(i, c)| b[i] != c) {
            return Err(TimestampError);
        }
        let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return Err(TimestampError);
        }
        let frac = &s[19..s.len() - 1];
        let micros = if frac.is_empty() {
            0
        } else {
            let digits = frac.strip_prefix('.').ok_or(TimestampError)?;
            if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|c| c.is_ascii_digit())
            {
                return Err(TimestampError);
            }
            let six: String = digits
                .chars()
                .chain(std::iter::repeat('0'))
                .take(6)
                .collect();
            i64::from(six.parse::<u32>().map_err(|_| TimestampError)?)
        };
        let days = days_from_civil(i64::from(year), month, day);
        let unix = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
        Ok(Timestamp {
            micros: unix * 1_000_000 + micros,
        })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::{ManualTime, TimeSource, Timestamp};
    use std::time::Duration;

    #[test]
    fn formats_rfc3339_utc_with_microseconds() {
        let t = Timestamp::from_unix_nanos(1_795_862_700_123_456_789);
        assert_eq!(t.to_string(), "2026-11-28T10:45:00.123456Z");
        assert_eq!(t.file_stamp(), "2026-11-28T10-45-00Z");
        assert_eq!(
            Timestamp::default().to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            Timestamp::from_unix_micros(951_782_400_000_000).to_string(),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(
            Timestamp::from_unix_micros(-1).to_string(),
            "1969-12-31T23:59:59.999999Z"
        );
    }

    #[test]
    fn parses_what_it_writes_and_refuses_garbage() {
        for micros in [
            0,
            1,
            951_782_400_000_000,
            1_795_862_700_123_456,
            4_102_444_800_000_000,
        ] {
            let t = Timestamp::from_unix_micros(micros);
            assert_eq!(t.to_string().parse::<Timestamp>(), Ok(t));
        }
        assert_eq!(
            "2026-11-28T10:45:00Z"
                .parse::<Timestamp>()
                .unwrap()
                .unix_secs(),
            1_795_862_700
        );
        for bad in [
            "",
            "2026-11-28",
            "2026-11-28T10:45:00+01:00",
            "2026-13-28T10:45:00Z",
            "2026-11-28T10:45:00.Z",
            "2026-11-28T10:45:00.1234567890Z",
            "2026-11-28T10:45:0xZ",
            "2026-11-28T10:45:00éZ",
            "２026-11-28T10:45:00Z",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
    }

    #[test]
    fn manual_time_moves_only_when_told() {
        let t = ManualTime::at_unix_secs(100);
        let shared = t.clone();
        assert_eq!(t.now().unix_secs(), 100);
        shared.advance(Duration::from_millis(1500));
        assert_eq!(t.now().unix_micros(), 101_500_000);
    }
}
