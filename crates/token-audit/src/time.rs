//! RFC 3339 timestamps with microsecond precision, read from token-core's
//! [`Clock`] (tests inject a [`token_core::ManualClock`]).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike as _, NaiveDate, NaiveTime, Timelike as _, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use token_core::Clock;

/// An instant in UTC with microsecond precision, shown and serialized as RFC 3339
/// (`2026-11-28T10:45:00.123456Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    micros: i64,
}

impl Timestamp {
    /// The current time on `clock`.
    pub fn now(clock: &dyn Clock) -> Self {
        Timestamp::from_unix_nanos(clock.unix_nanos())
    }

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
        let t = self.utc();
        format!(
            "{:04}-{:02}-{:02}T{:02}-{:02}-{:02}Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }

    /// The instant as a calendar time (chrono's range, some 262,000 years either
    /// side of the epoch, is narrower than `i64` microseconds: beyond it, the nearest
    /// end of that range).
    fn utc(self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.micros).unwrap_or(if self.micros < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
    }
}

impl fmt::Display for Timestamp {
    /// `2026-11-28T10:45:00.123456Z`. The year has at least four digits and no sign
    /// (a `-` before years before 1 BCE); the hash chain covers these bytes, so
    /// this form never changes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.utc();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.timestamp_subsec_micros()
        )
    }
}

/// A string that is not an RFC 3339 UTC timestamp of the form this crate writes, or
/// names an instant that does not exist. Match on [`TimestampError::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", .kind.describe())]
pub struct TimestampError {
    kind: TimestampErrorKind,
}

/// The kinds of [`TimestampError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampErrorKind {
    /// Not of the form `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` (UTC only).
    Syntax,
    /// A day that is not in the calendar: month 13, 31 February, 29 February of a
    /// common year.
    NoSuchDate,
    /// An hour past 23 or a minute past 59.
    NoSuchTime,
    /// Second 60: a leap second. Unix time has none, so no such instant can be
    /// ordered against the others.
    LeapSecond,
}

impl TimestampErrorKind {
    fn describe(self) -> &'static str {
        match self {
            TimestampErrorKind::Syntax => {
                "not an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff]Z)"
            }
            TimestampErrorKind::NoSuchDate => "not a day of the calendar (RFC 3339 timestamp)",
            TimestampErrorKind::NoSuchTime => "not a time of day (RFC 3339 timestamp)",
            TimestampErrorKind::LeapSecond => {
                "a leap second (second 60), which UTC timestamps here never carry"
            }
        }
    }
}

impl TimestampError {
    /// What is wrong.
    pub fn kind(&self) -> TimestampErrorKind {
        self.kind
    }

    fn new(kind: TimestampErrorKind) -> Self {
        TimestampError { kind }
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    /// Parses `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` (UTC only; fractions past microseconds
    /// are dropped). The calendar is chrono's: impossible days and second 60 are
    /// refused.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = || TimestampError::new(TimestampErrorKind::Syntax);
        let b = text.as_bytes();
        if b.len() < 20 || !text.is_ascii() || b[b.len() - 1] != b'Z' {
            return Err(syntax());
        }
        let num = |from: usize, to: usize| -> Result<u32, TimestampError> {
            let digits = &text[from..to];
            if !digits.bytes().all(|c| c.is_ascii_digit()) {
                return Err(syntax());
            }
            digits.parse::<u32>().map_err(|_| syntax())
        };
        let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
        if seps.iter().any(|&(i, c)| b[i] != c) {
            return Err(syntax());
        }
        let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        let frac = &text[19..text.len() - 1];
        let micros = if frac.is_empty() {
            0
        } else {
            let digits = frac.strip_prefix('.').ok_or_else(syntax)?;
            if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|c| c.is_ascii_digit())
            {
                return Err(syntax());
            }
            let six: String = digits
                .chars()
                .chain(std::iter::repeat('0'))
                .take(6)
                .collect();
            six.parse::<u32>().map_err(|_| syntax())?
        };
        // Four digits: 0..=9999, always within chrono's range.
        let year = i32::try_from(year).map_err(|_| syntax())?;
        let date = NaiveDate::from_ymd_opt(year, month, day)
            .ok_or(TimestampError::new(TimestampErrorKind::NoSuchDate))?;
        if second == 60 && hour <= 23 && minute <= 59 {
            return Err(TimestampError::new(TimestampErrorKind::LeapSecond));
        }
        let time = NaiveTime::from_hms_micro_opt(hour, minute, second, micros)
            .ok_or(TimestampError::new(TimestampErrorKind::NoSuchTime))?;
        Ok(Timestamp {
            micros: date.and_time(time).and_utc().timestamp_micros(),
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
    use super::{Timestamp, TimestampErrorKind};
    use std::time::Duration;
    use token_core::ManualClock;

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
            "2026-11-28T10:45:00.Z",
            "2026-11-28T10:45:00.1234567890Z",
            "2026-11-28T10:45:0xZ",
            "2026-11-28T10:45:00éZ",
            "２026-11-28T10:45:00Z",
            "2026-+1-28T10:45:00Z",
            "2026-11-28t10:45:00Z",
            "2026-11-28T10:45:00z",
        ] {
            let e = bad.parse::<Timestamp>().unwrap_err();
            assert_eq!(e.kind(), TimestampErrorKind::Syntax, "{bad}");
        }
    }

    #[test]
    fn impossible_days_and_leap_seconds_are_refused_by_kind() {
        for (bad, kind) in [
            ("2026-02-31T00:00:00Z", TimestampErrorKind::NoSuchDate),
            ("2026-02-29T12:00:00.5Z", TimestampErrorKind::NoSuchDate),
            ("1900-02-29T00:00:00Z", TimestampErrorKind::NoSuchDate),
            ("2026-04-31T00:00:00Z", TimestampErrorKind::NoSuchDate),
            ("2026-13-01T00:00:00Z", TimestampErrorKind::NoSuchDate),
            ("2026-00-10T00:00:00Z", TimestampErrorKind::NoSuchDate),
            ("2026-01-00T00:00:00Z", TimestampErrorKind::NoSuchDate),
            ("2016-12-31T23:59:60Z", TimestampErrorKind::LeapSecond),
            (
                "2026-11-28T10:45:60.000001Z",
                TimestampErrorKind::LeapSecond,
            ),
            ("2026-11-28T24:00:00Z", TimestampErrorKind::NoSuchTime),
            ("2026-11-28T10:60:00Z", TimestampErrorKind::NoSuchTime),
            ("2026-11-28T10:45:61Z", TimestampErrorKind::NoSuchTime),
        ] {
            let e = bad.parse::<Timestamp>().unwrap_err();
            assert_eq!(e.kind(), kind, "{bad}");
            assert!(!e.to_string().is_empty());
        }
        // The days around them exist.
        for good in [
            "2026-02-28T23:59:59.999999Z",
            "2024-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "2026-03-03T00:00:00Z",
            "2016-12-31T23:59:59Z",
        ] {
            let t: Timestamp = good.parse().unwrap();
            assert!(t.to_string().starts_with(&good[..19]), "{good}");
        }
    }

    #[test]
    fn instants_beyond_the_calendar_format_as_its_ends() {
        assert!(
            Timestamp::from_unix_micros(i64::MAX)
                .to_string()
                .starts_with("262142-12-31T23:59:59")
        );
        assert!(
            Timestamp::from_unix_micros(i64::MIN)
                .to_string()
                .starts_with("-262143-01-01T00:00:00")
        );
    }

    #[test]
    fn the_clock_gives_the_time_to_the_microsecond() {
        let t = ManualClock::new(100);
        let shared = t.clone();
        assert_eq!(Timestamp::now(&t).unix_secs(), 100);
        shared.advance(Duration::from_nanos(1_500_000_999));
        assert_eq!(Timestamp::now(&t).unix_micros(), 101_500_000);
    }
}
