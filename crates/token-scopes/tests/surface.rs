//! The small public surface around the algebra: formatting, hashing, conversions,
//! the size limits at exactly their bound, and what a route match reports. These pin
//! behaviour users see in messages, maps and configuration (cargo-mutants survivors).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use token_scopes::inspect::{MethodSet, PathTemplate};
use token_scopes::limits::{
    MAX_PARAMS, MAX_SCOPE_SET_LEN, MAX_SCOPES, MAX_TEMPLATE_LEN, MAX_TEMPLATE_SEGMENTS,
};
use token_scopes::{Policy, RuleSpec, Scope, ScopeSet};

fn set(s: &str) -> ScopeSet {
    s.parse().unwrap()
}

fn hash_of<T: Hash>(value: &T) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

#[test]
fn scopes_and_sets_format_for_people_and_for_debugging() {
    let s = set("write:reports read:reports");
    assert_eq!(s.to_string(), "read:reports write:reports");
    assert_eq!(format!("{s:?}"), r#"{"read:reports", "write:reports"}"#);
    assert_eq!(ScopeSet::new().to_string(), "");

    let one = Scope::new("read:reports").unwrap();
    assert_eq!(one.to_string(), "read:reports");
    assert_eq!(format!("{one:?}"), r#"Scope("read:reports")"#);

    let template = PathTemplate::parse("/t/{tenant}/{*rest}").unwrap();
    assert_eq!(template.to_string(), "/t/{tenant}/{*rest}");

    let methods = MethodSet::parse("GET")
        .unwrap()
        .union(MethodSet::parse("POST").unwrap());
    assert_eq!(format!("{methods:?}"), "MethodSet(GET,POST)");
}

#[test]
fn deserialization_errors_say_what_was_expected() {
    let err = serde_json::from_str::<ScopeSet>("42")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a space-delimited scope string or an array of scopes"),
        "{err}"
    );
    let err = serde_json::from_str::<Scope>("42").unwrap_err().to_string();
    assert!(err.contains(r#"a scope such as "read:reports""#), "{err}");
}

#[test]
fn equal_sets_hash_alike_and_different_sets_apart() {
    // Equal by canonical form, whatever order they were written in.
    assert_eq!(hash_of(&set("a b c")), hash_of(&set("c a b")));
    // A hash that ignores the members would put every set in one bucket.
    assert_ne!(hash_of(&set("a b")), hash_of(&set("a c")));
    assert_ne!(hash_of(&set("a")), hash_of(&ScopeSet::new()));
}

#[test]
fn a_set_iterates_by_reference_and_converts_from_one_scope() {
    let s = set("b a");
    let names: Vec<&str> = (&s).into_iter().map(Scope::as_str).collect();
    assert_eq!(names, ["a", "b"]);

    let one = ScopeSet::from(Scope::new("read:x").unwrap());
    assert_eq!(one.len(), 1);
    assert!(one.grants(&Scope::new("read:x").unwrap()));
}

#[test]
fn a_scope_string_of_exactly_the_maximum_length_is_accepted() {
    // 256 scopes of 63 bytes with 255 separators is 16,383 bytes; one scope of 64 makes
    // it exactly the limit.
    let mut tokens: Vec<String> = (0..MAX_SCOPES).map(|i| format!("s{i:062}")).collect();
    tokens[0].push('x');
    let text = tokens.join(" ");
    assert_eq!(text.len(), MAX_SCOPE_SET_LEN);
    assert_eq!(ScopeSet::parse(&text).unwrap().len(), MAX_SCOPES);
    assert!(ScopeSet::parse(&format!("{text}y")).is_err());
}

#[test]
fn a_template_of_exactly_the_maximum_length_and_segments_is_accepted() {
    let segment = "a".repeat(31);
    let text = format!("/{segment}").repeat(MAX_TEMPLATE_SEGMENTS);
    assert_eq!(text.len(), MAX_TEMPLATE_LEN);
    let template = PathTemplate::parse(&text).unwrap();
    assert_eq!(template.segments().len(), MAX_TEMPLATE_SEGMENTS);
    assert!(PathTemplate::parse(&format!("{text}b")).is_err());
    assert!(PathTemplate::parse(&format!("{text}/b")).is_err());

    let params = (0..MAX_PARAMS)
        .map(|i| format!("/{{p{i}}}"))
        .collect::<Vec<_>>()
        .concat();
    assert!(PathTemplate::parse(&params).is_ok());
    assert!(PathTemplate::parse(&format!("{params}/{{extra}}")).is_err());
}

#[test]
fn a_route_match_names_the_rule_by_position() {
    let policy = Policy::builder()
        .rule(RuleSpec::new("GET", "/a").require("read:a"))
        .rule(RuleSpec::new("GET", "/b").require("read:b"))
        .rule(RuleSpec::new("GET", "/c").require("read:c"))
        .build()
        .unwrap();
    let route = policy.match_route("GET", "/c").unwrap();
    assert_eq!(route.rule_index(), 2);
    assert_eq!(route.rule().name(), "GET /c");
    assert_eq!(policy.match_route("GET", "/b").unwrap().rule_index(), 1);
    let shown = format!("{route:?}");
    assert!(shown.starts_with("RouteMatch"), "{shown}");
    assert!(shown.contains("GET /c"), "{shown}");
}

#[test]
fn a_policy_keeps_the_spec_it_was_built_from() {
    let policy = Policy::builder()
        .cross_tenant_scope("admin:tenants")
        .rule(RuleSpec::new("GET", "/a").require("read:a"))
        .build()
        .unwrap();
    let shown = format!("{policy:?}");
    assert!(shown.starts_with("Policy"), "{shown}");
    assert!(
        shown.contains("admin:tenants") && shown.contains("/a"),
        "{shown}"
    );
    let spec = policy.spec();
    assert_eq!(spec.cross_tenant_scope.as_deref(), Some("admin:tenants"));
    assert_eq!(spec.rules.len(), 1);
    assert_eq!(spec.rules[0].path, "/a");
}
