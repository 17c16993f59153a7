//! Quota strings: round trips, no panics on arbitrary input, serde.

use proptest::prelude::*;
use token_ratelimit::{Period, Quota};

fn period() -> impl Strategy<Value = Period> {
    prop_oneof![
        Just(Period::Second),
        Just(Period::Minute),
        Just(Period::Hour),
        Just(Period::Day)
    ]
}

proptest! {
    #[test]
    fn display_and_parse_round_trip(count in 1..=1_000_000u32, burst in 1..=50_000u32, period in period()) {
        let quota = Quota::new(count, period).unwrap().burst(burst).unwrap();
        let text = quota.to_string();
        prop_assert_eq!(text.parse::<Quota>().unwrap(), quota);
        // Emission interval is period / count, never "one per count seconds".
        let expected = period.as_duration().as_nanos() / u128::from(count);
        prop_assert_eq!(quota.emission_interval().as_nanos(), expected);
    }

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        // Ok or a typed error; the offset, when given, is inside the input.
        if let Err(e) = s.parse::<Quota>() {
            prop_assert!(e.offset().is_none_or(|o| o <= s.len()));
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn quota_shaped_strings_never_panic(
        n in "[0-9]{0,12}", sep in "[ /]{0,2}", unit in "[a-zA-Z]{0,8}", tail in "( burst [0-9]{0,12})?( x)?"
    ) {
        let s = format!("{n}{sep}{unit}{tail}");
        let _ = s.parse::<Quota>();
    }
}

#[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize)]
struct Limits {
    principal: Quota,
    tenant: Quota,
}

#[test]
fn quotas_read_and_write_as_strings_in_toml_and_json() {
    let limits: Limits =
        toml::from_str("principal = \"100/minute\"\ntenant = \"10/s burst 20\"\n").unwrap();
    assert_eq!(limits.principal, Quota::per_minute(100).unwrap());
    assert_eq!(
        limits.tenant,
        Quota::per_second(10).unwrap().burst(20).unwrap()
    );
    let json = serde_json::to_string(&limits).unwrap();
    assert_eq!(
        json,
        r#"{"principal":"100/minute","tenant":"10/second burst 20"}"#
    );
    assert_eq!(serde_json::from_str::<Limits>(&json).unwrap(), limits);
}

#[test]
fn bad_quotas_in_config_are_errors_that_say_why() {
    let err =
        toml::from_str::<Limits>("principal = \"100/fortnight\"\ntenant = \"1/s\"\n").unwrap_err();
    assert!(
        err.to_string()
            .contains("unknown period; use second, minute, hour or day"),
        "{err}"
    );
    let err = serde_json::from_str::<Limits>(r#"{"principal":5,"tenant":"1/s"}"#).unwrap_err();
    assert!(err.to_string().contains("a quota string such as"), "{err}");
}
