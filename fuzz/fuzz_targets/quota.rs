//! Quota strings (configuration files, per-key overrides on key records): parsing never
//! panics; whatever parses prints a canonical form that parses back to the same quota,
//! prints the same again, and survives serde.
#![no_main]

use libfuzzer_sys::fuzz_target;
use token_ratelimit::Quota;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let quota = match text.parse::<Quota>() {
        Ok(quota) => quota,
        Err(error) => {
            // A typed error whose offset, when given, points inside the input.
            assert!(error.offset().is_none_or(|at| at <= text.len()));
            let _ = error.to_string();
            return;
        }
    };
    let canonical = quota.to_string();
    let again: Quota = canonical.parse().unwrap_or_else(|e| panic!("{canonical:?} does not parse back: {e}"));
    assert_eq!(again, quota, "{text:?} -> {canonical:?}");
    assert_eq!(again.to_string(), canonical);
    let json = serde_json::to_string(&quota).unwrap();
    assert_eq!(serde_json::from_str::<Quota>(&json).unwrap(), quota);
});
