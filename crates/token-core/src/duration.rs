//! Lifetimes as people write them: `90s`, `15m`, `12h`, `90d`. One parser for the
//! admin API, the CLI and the portal.

use std::fmt;

/// A lifetime that is not a positive whole number with a unit, or is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a lifetime like 90s, 15m, 2h or 1d, from 1s to {max}; got {got:?}")]
pub struct DurationError {
    got: String,
    max: Shown,
}

/// A number of seconds in the largest unit that divides it, days only above one day:
/// `24h`, `3650d`, `90s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shown(i64);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DAY: i64 = 24 * 60 * 60;
        let secs = self.0;
        if secs > DAY && secs % DAY == 0 {
            write!(f, "{}d", secs / DAY)
        } else if secs % (60 * 60) == 0 {
            write!(f, "{}h", secs / (60 * 60))
        } else if secs % 60 == 0 {
            write!(f, "{}m", secs / 60)
        } else {
            write!(f, "{secs}s")
        }
    }
}

/// Parses a lifetime: a positive whole number with the unit `s`, `m`, `h` or `d` (no
/// sign, no space, no fraction), at most `max_secs`. Returns seconds.
///
/// ```
/// use token_core::duration::parse_duration;
/// assert_eq!(parse_duration("15m", 86_400), Ok(900));
/// assert!(parse_duration("2d", 86_400).is_err());
/// assert!(parse_duration("-5s", 86_400).is_err());
/// ```
pub fn parse_duration(text: &str, max_secs: i64) -> Result<i64, DurationError> {
    let refuse = || DurationError {
        // Echoed for the user's benefit, bounded: the input is theirs, never a secret
        // of ours, but it may be long.
        got: text.chars().take(32).collect(),
        max: Shown(max_secs),
    };
    let unit = match text.as_bytes().last() {
        Some(b's') => 1,
        Some(b'm') => 60,
        Some(b'h') => 60 * 60,
        Some(b'd') => 24 * 60 * 60,
        _ => return Err(refuse()),
    };
    // The unit is one ASCII byte, so this slices on a character boundary.
    let digits = &text[..text.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse());
    }
    let secs = digits
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(refuse)?;
    if (1..=max_secs).contains(&secs) {
        Ok(secs)
    } else {
        Err(refuse())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn units_and_bounds() {
        assert_eq!(parse_duration("90s", DAY), Ok(90));
        assert_eq!(parse_duration("15m", DAY), Ok(900));
        assert_eq!(parse_duration("2h", DAY), Ok(7200));
        assert_eq!(parse_duration("1d", DAY), Ok(DAY));
        assert_eq!(parse_duration("90d", 3650 * DAY), Ok(90 * DAY));
        for bad in [
            "",
            "s",
            "0s",
            "-5s",
            "+5s",
            "5",
            "5 s",
            " 5s",
            "1.5h",
            "2d",
            "5w",
            "99999999999999999999d",
            "٣s",
        ] {
            assert!(parse_duration(bad, DAY).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_refusal_names_the_range_and_bounds_the_echo() {
        let e = parse_duration("3651d", 3650 * DAY).unwrap_err();
        assert_eq!(
            e.to_string(),
            "expected a lifetime like 90s, 15m, 2h or 1d, from 1s to 3650d; got \"3651d\""
        );
        assert_eq!(
            parse_duration("25h", DAY).unwrap_err().to_string(),
            "expected a lifetime like 90s, 15m, 2h or 1d, from 1s to 24h; got \"25h\""
        );
        let long = "x".repeat(1000);
        assert!(parse_duration(&long, DAY).unwrap_err().to_string().len() < 120);
    }
}
