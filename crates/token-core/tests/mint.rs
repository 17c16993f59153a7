//! Minting RFC 9068 access tokens and down-scoping them.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use token_core::ManualClock;
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::{AccessTokenRequest, Keyring, MintError, Minter, Validation, Verifier};
use token_scopes::ScopeSet;

const NOW: i64 = 1_800_000_000;

fn setup() -> (Minter, Verifier) {
    let keyring = Keyring::new(SigningKey::generate(Algorithm::ES256).unwrap());
    let clock = Arc::new(ManualClock::new(NOW));
    let minter = Minter::new(keyring.clone(), "https://as").with_clock(clock.clone());
    let verifier =
        Verifier::new(keyring, Validation::access_tokens("https://as", "api")).with_clock(clock);
    (minter, verifier)
}

fn part(token: &str, i: usize) -> serde_json::Value {
    serde_json::from_slice(&B64.decode(token.split('.').nth(i).unwrap()).unwrap()).unwrap()
}

#[test]
fn mints_rfc9068_tokens() {
    let (minter, verifier) = setup();
    let req = AccessTokenRequest::new("user-1", "api")
        .audience("billing")
        .scope("read:reports write:reports".parse().unwrap())
        .client_id("dashboard")
        .tenant("acme")
        .ttl_secs(300);
    let token = minter.mint(&req).unwrap();
    let header = part(&token, 0);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    let claims = part(&token, 1);
    assert_eq!(claims["iss"], "https://as");
    assert_eq!(claims["sub"], "user-1");
    assert_eq!(claims["aud"], serde_json::json!(["api", "billing"]));
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["exp"], NOW + 300);
    assert_eq!(claims["client_id"], "dashboard");
    assert_eq!(claims["scope"], "read:reports write:reports");
    assert_eq!(claims["tid"], "acme");
    assert_eq!(claims["jti"].as_str().unwrap().len(), 22);

    let v = verifier.verify(&token).unwrap();
    assert_eq!(v.claims.tenant.as_deref(), Some("acme"));
    assert_eq!(
        v.claims.scope,
        "write:reports read:reports".parse::<ScopeSet>().unwrap()
    );
    // Two mints never share a jti.
    assert_ne!(part(&minter.mint(&req).unwrap(), 1)["jti"], claims["jti"]);
}

#[test]
fn lifetime_is_required_and_capped() {
    let (minter, _) = setup();
    let token = minter.mint(&AccessTokenRequest::new("u", "api")).unwrap();
    assert_eq!(
        part(&token, 1)["exp"],
        NOW + 900,
        "default: the 15-minute cap"
    );
    for bad in [0, -5, 901] {
        assert_eq!(
            minter
                .mint(&AccessTokenRequest::new("u", "api").ttl_secs(bad))
                .unwrap_err(),
            MintError::Lifetime { max_secs: 900 }
        );
    }
    let longer = minter.clone().max_ttl_secs(3600);
    assert!(
        longer
            .mint(&AccessTokenRequest::new("u", "api").ttl_secs(3600))
            .is_ok()
    );
}

#[test]
fn typed_extra_claims_round_trip_and_cannot_shadow_registered_ones() {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Plan {
        plan: String,
        seats: u32,
    }
    #[derive(Serialize)]
    struct Sneaky {
        exp: i64,
    }
    let (minter, verifier) = setup();
    let extra = Plan {
        plan: "pro".into(),
        seats: 5,
    };
    let token = minter
        .mint(&AccessTokenRequest::new("u", "api").extra(extra.clone()))
        .unwrap();
    assert_eq!(
        verifier.verify_as::<Plan>(&token).unwrap().claims.extra,
        extra
    );
    let err = minter
        .mint(&AccessTokenRequest::new("u", "api").extra(Sneaky { exp: i64::MAX }))
        .unwrap_err();
    assert!(matches!(err, MintError::ExtraClaims(_)), "{err}");
    let tenant_clash = serde_json::json!({"tid": "other"});
    assert!(
        minter
            .mint(&AccessTokenRequest::new("u", "api").extra(tenant_clash))
            .is_err()
    );
    assert!(
        minter
            .mint(&AccessTokenRequest::new("u", "api").extra(7))
            .is_err()
    );
}

#[test]
fn downscoping_never_exceeds_the_parent() {
    let (minter, verifier) = setup();
    let parent = minter
        .mint(
            &AccessTokenRequest::new("u", "api")
                .audience("billing")
                .scope("read:* write:reports".parse().unwrap())
                .tenant("acme")
                .ttl_secs(600),
        )
        .unwrap();
    let parent = &verifier.verify(&parent).unwrap();

    let too_long = minter.downscope(
        parent,
        &"read:sales".parse().unwrap(),
        Some("api"),
        Some(901),
    );
    assert_eq!(too_long.unwrap_err(), MintError::Lifetime { max_secs: 900 });

    let child = minter
        .downscope(parent, &"read:sales".parse().unwrap(), Some("api"), None)
        .unwrap();
    let child = verifier.verify(&child).unwrap().claims;
    assert_eq!(child.scope.to_string(), "read:sales");
    assert_eq!(child.aud, ["api"]);
    assert_eq!(child.tenant.as_deref(), Some("acme"));
    assert!(child.exp <= parent.claims.exp, "never outlives its parent");
    assert_eq!(
        minter
            .downscope(parent, &"admin:keys".parse().unwrap(), None, None)
            .unwrap_err(),
        MintError::ScopeEscalation
    );
    assert_eq!(
        minter
            .downscope(parent, &"*".parse().unwrap(), None, None)
            .unwrap_err(),
        MintError::ScopeEscalation
    );
    assert_eq!(
        minter
            .downscope(parent, &"read:x".parse().unwrap(), Some("payroll"), None)
            .unwrap_err(),
        MintError::AudienceEscalation
    );
}

#[test]
fn a_keyring_without_signing_key_cannot_mint() {
    let minter = Minter::new(Keyring::verify_only(), "https://as");
    assert_eq!(
        minter
            .mint(&AccessTokenRequest::new("u", "api"))
            .unwrap_err(),
        MintError::NoSigningKey
    );
}

#[test]
fn jti_is_128_random_bits_in_base64url() {
    let (minter, _) = setup();
    let mut ids = std::collections::HashSet::new();
    let mut halves = std::collections::HashSet::new();
    for _ in 0..256 {
        let token = minter.mint(&AccessTokenRequest::new("u", "api")).unwrap();
        let jti = part(&token, 1)["jti"].as_str().unwrap().to_owned();
        assert_eq!(jti.len(), 22, "{jti}");
        assert!(
            jti.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{jti}"
        );
        let raw = B64.decode(&jti).unwrap();
        assert_eq!(raw.len(), 16);
        assert_eq!(B64.encode(&raw), jti, "canonical base64url");
        // Random throughout: no per-process prefix (a prefix and a counter would repeat
        // the first half and give the minting rate away).
        halves.insert(raw[..8].to_vec());
        halves.insert(raw[8..].to_vec());
        ids.insert(jti);
    }
    assert_eq!(ids.len(), 256, "unique");
    assert_eq!(halves.len(), 512, "no half repeats");
}
