//! Policy building, matching and decisions.

use token_scopes::inspect::Access;
use token_scopes::{
    Decision, DenyReason, Grant, Policy, PolicyErrorKind, RuleSpec, ScopeSet, TemplateError,
};

fn set(s: &str) -> ScopeSet {
    s.parse().unwrap()
}

fn quickstart() -> Policy {
    toml::from_str(include_str!(
        "../../../examples/policy-check/demo-policy.toml"
    ))
    .unwrap()
}

#[test]
fn loads_from_toml_and_json_and_serializes_back() {
    let p = quickstart();
    assert_eq!(p.rules().len(), 6);
    assert_eq!(p.cross_tenant_scope().unwrap().as_str(), "admin:tenants");
    let back = toml::to_string(&p).unwrap();
    let again: Policy = toml::from_str(&back).unwrap();
    assert_eq!(again.spec(), p.spec());

    let json = r#"{"rules": [{"method": "GET", "path": "/x", "require": "read:x"}]}"#;
    let p: Policy = serde_json::from_str(json).unwrap();
    assert_eq!(p.rules()[0].name(), "GET /x");
    assert!(matches!(p.rules()[0].access(), Access::Require(r) if r.to_string() == "read:x"));
}

#[test]
fn unknown_fields_are_errors() {
    // A misspelt `tenant` must not silently drop the tenant binding.
    let text = r#"
        [[rule]]
        methods = "GET"
        path = "/t/{tenant}"
        require = "read:x"
        tennant = "tenant"
    "#;
    let err = toml::from_str::<Policy>(text).unwrap_err();
    assert!(err.to_string().contains("tennant"), "{err}");
}

#[test]
fn picks_the_most_specific_rule() {
    let p = Policy::builder()
        .rule(RuleSpec::new("GET", "/a/b").require("lit").name("literal"))
        .rule(
            RuleSpec::new("GET", "/a/{x}")
                .require("param")
                .name("param"),
        )
        .rule(
            RuleSpec::new("GET", "/a/*rest")
                .require("catch")
                .name("catch-all"),
        )
        .rule(RuleSpec::new("*", "/a/b").require("any").name("any method"))
        .rule(
            RuleSpec::new("POST", "/a/{x}/c")
                .require("deep")
                .name("deep"),
        )
        .build()
        .unwrap();
    let rule = |m: &str, path: &str| p.match_route(m, path).map(|r| r.rule().name().to_owned());
    assert_eq!(rule("GET", "/a/b").as_deref(), Some("literal"));
    assert_eq!(rule("DELETE", "/a/b").as_deref(), Some("any method"));
    assert_eq!(rule("GET", "/a/z").as_deref(), Some("param"));
    assert_eq!(rule("GET", "/a/z/y").as_deref(), Some("catch-all"));
    assert_eq!(rule("GET", "/a/b/c").as_deref(), Some("catch-all"));
    assert_eq!(rule("POST", "/a/b/c").as_deref(), Some("deep"));
    // The method does not fit the deeper rule, so the search backtracks.
    assert_eq!(rule("GET", "/a/q/c").as_deref(), Some("catch-all"));
    // A parameter never matches an empty segment; a catch-all needs a non-empty rest.
    assert_eq!(rule("GET", "/a/"), None);
    assert_eq!(rule("GET", "/a"), None);
}

#[test]
fn captures_parameters() {
    let p = Policy::builder()
        .rule(RuleSpec::new("GET", "/t/{tenant}/keys/{id}").authenticated())
        .rule(RuleSpec::new("GET", "/files/{*path}").authenticated())
        .build()
        .unwrap();
    let m = p.match_route("GET", "/t/acme/keys/k1").unwrap();
    assert_eq!(m.param("tenant"), Some("acme"));
    assert_eq!(m.param("id"), Some("k1"));
    assert_eq!(m.param("nope"), None);
    assert_eq!(
        m.params().collect::<Vec<_>>(),
        [("tenant", "acme"), ("id", "k1")]
    );
    let m = p.match_route("GET", "/files/a/b.txt").unwrap();
    assert_eq!(m.param("path"), Some("a/b.txt"));
}

#[test]
fn fails_closed_on_odd_paths() {
    let p = quickstart();
    let held = set("*");
    let who = Grant::new(&held).tenant("acme");
    for path in [
        "",
        "api/reports",
        "/api/reports/",
        "//api/reports",
        "/api//reports",
        "/api/reports?x=1",
        "/api/./reports",
        "/api/x/../reports",
        "/API/reports",
        "/api/%72eports",
    ] {
        assert_eq!(
            p.authorize("GET", path, Some(&who)).reason_code(),
            Some("no_rule"),
            "{path:?}"
        );
    }
    assert_eq!(
        p.authorize("get", "/api/reports", Some(&who)).reason_code(),
        Some("no_rule")
    );
    assert_eq!(
        p.authorize("PURGE", "/api/reports", Some(&who))
            .reason_code(),
        Some("no_rule")
    );
}

#[test]
fn decisions_carry_their_reasons() {
    let p = quickstart();
    let held = set("read:reports read:usage");
    let who = Grant::new(&held).tenant("acme");

    assert!(p.authorize("GET", "/health", None).is_allowed());
    assert!(!p.authorize("GET", "/api/reports", None).is_allowed());
    assert!(!p.authorize("GET", "/nowhere", Some(&who)).is_allowed());
    assert_eq!(
        p.authorize("GET", "/api/reports", None).reason_code(),
        Some("unauthenticated")
    );

    let Decision::Allow(m) = p.authorize("GET", "/api/reports", Some(&who)) else {
        panic!()
    };
    assert_eq!(m.rule().rate_class(), Some("reports"));
    assert_eq!(m.rule().template().as_str(), "/api/reports");
    assert_eq!(
        p.rules()[m.rule_index()].name(),
        m.rule().name(),
        "the index names the same rule"
    );

    let Decision::Deny(d) = p.authorize("POST", "/api/reports", Some(&who)) else {
        panic!()
    };
    let DenyReason::InsufficientScope(u) = d.reason() else {
        panic!()
    };
    assert_eq!(u.missing().to_string(), "write:reports");
    assert_eq!(d.route().unwrap().rule().name(), "create report");
    assert_eq!(
        d.reason().to_string(),
        "requirement `write:reports` not met; missing scopes: write:reports"
    );
}

#[test]
fn head_is_authorized_as_get_and_never_falls_through() {
    // A public catch-all beside a GET rule that needs a scope: axum answers HEAD with
    // the GET handler, so HEAD must meet the GET rule, not the catch-all.
    let p = Policy::builder()
        .rule(RuleSpec::new("GET", "/api/reports").require("read:reports"))
        .rule(RuleSpec::new("*", "/{*rest}").public())
        .build()
        .unwrap();
    let none = set("");
    let nobody = Grant::new(&none);
    let d = p.authorize("HEAD", "/api/reports", Some(&nobody));
    assert_eq!(d.reason_code(), Some("insufficient_scope"));
    assert_eq!(
        d.route().unwrap().rule().template().as_str(),
        "/api/reports"
    );
    assert_eq!(
        p.authorize("HEAD", "/api/reports", None).reason_code(),
        Some("unauthenticated")
    );
    let held = set("read:reports");
    assert!(
        p.authorize("HEAD", "/api/reports", Some(&Grant::new(&held)))
            .is_allowed()
    );
    // Other methods still fall through to the broader rule.
    assert!(p.authorize("OPTIONS", "/api/reports", None).is_allowed());
    // A separate HEAD rule beside a GET rule would make HEAD ambiguous: refused.
    let e = Policy::builder()
        .rule(RuleSpec::new("GET", "/a").require("read:a").name("get"))
        .rule(RuleSpec::new("HEAD", "/a").public().name("head"))
        .build()
        .unwrap_err();
    assert_eq!(e.rule_name(), Some("head"));
}

#[test]
fn tenant_binding() {
    let p = quickstart();
    let held = set("read:usage");
    let acme = Grant::new(&held).tenant("acme");
    let nobody = Grant::new(&held);
    let decide = |who: &Grant<'_>, path: &str| p.authorize("GET", path, Some(who)).reason_code();

    assert_eq!(decide(&acme, "/api/tenants/acme/usage"), None);
    assert_eq!(decide(&acme, "/api/tenants/%61cme/usage"), None);
    assert_eq!(
        decide(&acme, "/api/tenants/globex/usage"),
        Some("tenant_mismatch")
    );
    assert_eq!(
        decide(&acme, "/api/tenants/acme%/usage"),
        Some("tenant_mismatch")
    );
    assert_eq!(
        decide(&nobody, "/api/tenants/acme/usage"),
        Some("tenant_mismatch")
    );

    let operator_scopes = set("read:usage admin:tenants");
    let operator = Grant::new(&operator_scopes).tenant("ops");
    assert_eq!(decide(&operator, "/api/tenants/globex/usage"), None);
    // Cross-tenant power is held exactly, never through a wildcard: a tenant
    // administrator with `admin:*`, or even `*`, stays in its tenant.
    for wide in ["read:usage admin:*", "*", "read:* admin:*"] {
        let scopes = set(wide);
        let tenant_admin = Grant::new(&scopes).tenant("acme");
        assert_eq!(
            decide(&tenant_admin, "/api/tenants/globex/usage"),
            Some("tenant_mismatch"),
            "{wide}"
        );
        assert_eq!(decide(&tenant_admin, "/api/tenants/acme/usage"), None);
    }
    // The cross-tenant scope does not stand in for the route's own requirement.
    let only_cross = set("admin:tenants");
    let op2 = Grant::new(&only_cross);
    assert_eq!(
        decide(&op2, "/api/tenants/globex/usage"),
        Some("insufficient_scope")
    );
}

fn build_err(rule: RuleSpec) -> (Option<String>, PolicyErrorKind) {
    let e = Policy::builder().rule(rule).build().unwrap_err();
    (e.rule_name().map(str::to_owned), e.kind().clone())
}

#[test]
fn build_errors_name_the_rule() {
    use PolicyErrorKind as K;
    let named = |r: RuleSpec| r.name("r");
    assert_eq!(build_err(named(RuleSpec::new("GET", "/x"))).1, K::NoAccess);
    assert_eq!(
        build_err(named(RuleSpec::new("GET", "/x").public().require("a"))).1,
        K::ConflictingAccess
    );
    assert_eq!(
        build_err(named(RuleSpec::new("get", "/x").public())).1,
        K::UnknownMethod("get".into())
    );
    assert_eq!(
        build_err(named(RuleSpec::new("GET", "x").public())).1,
        K::Template(TemplateError::NoLeadingSlash)
    );
    assert!(matches!(
        build_err(named(RuleSpec::new("GET", "/x").require("a and"))).1,
        K::Requirement(_)
    ));
    assert_eq!(
        build_err(named(
            RuleSpec::new("GET", "/x/{t}").require("a").tenant("tenant")
        ))
        .1,
        K::UnknownTenantParam("tenant".into())
    );
    assert_eq!(
        build_err(named(RuleSpec::new("GET", "/x/{t}").public().tenant("t"))).1,
        K::PublicTenantBound
    );
    assert_eq!(
        build_err(named(RuleSpec::new("GET", "/x").public().rate_class("a b"))).1,
        K::BadRateClass("a b".into())
    );
    let (name, kind) = build_err(RuleSpec::new("GET,POST", "/x").require("Bad"));
    assert_eq!(name.as_deref(), Some("GET,POST /x"));
    assert!(matches!(kind, K::Requirement(_)));

    let e = Policy::builder()
        .rule(RuleSpec::new("GET", "/x").require("Bad").name("reports"))
        .build()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "rule `reports`: bad requirement: invalid requirement: uppercase letter (scopes are lowercase) at byte 0"
    );
    let e = Policy::builder()
        .cross_tenant_scope("Admin")
        .build()
        .unwrap_err();
    assert_eq!(e.rule_name(), None);
    assert!(
        e.to_string().starts_with("policy: bad cross_tenant_scope"),
        "{e}"
    );
}

#[test]
fn duplicate_and_ambiguous_rules_are_rejected() {
    let dup = |a: RuleSpec, b: RuleSpec| {
        Policy::builder()
            .rule(a.name("first"))
            .rule(b.name("second"))
            .build()
    };
    let e = dup(
        RuleSpec::new("GET", "/a/{x}").public(),
        RuleSpec::new("GET", "/a/{y}").public(),
    )
    .unwrap_err();
    assert_eq!(e.rule_name(), Some("second"));
    assert_eq!(
        e.kind(),
        &PolicyErrorKind::Duplicate {
            other: "first".into()
        }
    );
    assert!(
        dup(
            RuleSpec::new("GET,POST", "/a").public(),
            RuleSpec::new("POST", "/a").public()
        )
        .is_err()
    );
    assert!(
        dup(
            RuleSpec::new("*", "/a/*r").public(),
            RuleSpec::new("*", "/a/{*s}").public()
        )
        .is_err()
    );
    // Not duplicates: different methods, or specific methods beside "any".
    assert!(
        dup(
            RuleSpec::new("GET", "/a").public(),
            RuleSpec::new("POST", "/a").public()
        )
        .is_ok()
    );
    assert!(
        dup(
            RuleSpec::new("GET", "/a").public(),
            RuleSpec::new("*", "/a").public()
        )
        .is_ok()
    );
    assert!(
        dup(
            RuleSpec::new("GET", "/a/{x}").public(),
            RuleSpec::new("GET", "/a/*r").public()
        )
        .is_ok()
    );
}

#[test]
fn a_large_policy_matches_every_rule() {
    let mut b = Policy::builder();
    for i in 0..200 {
        b = b.rule(
            RuleSpec::new("GET", &format!("/api/v1/resource{i}/{{id}}/items"))
                .require(&format!("read:r{i}")),
        );
    }
    let p = b.build().unwrap();
    for i in 0..200 {
        let path = format!("/api/v1/resource{i}/42/items");
        let m = p.match_route("GET", &path).unwrap();
        assert_eq!(
            m.rule().requirement().unwrap().to_string(),
            format!("read:r{i}")
        );
    }
}
