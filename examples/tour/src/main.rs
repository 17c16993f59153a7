//! A guided run through what tokenkit does today, in one process with no services.
//!
//! ```text
//! cargo run -p tour
//! ```
//!
//! It mints an API key and a JWT access token, authenticates requests carrying either
//! through one `Authenticator`, decides them against a fail-closed route policy (the
//! one in `examples/policy-check/demo-policy.toml`), revokes the key and shows the next
//! request refused, and reports what the key's grant holds that no route needs. Secrets
//! are never printed: only their non-secret hints.

use std::error::Error;

use token_core::apikey::{ApiKeys, KeyFormat, NewKey};
use token_core::backend::MemoryKeyStore;
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::{AccessTokenRequest, Keyring, Minter, Validation, Verifier};
use token_core::{Authenticator, Principal};
use token_scopes::{Decision, DenyReason, Grant, Policy};

const ISSUER: &str = "https://auth.tour.example";
const AUDIENCE: &str = "reports-api";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let policy: Policy = toml::from_str(include_str!("../../policy-check/demo-policy.toml"))?;
    let keyring = Keyring::new(SigningKey::generate(Algorithm::EdDSA)?);
    let minter = Minter::new(keyring.clone(), ISSUER);
    let keys = ApiKeys::new(MemoryKeyStore::new(), KeyFormat::new("tk_live")?);
    let auth = Authenticator::new()
        .api_keys(keys.clone())
        .jwt(Verifier::new(
            keyring.clone(),
            Validation::access_tokens(ISSUER, AUDIENCE),
        ));

    println!("1. Mint credentials (secrets are shown once to their owner; here only hints)");
    let (api_key, record) = keys
        .mint(NewKey::new("dashboard", "read:* admin:keys".parse()?).tenant("acme"))
        .await?;
    println!(
        "   API key {} ({}), scopes {}, tenant acme",
        record.hint, record.id, record.scopes
    );
    let jwt = minter.mint(
        &AccessTokenRequest::new("user-42", AUDIENCE)
            .scope("read:usage".parse()?)
            .tenant("globex")
            .ttl_secs(600),
    )?;
    println!(
        "   JWT for user-42, scope read:usage, tenant globex, 10 minutes, kid {}",
        short(keyring.signing_key().map_or("", |k| k.kid()))
    );

    println!("\n2. Authenticate and authorize requests (no rule → deny)");
    let requests = [
        ("GET", "/api/reports", api_key.expose_secret()),
        ("POST", "/api/reports", api_key.expose_secret()),
        ("GET", "/api/tenants/acme/usage", api_key.expose_secret()),
        ("GET", "/api/tenants/acme/usage", jwt.as_str()),
        ("GET", "/api/tenants/globex/usage", jwt.as_str()),
        ("DELETE", "/admin/keys/key_123", jwt.as_str()),
        ("GET", "/api/unknown", api_key.expose_secret()),
        ("GET", "/api/reports", "tk_live_this-is-not-a-real-key"),
    ];
    for (method, path, credential) in requests {
        println!(
            "   {}",
            decide(&auth, &policy, method, path, credential).await
        );
    }

    println!("\n3. Revoke the API key: the next request is refused at once");
    keys.revoke(&record.id, "leaked in a screenshot").await?;
    println!(
        "   {}",
        decide(
            &auth,
            &policy,
            "GET",
            "/api/reports",
            api_key.expose_secret()
        )
        .await
    );

    println!("\n4. Least privilege: what the key's grant holds that no route needs");
    let report = policy.analyze(&record.scopes);
    println!("   granted:    {}", record.scopes);
    println!("   unused:     {}", or_none(&report.unused().to_string()));
    println!(
        "   narrowest:  {} (reaches exactly the same routes)",
        report.narrowest()
    );
    Ok(())
}

async fn decide(
    auth: &Authenticator,
    policy: &Policy,
    method: &str,
    path: &str,
    credential: &str,
) -> String {
    let line = format!("{method:>6} {path:<28}");
    let principal: Principal = match auth.authenticate(credential).await {
        Ok(p) => p,
        Err(e) => return format!("{line} 401 {} ({e})", e.code()),
    };
    let who = match principal.tenant() {
        Some(t) => Grant::new(principal.scopes()).tenant(t),
        None => Grant::new(principal.scopes()),
    };
    let as_whom = format!(
        "as {} {}",
        kind(&principal),
        principal.display_hint().unwrap_or(principal.id())
    );
    match policy.authorize(method, path, Some(&who)) {
        Decision::Allow(route) => {
            format!("{line} 200 allowed by `{}` {as_whom}", route.rule().name())
        }
        Decision::Deny(denial) => match denial.reason() {
            DenyReason::InsufficientScope(unmet) => {
                format!(
                    "{line} 403 insufficient_scope, needs `{}` {as_whom}",
                    unmet.missing()
                )
            }
            DenyReason::NoRule => format!("{line} 403 no_rule (fail closed) {as_whom}"),
            other => format!("{line} 403 {} {as_whom}", other.code()),
        },
        _ => format!("{line} 403 denied {as_whom}"),
    }
}

fn kind(p: &Principal) -> &'static str {
    match p.kind() {
        token_core::PrincipalKind::ApiKey => "API key",
        token_core::PrincipalKind::Client => "client",
        _ => "token of",
    }
}

fn short(kid: &str) -> &str {
    kid.get(..8).unwrap_or(kid)
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "(none)" } else { s }
}
