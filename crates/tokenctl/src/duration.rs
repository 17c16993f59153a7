//! Durations on the command line: token and key lifetimes (`15m`, `90d`) and lifetime
//! caps.

/// The longest lifetime `jwt mint` accepts: 24 hours.
pub(crate) const MAX_TTL_SECS: i64 = 24 * 60 * 60;

/// The longest lifetime `key mint` accepts: 3650 days.
pub(crate) const MAX_KEY_TTL_SECS: i64 = 3650 * 24 * 60 * 60;

/// Parses a token lifetime for `jwt mint`: [`parse_duration`] capped at
/// [`MAX_TTL_SECS`]. Returns seconds.
pub(crate) fn parse_ttl(text: &str) -> Result<i64, String> {
    parse_duration(text, MAX_TTL_SECS)
}

/// Parses a lifetime: a positive whole number with the unit `s`, `m`, `h` or `d`, at
/// most `max_secs`. Returns seconds.
pub(crate) fn parse_duration(text: &str, max_secs: i64) -> Result<i64, String> {
    let refuse = || {
        format!(
            "expected a lifetime like 90s, 15m, 2h or 1d, from 1s to {}; got {text:?}",
            shown(max_secs)
        )
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

/// A number of seconds in the largest unit that divides it, days only above one day:
/// `24h`, `3650d`, `90s`.
fn shown(secs: i64) -> String {
    const DAY: i64 = 24 * 60 * 60;
    if secs > DAY && secs % DAY == 0 {
        format!("{}d", secs / DAY)
    } else if secs % (60 * 60) == 0 {
        format!("{}h", secs / (60 * 60))
    } else if secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// A cap on a verified token's lifetime (`exp - iat`): seconds, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MaxLifetime(pub(crate) Option<i64>);

/// Parses `--max-lifetime`: a positive number of seconds, or `none`.
pub(crate) fn parse_max_lifetime(text: &str) -> Result<MaxLifetime, String> {
    if text == "none" {
        return Ok(MaxLifetime(None));
    }
    match text.parse::<i64>() {
        Ok(secs) if secs > 0 && text.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(MaxLifetime(Some(secs)))
        }
        _ => Err(format!(
            "expected a positive number of seconds or \"none\"; got {text:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_with_units() {
        assert_eq!(parse_ttl("90s"), Ok(90));
        assert_eq!(parse_ttl("15m"), Ok(900));
        assert_eq!(parse_ttl("2h"), Ok(7200));
        assert_eq!(parse_ttl("1d"), Ok(MAX_TTL_SECS));
        assert_eq!(parse_ttl("86400s"), Ok(MAX_TTL_SECS));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "s",
            "15",
            "0m",
            "25h",
            "2d",
            "86401s",
            "-5m",
            "+5m",
            "1.5h",
            "15 m",
            "15M",
            "5w",
            "99999999999999999999d",
            "9223372036854775807d",
            "1é",
            "é",
        ] {
            assert!(parse_ttl(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_cap_is_a_parameter() {
        assert_eq!(parse_duration("90d", MAX_KEY_TTL_SECS), Ok(90 * 86_400));
        assert_eq!(
            parse_duration("3650d", MAX_KEY_TTL_SECS),
            Ok(MAX_KEY_TTL_SECS)
        );
        assert_eq!(
            parse_duration("87600h", MAX_KEY_TTL_SECS),
            Ok(MAX_KEY_TTL_SECS)
        );
        assert_eq!(
            parse_duration("315360000s", MAX_KEY_TTL_SECS),
            Ok(MAX_KEY_TTL_SECS)
        );
        assert_eq!(parse_duration("2d", MAX_KEY_TTL_SECS), Ok(172_800));
        for bad in ["3651d", "4000d", "315360001s", "0d", "d", "90", "-1d"] {
            assert!(parse_duration(bad, MAX_KEY_TTL_SECS).is_err(), "{bad:?}");
        }
        assert!(parse_duration("61s", 60).is_err());
    }

    #[test]
    fn refusals_name_the_cap() {
        assert!(parse_ttl("2d").unwrap_err().contains("from 1s to 24h"));
        assert!(
            parse_duration("4000d", MAX_KEY_TTL_SECS)
                .unwrap_err()
                .contains("from 1s to 3650d; got \"4000d\"")
        );
        assert_eq!(shown(90), "90s");
        assert_eq!(shown(900), "15m");
        assert_eq!(shown(2 * 86_400), "2d");
    }

    #[test]
    fn max_lifetime() {
        assert_eq!(parse_max_lifetime("none"), Ok(MaxLifetime(None)));
        assert_eq!(parse_max_lifetime("3600"), Ok(MaxLifetime(Some(3600))));
        for bad in ["0", "-1", "+5", "1h", "None", ""] {
            assert!(parse_max_lifetime(bad).is_err(), "{bad:?}");
        }
    }
}
