//! Scope-set parsing (space-delimited and JSON): never panics; canonical form
//! round-trips; the set algebra keeps its laws on whatever parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use token_scopes::ScopeSet;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (left, right) = text.split_once('|').unwrap_or((text, ""));
    let Ok(a) = ScopeSet::parse(left) else {
        let _ = serde_json::from_str::<ScopeSet>(text);
        return;
    };
    let again = ScopeSet::parse(&a.to_string()).expect("canonical form parses");
    assert_eq!(again, a);
    if let Ok(b) = ScopeSet::parse(right) {
        let i = a.intersect(&b);
        assert!(i.is_subset(&a) && i.is_subset(&b));
        let u = a.union(&b);
        assert!(a.is_subset(&u) && b.is_subset(&u));
        assert!(a.is_subset(&a.difference(&b).union(&b)));
    }
});
