//! Checks a route policy from the command line.
//!
//! ```text
//! cargo run -p policy-check                       # the built-in demo policy and requests
//! cargo run -p policy-check -- POLICY.toml "read:* write:reports" [TENANT] [METHOD PATH]...
//! ```
//!
//! Prints the decision for each request (allowed, or the reason code and the scopes
//! that would satisfy it), then a least-privilege report for the granted scopes: what
//! no rule can use, and the narrowest grant that reaches the same routes. Exits 1 when
//! the policy or the scopes are invalid, 2 on a usage error.

use std::process::ExitCode;

use token_scopes::{Decision, DenyReason, Grant, Policy, ScopeSet};

const DEMO_POLICY: &str = include_str!("../demo-policy.toml");
const DEMO_SCOPES: &str = "read:* admin:keys write:billing";
const DEMO_TENANT: &str = "acme";
const DEMO_REQUESTS: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/api/reports"),
    ("POST", "/api/reports"),
    ("GET", "/api/tenants/acme/usage"),
    ("GET", "/api/tenants/globex/usage"),
    ("DELETE", "/admin/keys/key_123"),
    ("GET", "/api/unknown"),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("usage: policy-check [POLICY.toml SCOPES [TENANT] [METHOD PATH]...]");
        return ExitCode::SUCCESS;
    }
    let (policy_text, scopes, tenant, requests): (
        String,
        String,
        Option<String>,
        Vec<(String, String)>,
    ) = match args.as_slice() {
        [] => (
            DEMO_POLICY.to_owned(),
            DEMO_SCOPES.to_owned(),
            Some(DEMO_TENANT.to_owned()),
            DEMO_REQUESTS
                .iter()
                .map(|&(m, p)| (m.to_owned(), p.to_owned()))
                .collect(),
        ),
        [file, scopes, rest @ ..] => {
            let text = match std::fs::read_to_string(file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("policy-check: cannot read {file}: {e}");
                    return ExitCode::from(2);
                }
            };
            let (tenant, pairs) = if rest.len() % 2 == 1 {
                (Some(rest[0].clone()), &rest[1..])
            } else {
                (None, rest)
            };
            let requests = pairs
                .chunks(2)
                .map(|c| (c[0].clone(), c[1].clone()))
                .collect();
            (text, scopes.clone(), tenant, requests)
        }
        _ => {
            eprintln!("usage: policy-check [POLICY.toml SCOPES [TENANT] [METHOD PATH]...]");
            return ExitCode::from(2);
        }
    };
    match run(&policy_text, &scopes, tenant.as_deref(), &requests) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("policy-check: {message}");
            ExitCode::from(1)
        }
    }
}

fn run(
    policy_text: &str,
    scopes: &str,
    tenant: Option<&str>,
    requests: &[(String, String)],
) -> Result<(), String> {
    let policy: Policy = toml::from_str(policy_text).map_err(|e| e.to_string())?;
    let held: ScopeSet = scopes.parse().map_err(|e| format!("scopes: {e}"))?;
    let mut who = Grant::new(&held);
    if let Some(t) = tenant {
        who = who.tenant(t);
    }
    println!(
        "policy: {} rules; granted: {held}; tenant: {}",
        policy.rules().len(),
        tenant.unwrap_or("-")
    );
    println!();
    for (method, path) in requests {
        let line = match policy.authorize(method, path, Some(&who)) {
            Decision::Allow(m) => format!(
                "allow  (rule `{}`, rate class {})",
                m.rule().name(),
                m.rule().rate_class().unwrap_or("-")
            ),
            Decision::Deny(d) => match d.reason() {
                DenyReason::InsufficientScope(u) => {
                    format!("deny   insufficient_scope: would need `{}`", u.missing())
                }
                other => format!("deny   {}: {other}", other.code()),
            },
            _ => "unknown decision".to_owned(),
        };
        println!("{method:>7} {path:<32} {line}");
    }
    let report = policy.analyze(&held);
    println!();
    println!("least privilege:");
    println!(
        "  unused (no rule can use these): {}",
        or_none(report.unused())
    );
    println!(
        "  narrowest equivalent grant:     {}",
        or_none(report.narrowest())
    );
    Ok(())
}

fn or_none(set: &ScopeSet) -> String {
    if set.is_empty() {
        "(none)".to_owned()
    } else {
        set.to_string()
    }
}
