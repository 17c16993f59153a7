//! Requirement parsing: never panics; what parses prints and parses back equal, and a
//! denial's hint always satisfies the requirement.
#![no_main]

use libfuzzer_sys::fuzz_target;
use token_scopes::{Requirement, ScopeSet};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (req, held) = text.split_once('|').unwrap_or((text, ""));
    let Ok(r) = Requirement::parse(req) else { return };
    assert_eq!(Requirement::parse(&r.to_string()).expect("printed form parses"), r);
    if let Ok(held) = ScopeSet::parse(held) {
        if let Err(unmet) = r.evaluate(&held) {
            assert!(r.is_satisfied_by(&held.union(unmet.missing())));
        }
    }
});
