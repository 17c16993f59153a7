//! Policy loading from TOML and JSON, then matching arbitrary requests: never panics,
//! and a route that matches always names a rule of the policy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use token_scopes::{Grant, Policy, ScopeSet};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (config, requests) = text.split_once("\n---\n").unwrap_or((text, "GET /"));
    let policy = toml::from_str::<Policy>(config)
        .ok()
        .or_else(|| serde_json::from_str::<Policy>(config).ok());
    let Some(policy) = policy else { return };
    let held = ScopeSet::parse("read:* admin:keys").expect("valid");
    let who = Grant::new(&held).tenant("acme");
    for line in requests.lines() {
        let (method, path) = line.split_once(' ').unwrap_or(("GET", line));
        let decision = policy.authorize(method, path, Some(&who));
        if let Some(route) = decision.route() {
            assert!(policy.rules().iter().any(|r| r.name() == route.rule().name()));
            for (_, value) in route.params() {
                assert!(path.contains(value));
            }
        }
        let _ = policy.analyze(&held);
    }
});
