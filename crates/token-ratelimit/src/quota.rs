//! `Quota`: "N requests per period, with a burst of B", and its GCRA parameters.

use std::fmt;
use std::time::Duration;

use crate::error::{QuotaError, QuotaErrorKind};

/// The period a quota's count refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Period {
    /// One second.
    Second,
    /// Sixty seconds.
    Minute,
    /// 3600 seconds.
    Hour,
    /// 86400 seconds (a fixed day: no calendar, no time zones).
    Day,
}

impl Period {
    /// The period's length in whole seconds.
    pub const fn as_secs(self) -> u64 {
        match self {
            Self::Second => 1,
            Self::Minute => 60,
            Self::Hour => 3600,
            Self::Day => 86_400,
        }
    }

    /// The period's length.
    pub const fn as_duration(self) -> Duration {
        Duration::from_secs(self.as_secs())
    }

    /// The canonical singular name, as printed by `Quota`'s `Display`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Second => "second",
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    const fn as_nanos(self) -> u64 {
        self.as_secs() * 1_000_000_000
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Refilling the whole burst may take at most this long (2^62 ns, about 146 years), so
/// that GCRA arithmetic on `u64` nanoseconds never overflows.
const MAX_WINDOW_NANOS: u64 = 1 << 62;

/// A rate limit: **`count` requests per `period`, with at most `burst` at once.**
///
/// Under GCRA (the generic cell rate algorithm governor implements) this means:
///
/// - the *emission interval* is `period / count`: one request's worth of capacity comes
///   back every `period / count` (every 600 ms for `100/minute`);
/// - the *burst* is the most requests admitted at the same instant by an idle key. It
///   defaults to `count`, so an idle key may send all `count` requests at once and then
///   one more every emission interval; over any window of one `period` at most
///   `burst + count` requests pass, and over a long run exactly `count` per `period`.
///
/// A quota never means "one request every `count` seconds".
///
/// Parse from strings such as `100/minute`, `10/second burst 20` or `5000/day`
/// (units: `second`, `minute`, `hour`, `day`, their plurals, or `s`, `m`, `h`, `d`), or
/// build in code. `Display` prints the canonical form, which parses back to the same
/// quota; serde reads and writes that string.
///
/// ```
/// use token_ratelimit::{Period, Quota};
///
/// let q: Quota = "10/second burst 20".parse()?;
/// assert_eq!(q, Quota::per_second(10)?.burst(20)?);
/// assert_eq!(q.emission_interval(), std::time::Duration::from_millis(100));
/// assert_eq!(q.period(), Period::Second);
/// assert_eq!(q.to_string(), "10/second burst 20");
/// assert_eq!("5000/days".parse::<Quota>()?.to_string(), "5000/day");
/// # Ok::<(), token_ratelimit::QuotaError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    count: u32,
    burst: u32,
    period: Period,
    /// Nanoseconds per request (GCRA's T), at least 1.
    emission: u64,
}

impl Quota {
    /// One per second; fills unused slots of fixed-size batches.
    pub(crate) const PLACEHOLDER: Quota = Quota {
        count: 1,
        burst: 1,
        period: Period::Second,
        emission: 1_000_000_000,
    };

    /// `count` requests per `period`, burst `count`.
    pub fn new(count: u32, period: Period) -> Result<Self, QuotaError> {
        if count == 0 {
            return Err(QuotaError::new(QuotaErrorKind::Zero));
        }
        let emission = period.as_nanos() / u64::from(count);
        if emission == 0 {
            return Err(QuotaError::new(QuotaErrorKind::RateTooHigh));
        }
        Self {
            count,
            burst: count,
            period,
            emission,
        }
        .burst(count)
    }

    /// `count` requests per second.
    pub fn per_second(count: u32) -> Result<Self, QuotaError> {
        Self::new(count, Period::Second)
    }

    /// `count` requests per minute.
    pub fn per_minute(count: u32) -> Result<Self, QuotaError> {
        Self::new(count, Period::Minute)
    }

    /// `count` requests per hour.
    pub fn per_hour(count: u32) -> Result<Self, QuotaError> {
        Self::new(count, Period::Hour)
    }

    /// `count` requests per day.
    pub fn per_day(count: u32) -> Result<Self, QuotaError> {
        Self::new(count, Period::Day)
    }

    /// The same rate with a different burst (the most requests an idle key may send
    /// at once). A burst below `count` smooths traffic; above it allows spikes.
    pub fn burst(self, burst: u32) -> Result<Self, QuotaError> {
        if burst == 0 {
            return Err(QuotaError::new(QuotaErrorKind::Zero));
        }
        match self.emission.checked_mul(u64::from(burst)) {
            Some(window) if window <= MAX_WINDOW_NANOS => Ok(Self { burst, ..self }),
            _ => Err(QuotaError::new(QuotaErrorKind::BurstTooLarge)),
        }
    }

    /// Requests per period.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The period.
    pub fn period(&self) -> Period {
        self.period
    }

    /// The most requests (or total cost) admitted at once.
    pub fn max_burst(&self) -> u32 {
        self.burst
    }

    /// `period / count`: how often one request's worth of capacity comes back.
    pub fn emission_interval(&self) -> Duration {
        Duration::from_nanos(self.emission)
    }

    pub(crate) fn emission_nanos(&self) -> u64 {
        self.emission
    }

    /// GCRA's tolerance τ = T·(burst − 1), in nanoseconds. Fits: T·burst ≤ 2^62.
    pub(crate) fn tolerance_nanos(&self) -> u64 {
        self.emission * u64::from(self.burst - 1)
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, self.period)?;
        if self.burst != self.count {
            write!(f, " burst {}", self.burst)?;
        }
        Ok(())
    }
}

impl serde::Serialize for Quota {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Quota {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Quota;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quota string such as \"100/minute\" or \"10/second burst 20\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quota, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_mean_n_per_period_with_burst_n() {
        let q = Quota::per_minute(100).unwrap();
        assert_eq!(q.count(), 100);
        assert_eq!(q.max_burst(), 100);
        assert_eq!(q.emission_interval(), Duration::from_millis(600));
        assert_eq!(q.tolerance_nanos(), 99 * 600_000_000);
        assert_eq!(
            Quota::per_hour(3600).unwrap().emission_interval(),
            Duration::from_secs(1)
        );
        assert_eq!(
            Quota::per_day(1).unwrap().emission_interval(),
            Duration::from_secs(86_400)
        );
        assert_eq!(
            Quota::per_second(4)
                .unwrap()
                .burst(1)
                .unwrap()
                .tolerance_nanos(),
            0
        );
    }

    #[test]
    fn invalid_parameters_are_errors_not_panics() {
        let kind = |r: Result<Quota, QuotaError>| r.unwrap_err().kind();
        assert_eq!(kind(Quota::per_second(0)), QuotaErrorKind::Zero);
        assert_eq!(
            kind(Quota::per_second(1_000_000_001)),
            QuotaErrorKind::RateTooHigh
        );
        assert!(Quota::per_second(1_000_000_000).is_ok());
        assert_eq!(
            kind(Quota::per_second(1).unwrap().burst(0)),
            QuotaErrorKind::Zero
        );
        assert_eq!(
            kind(Quota::per_day(1).unwrap().burst(u32::MAX)),
            QuotaErrorKind::BurstTooLarge
        );
        assert!(Quota::per_second(1).unwrap().burst(u32::MAX).is_ok());
    }

    #[test]
    fn display_omits_a_default_burst() {
        assert_eq!(Quota::per_minute(100).unwrap().to_string(), "100/minute");
        assert_eq!(
            Quota::per_second(10)
                .unwrap()
                .burst(20)
                .unwrap()
                .to_string(),
            "10/second burst 20"
        );
        assert_eq!(
            Quota::per_day(5).unwrap().burst(5).unwrap().to_string(),
            "5/day"
        );
    }
}
