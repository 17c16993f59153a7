//! Durations on the command line: token and key lifetimes (`15m`, `90d`) and lifetime
//! caps.

/// The longest lifetime `jwt mint` accepts: 24 hours.
pub(crate) const MAX_TTL_SECS: i64 = 24 * 60 * 60;

/// The longest lifetime `key mint` accepts: 3650 days, the library's cap.
pub(crate) const MAX_KEY_TTL_SECS: i64 = token_core::limits::MAX_KEY_TTL_SECS;

/// Parses a token lifetime for `jwt mint`: [`parse_duration`] capped at
/// [`MAX_TTL_SECS`]. Returns seconds.
pub(crate) fn parse_ttl(text: &str) -> Result<i64, String> {
    parse_duration(text, MAX_TTL_SECS)
}

/// Parses a lifetime with token-core's parser (the admin API's too): a positive
/// whole number with the unit `s`, `m`, `h` or `d`, at most `max_secs`.
pub(crate) fn parse_duration(text: &str, max_secs: i64) -> Result<i64, String> {
    token_core::duration::parse_duration(text, max_secs).map_err(|e| e.to_string())
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
        // The cap is shown in the largest unit that divides it.
        assert!(parse_duration("91s", 90).unwrap_err().contains("to 90s;"));
        assert!(parse_duration("16m", 900).unwrap_err().contains("to 15m;"));
        assert!(
            parse_duration("3d", 2 * 86_400)
                .unwrap_err()
                .contains("to 2d;")
        );
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
