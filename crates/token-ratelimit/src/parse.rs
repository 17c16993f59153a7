//! The quota grammar: `<count> / <unit> [burst <n>]`, whitespace-tolerant,
//! case-insensitive, never panicking.

use std::str::FromStr;

use crate::error::{QuotaError, QuotaErrorKind};
use crate::quota::{Period, Quota};

/// A cursor over the input; all offsets are byte offsets into it.
struct Cursor<'a> {
    input: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        let rest = &self.input[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
        self.pos > start
    }

    fn at_end(&self) -> bool {
        self.pos == self.input.len()
    }

    /// The run of bytes from here matching `pred` (ASCII-only predicates, so the run
    /// always ends on a char boundary).
    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> (usize, &'a str) {
        let start = self.pos;
        let len = self.input.as_bytes()[start..]
            .iter()
            .take_while(|b| pred(**b))
            .count();
        self.pos += len;
        (start, &self.input[start..self.pos])
    }

    /// The next word (up to whitespace), for error messages.
    fn word_here(&self) -> &'a str {
        let rest = &self.input[self.pos..];
        rest.split(char::is_whitespace).next().unwrap_or(rest)
    }

    fn error_here(&self, kind: QuotaErrorKind) -> QuotaError {
        QuotaError::at(kind, self.pos, self.word_here())
    }

    fn number(&mut self) -> Result<u32, QuotaError> {
        let (start, digits) = self.take_while(|b| b.is_ascii_digit());
        if digits.is_empty() {
            return Err(self.error_here(QuotaErrorKind::ExpectedNumber));
        }
        let value: u32 = digits
            .parse()
            .map_err(|_| QuotaError::at(QuotaErrorKind::NumberTooLarge, start, digits))?;
        if value == 0 {
            return Err(QuotaError::at(QuotaErrorKind::Zero, start, digits));
        }
        Ok(value)
    }
}

fn unit(word: &str) -> Option<Period> {
    const UNITS: [(&str, Period); 15] = [
        ("s", Period::Second),
        ("sec", Period::Second),
        ("second", Period::Second),
        ("seconds", Period::Second),
        ("m", Period::Minute),
        ("min", Period::Minute),
        ("minute", Period::Minute),
        ("minutes", Period::Minute),
        ("h", Period::Hour),
        ("hr", Period::Hour),
        ("hour", Period::Hour),
        ("hours", Period::Hour),
        ("d", Period::Day),
        ("day", Period::Day),
        ("days", Period::Day),
    ];
    UNITS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(word))
        .map(|(_, period)| *period)
}

impl FromStr for Quota {
    type Err = QuotaError;

    /// Parses `<count>/<unit>` with an optional `burst <n>`, e.g. `100/minute`,
    /// `10 / second burst 20`, `5000/day`. Units are case-insensitive: `s`, `sec`,
    /// `second(s)`, `m`, `min`, `minute(s)`, `h`, `hr`, `hour(s)`, `d`, `day(s)`.
    fn from_str(input: &str) -> Result<Self, QuotaError> {
        let mut c = Cursor { input, pos: 0 };
        c.skip_ws();
        if c.at_end() {
            return Err(QuotaError::new(QuotaErrorKind::Empty));
        }
        let count = c.number()?;
        c.skip_ws();
        if !input[c.pos..].starts_with('/') {
            return Err(c.error_here(QuotaErrorKind::ExpectedSlash));
        }
        c.pos += 1;
        c.skip_ws();
        let (unit_at, word) = c.take_while(|b| b.is_ascii_alphabetic());
        let period = unit(word).ok_or_else(|| {
            c.pos = unit_at;
            c.error_here(QuotaErrorKind::UnknownUnit)
        })?;
        let quota = Quota::new(count, period).map_err(|e| QuotaError::at(e.kind(), 0, input))?;
        let had_ws = c.skip_ws();
        if c.at_end() {
            return Ok(quota);
        }
        let (word_at, word) = c.take_while(|b| b.is_ascii_alphabetic());
        if !had_ws || !word.eq_ignore_ascii_case("burst") {
            c.pos = word_at;
            return Err(c.error_here(QuotaErrorKind::UnexpectedInput));
        }
        if !c.skip_ws() {
            return Err(c.error_here(QuotaErrorKind::ExpectedNumber));
        }
        let burst_at = c.pos;
        let burst = c.number()?;
        c.skip_ws();
        if !c.at_end() {
            return Err(c.error_here(QuotaErrorKind::UnexpectedInput));
        }
        quota
            .burst(burst)
            .map_err(|e| QuotaError::at(e.kind(), burst_at, &input[burst_at..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Quota, QuotaError> {
        s.parse()
    }

    #[test]
    fn accepts_the_documented_forms() {
        let per_minute = Quota::per_minute(100).unwrap();
        for s in [
            "100/minute",
            "100/min",
            "100/m",
            "100/MINUTES",
            " 100 / minute ",
            "100/Minute\t",
        ] {
            assert_eq!(parse(s).unwrap(), per_minute, "{s}");
        }
        assert_eq!(parse("5000/day").unwrap(), Quota::per_day(5000).unwrap());
        assert_eq!(parse("5000/d").unwrap(), Quota::per_day(5000).unwrap());
        assert_eq!(parse("2/hr").unwrap(), Quota::per_hour(2).unwrap());
        assert_eq!(
            parse("10/second burst 20").unwrap(),
            Quota::per_second(10).unwrap().burst(20).unwrap()
        );
        assert_eq!(
            parse("10/s  BURST  1").unwrap(),
            Quota::per_second(10).unwrap().burst(1).unwrap()
        );
    }

    fn err(s: &str) -> (QuotaErrorKind, Option<usize>) {
        let e = parse(s).unwrap_err();
        (e.kind(), e.offset())
    }

    #[test]
    fn errors_name_the_problem_and_where() {
        assert_eq!(err(""), (QuotaErrorKind::Empty, None));
        assert_eq!(err("   "), (QuotaErrorKind::Empty, None));
        assert_eq!(err("minute"), (QuotaErrorKind::ExpectedNumber, Some(0)));
        assert_eq!(err("0/minute"), (QuotaErrorKind::Zero, Some(0)));
        assert_eq!(
            err("4294967296/day"),
            (QuotaErrorKind::NumberTooLarge, Some(0))
        );
        assert_eq!(err("100 minute"), (QuotaErrorKind::ExpectedSlash, Some(4)));
        assert_eq!(err("100/fortnight"), (QuotaErrorKind::UnknownUnit, Some(4)));
        assert_eq!(err("100/"), (QuotaErrorKind::UnknownUnit, Some(4)));
        assert_eq!(
            err("100/minute extra"),
            (QuotaErrorKind::UnexpectedInput, Some(11))
        );
        assert_eq!(
            err("100/minuteburst 2"),
            (QuotaErrorKind::UnknownUnit, Some(4))
        );
        assert_eq!(
            err("100/minute burst"),
            (QuotaErrorKind::ExpectedNumber, Some(16))
        );
        assert_eq!(
            err("100/minute burst x"),
            (QuotaErrorKind::ExpectedNumber, Some(17))
        );
        assert_eq!(err("100/minute burst 0"), (QuotaErrorKind::Zero, Some(17)));
        assert_eq!(
            err("100/minute burst 5 6"),
            (QuotaErrorKind::UnexpectedInput, Some(19))
        );
        assert_eq!(err("100/m5"), (QuotaErrorKind::UnexpectedInput, Some(5)));
        assert_eq!(err("2000000000/s"), (QuotaErrorKind::RateTooHigh, Some(0)));
        assert_eq!(
            err("1/day burst 4000000000"),
            (QuotaErrorKind::BurstTooLarge, Some(12))
        );
    }

    #[test]
    fn error_messages_are_actionable() {
        assert_eq!(
            parse("100/fortnight").unwrap_err().to_string(),
            "invalid quota: unknown period; use second, minute, hour or day (or s, m, h, d) \
             at byte 4 (found \"fortnight\")"
        );
        assert_eq!(
            parse("100/minute burst").unwrap_err().to_string(),
            "invalid quota: expected a whole number at byte 16 (found end of input)"
        );
    }

    #[test]
    fn multibyte_input_never_panics() {
        for s in [
            "１００/minute",
            "100/mïnute",
            "100/minute burst ２",
            "é",
            "100/minute é",
        ] {
            assert!(parse(s).is_err(), "{s}");
        }
    }
}
