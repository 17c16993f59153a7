//! Property tests for the scope grammar and the set algebra.
//!
//! Scopes are drawn from a tiny alphabet so that wildcards, prefixes and equal scopes
//! collide often; failures are persisted under `proptest-regressions/` and committed.

use proptest::prelude::*;
use token_scopes::{Requirement, Scope, ScopeSet};

fn scope() -> impl Strategy<Value = Scope> {
    let segment = prop::sample::select(vec!["a", "b", "ab", "x.y"]);
    (prop::collection::vec(segment, 1..4), any::<bool>(), 0..20u8).prop_map(
        |(segs, wildcard, roll)| {
            let text = if roll == 0 {
                "*".to_owned()
            } else if wildcard {
                format!("{}:*", segs.join(":"))
            } else {
                segs.join(":")
            };
            Scope::new(&text).unwrap()
        },
    )
}

fn concrete_scope() -> impl Strategy<Value = Scope> {
    scope().prop_filter("concrete", |s| !s.is_wildcard())
}

fn scope_set() -> impl Strategy<Value = ScopeSet> {
    prop::collection::vec(scope(), 0..12).prop_map(ScopeSet::from_scopes)
}

fn requirement() -> impl Strategy<Value = Requirement> {
    let leaf = scope().prop_map(Requirement::scope);
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| Requirement::all(v).unwrap()),
            prop::collection::vec(inner, 1..4).prop_map(|v| Requirement::any(v).unwrap()),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn scope_parser_never_panics_and_keeps_valid_text(text in "\\PC{0,40}") {
        if let Ok(s) = Scope::new(&text) {
            prop_assert_eq!(s.as_str(), text.as_str());
        }
    }

    #[test]
    fn set_and_requirement_parsers_never_panic(text in "[a-z:*() .]{0,60}") {
        let _ = ScopeSet::parse(&text);
        if let Ok(r) = Requirement::parse(&text) {
            prop_assert_eq!(Requirement::parse(&r.to_string()).unwrap(), r);
        }
    }

    #[test]
    fn grants_matches_the_definition(s in scope_set(), t in scope()) {
        // The indexed lookup agrees with a scan of every member.
        prop_assert_eq!(s.grants(&t), s.iter().any(|m| m.grants(&t)));
    }

    #[test]
    fn subset_is_a_partial_order(a in scope_set(), b in scope_set(), c in scope_set()) {
        prop_assert!(a.is_subset(&a));
        if a.is_subset(&b) && b.is_subset(&a) {
            prop_assert_eq!(&a, &b);
        }
        if a.is_subset(&b) && b.is_subset(&c) {
            prop_assert!(a.is_subset(&c));
        }
    }

    #[test]
    fn subset_agrees_with_membership(a in scope_set(), b in scope_set(), t in concrete_scope()) {
        if a.is_subset(&b) && a.grants(&t) {
            prop_assert!(b.grants(&t));
        }
    }

    #[test]
    fn intersect_is_exact(a in scope_set(), b in scope_set(), t in scope()) {
        let i = a.intersect(&b);
        prop_assert!(i.is_subset(&a));
        prop_assert!(i.is_subset(&b));
        prop_assert_eq!(i.grants(&t), a.grants(&t) && b.grants(&t));
        prop_assert_eq!(&i, &b.intersect(&a));
    }

    #[test]
    fn union_is_exact(a in scope_set(), b in scope_set(), t in scope()) {
        let u = a.union(&b);
        prop_assert!(a.is_subset(&u));
        prop_assert!(b.is_subset(&u));
        if !t.is_wildcard() {
            prop_assert_eq!(u.grants(&t), a.grants(&t) || b.grants(&t));
        }
    }

    #[test]
    fn difference_is_what_other_lacks(a in scope_set(), b in scope_set()) {
        let d = a.difference(&b);
        prop_assert!(d.is_subset(&a));
        prop_assert!(a.is_subset(&d.union(&b)));
        prop_assert!(d.iter().all(|s| !b.grants(s)));
    }

    #[test]
    fn canonical_print_round_trips(a in scope_set()) {
        let text = a.to_string();
        let again = ScopeSet::parse(&text).unwrap();
        prop_assert_eq!(&again, &a);
        prop_assert_eq!(again.to_string(), text);
        let json = serde_json::to_string(&a).unwrap();
        prop_assert_eq!(serde_json::from_str::<ScopeSet>(&json).unwrap(), a);
    }

    #[test]
    fn canonical_form_has_no_redundancy(a in scope_set()) {
        let v: Vec<&Scope> = a.iter().collect();
        for (i, x) in v.iter().enumerate() {
            for (j, y) in v.iter().enumerate() {
                prop_assert!(i == j || !x.grants(y), "{} covers {}", x, y);
            }
        }
        prop_assert!(v.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn requirement_round_trips(r in requirement()) {
        prop_assert_eq!(Requirement::parse(&r.to_string()).unwrap(), r);
    }

    #[test]
    fn satisfies_is_monotone(r in requirement(), a in scope_set(), b in scope_set()) {
        if r.is_satisfied_by(&a) {
            prop_assert!(r.is_satisfied_by(&a.union(&b)));
        }
    }

    #[test]
    fn the_missing_hint_is_sufficient_and_minimal(r in requirement(), held in scope_set()) {
        match r.evaluate(&held) {
            Ok(()) => prop_assert!(r.is_satisfied_by(&held)),
            Err(unmet) => {
                prop_assert!(!unmet.missing().is_empty());
                prop_assert!(r.is_satisfied_by(&held.union(unmet.missing())));
                // Irreducible: dropping any one hinted scope no longer satisfies.
                for s in unmet.missing() {
                    let fewer = ScopeSet::from_scopes(unmet.missing().iter().filter(|m| *m != s).cloned());
                    prop_assert!(!r.is_satisfied_by(&held.union(&fewer)), "{} was not needed", s);
                }
            }
        }
    }
}
