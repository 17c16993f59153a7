//! Hot-path costs of token-scopes: requirement evaluation and route matching.
//!
//! Run with `cargo bench -p token-scopes --bench scopes`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use token_scopes::{Grant, Policy, Requirement, RuleSpec, ScopeSet};

/// A realistic 20-scope grant: concrete scopes plus two wildcards.
fn twenty_scopes() -> ScopeSet {
    let mut scopes: Vec<String> = (0..18).map(|i| format!("read:resource{i:02}")).collect();
    scopes.push("write:notifications:*".to_owned());
    scopes.push("reports:2024:*".to_owned());
    ScopeSet::parse(&scopes.join(" ")).unwrap()
}

fn evaluation(c: &mut Criterion) {
    let held = twenty_scopes();
    let mut g = c.benchmark_group("evaluate (20-scope set)");
    let single: Requirement = "read:resource11".parse().unwrap();
    g.bench_function("one scope, granted", |b| {
        b.iter(|| black_box(&single).is_satisfied_by(black_box(&held)));
    });
    let wildcard: Requirement = "reports:2024:read".parse().unwrap();
    g.bench_function("one scope, via wildcard", |b| {
        b.iter(|| black_box(&wildcard).is_satisfied_by(black_box(&held)));
    });
    let compound: Requirement =
        "read:resource03 and (read:analytics or write:notifications:email) and reports:2024:q1"
            .parse()
            .unwrap();
    g.bench_function("and/or of 4, granted", |b| {
        b.iter(|| black_box(&compound).evaluate(black_box(&held)).is_ok());
    });
    let denied: Requirement = "read:resource03 and admin:keys".parse().unwrap();
    g.bench_function("and of 2, denied with hint", |b| {
        b.iter(|| black_box(&denied).evaluate(black_box(&held)).is_err());
    });
    g.finish();
}

/// 200 rules shaped like a real API: versioned resources with ids and sub-resources.
fn two_hundred_rules() -> Policy {
    let mut b = Policy::builder();
    for i in 0..50 {
        let base = format!("/api/v1/resource{i}");
        b = b
            .rule(RuleSpec::new("GET", &base).require(&format!("read:r{i}")))
            .rule(RuleSpec::new("POST", &base).require(&format!("write:r{i}")))
            .rule(
                RuleSpec::new("GET,DELETE", &format!("/tenants/{{tenant}}{base}/{{id}}"))
                    .require(&format!("read:r{i} or admin:*"))
                    .tenant("tenant"),
            )
            .rule(
                RuleSpec::new("GET", &format!("{base}/{{id}}/items/*rest"))
                    .require(&format!("read:r{i}:items")),
            );
    }
    b.build().unwrap()
}

fn matching(c: &mut Criterion) {
    let policy = two_hundred_rules();
    assert_eq!(policy.rules().len(), 200);
    let held: ScopeSet = "read:r37 admin:*".parse().unwrap();
    let who = Grant::new(&held).tenant("acme");
    let mut g = c.benchmark_group("policy (200 rules)");
    g.bench_function("match literal route", |b| {
        b.iter(|| {
            policy
                .match_route(black_box("POST"), black_box("/api/v1/resource37"))
                .is_some()
        });
    });
    g.bench_function("match tenant/{id} route", |b| {
        b.iter(|| {
            policy
                .match_route(
                    black_box("DELETE"),
                    black_box("/tenants/acme/api/v1/resource37/k_123"),
                )
                .is_some()
        });
    });
    g.bench_function("match catch-all route", |b| {
        b.iter(|| {
            policy
                .match_route(
                    black_box("GET"),
                    black_box("/api/v1/resource37/k_1/items/a/b/c"),
                )
                .is_some()
        });
    });
    g.bench_function("no rule", |b| {
        b.iter(|| {
            policy
                .match_route(black_box("GET"), black_box("/api/v2/unknown"))
                .is_none()
        });
    });
    g.bench_function("authorize tenant route (match + scopes + tenant)", |b| {
        b.iter(|| {
            policy
                .authorize(
                    black_box("GET"),
                    black_box("/tenants/acme/api/v1/resource37/k_123"),
                    Some(&who),
                )
                .is_allowed()
        });
    });
    g.finish();
}

fn parsing(c: &mut Criterion) {
    let text = twenty_scopes().to_string();
    c.bench_function("parse 20-scope claim", |b| {
        b.iter(|| ScopeSet::parse(black_box(&text)).unwrap());
    });
}

criterion_group!(benches, evaluation, matching, parsing);
criterion_main!(benches);
