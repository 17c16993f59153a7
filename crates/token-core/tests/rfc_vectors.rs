//! The JWS examples published in RFC 7515 Appendix A and RFC 8037, and the RFC 7638
//! thumbprints. `tests/data/rfc-vectors.json` holds them verbatim.

use std::sync::Arc;

use serde_json::Value;
use token_core::ManualClock;
use token_core::jose::{Jwk, SigningKey, VerifyingKey};
use token_core::jwt::{JwtErrorKind, Keyring, Validation, Verifier};

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/rfc-vectors.json")).unwrap()
}

fn vector(name: &str) -> Value {
    vectors()["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .cloned()
        .unwrap()
}

fn jwk(v: &Value) -> Jwk {
    serde_json::from_value(v["jwk"].clone()).unwrap()
}

/// A verifier for the RFC 7515 examples: issuer `joe`, no audience, at a time just
/// before their `exp` (1300819380).
fn rfc7515_verifier(key: VerifyingKey, now: i64) -> Verifier {
    let validation = Validation::builder()
        .issuer("joe")
        .dangerous_any_audience()
        .max_lifetime_secs(None)
        .build()
        .unwrap();
    let keyring = Keyring::verify_only()
        .with_verifying_key(key, "joe")
        .unwrap();
    Verifier::new(keyring, validation).with_clock(Arc::new(ManualClock::new(now)))
}

#[test]
fn rfc7515_a1_a2_a3_verify_and_expire() {
    for name in ["rfc7515-a1-hs256", "rfc7515-a2-rs256", "rfc7515-a3-es256"] {
        let v = vector(name);
        let alg = v["alg"].as_str().unwrap().parse().unwrap();
        let key = VerifyingKey::from_jwk(&jwk(&v), Some(alg)).unwrap();
        let token = v["jws"].as_str().unwrap();
        let exp = v["exp"].as_i64().unwrap();

        let ok = rfc7515_verifier(key.clone(), exp - 60)
            .verify_as::<serde_json::Map<String, Value>>(token);
        let ok = ok.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ok.claims.iss.as_deref(), Some("joe"), "{name}");
        assert_eq!(ok.claims.exp, exp);
        assert_eq!(ok.claims.extra["http://example.com/is_root"], true);

        // Leeway is 30 s by default: valid strictly before exp + 30.
        let late = rfc7515_verifier(key.clone(), exp + 30).verify(token);
        assert_eq!(late.unwrap_err().kind(), &JwtErrorKind::Expired, "{name}");
        assert!(
            rfc7515_verifier(key.clone(), exp + 29)
                .verify(token)
                .is_ok()
        );

        // One flipped signature bit is a bad signature.
        let mut tampered = token.to_owned();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'Q' } else { 'A' });
        let err = rfc7515_verifier(key, exp - 60)
            .verify(&tampered)
            .unwrap_err();
        assert!(
            matches!(
                err.kind(),
                JwtErrorKind::BadSignature | JwtErrorKind::Malformed(_)
            ),
            "{name}: {err}"
        );
    }
}

#[test]
fn rfc7515_a2_rsa_signature_is_reproduced() {
    // RSASSA-PKCS1-v1_5 is deterministic: signing the same input gives the RFC bytes.
    let v = vector("rfc7515-a2-rs256");
    let key = SigningKey::from_jwk(&jwk(&v), Some("RS256".parse().unwrap())).unwrap();
    let token = v["jws"].as_str().unwrap();
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let ours = key.sign(signing_input.as_bytes()).unwrap();
    assert_eq!(base64url(&ours), signature);
}

#[test]
fn rfc7515_a5_unsecured_is_refused() {
    let v = vector("rfc7515-a5-none");
    let key = VerifyingKey::from_jwk(
        &jwk(&vector("rfc7515-a1-hs256")),
        Some("HS256".parse().unwrap()),
    )
    .unwrap();
    let err = rfc7515_verifier(key, 1_300_819_000)
        .verify(v["jws"].as_str().unwrap())
        .unwrap_err();
    assert_eq!(err.kind(), &JwtErrorKind::AlgorithmNone);
    assert_eq!(err.code(), "algorithm_none");
}

#[test]
fn rfc8037_ed25519_signature_is_reproduced_and_verifies() {
    let v = vector("rfc8037-a4-ed25519");
    let signing = SigningKey::from_jwk(&jwk(&v), None).unwrap();
    assert_eq!(signing.kid(), v["thumbprint"].as_str().unwrap());
    let token = v["jws"].as_str().unwrap();
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    assert_eq!(
        base64url(&signing.sign(signing_input.as_bytes()).unwrap()),
        signature
    );
    assert!(
        signing
            .verifying_key()
            .verify(signing_input.as_bytes(), &unbase64url(signature))
    );

    // The payload is text, not claims: the signature verifies, then the claims fail.
    let err = rfc7515_verifier(signing.verifying_key().clone(), 0)
        .verify(token)
        .unwrap_err();
    assert!(matches!(err.kind(), JwtErrorKind::InvalidClaim(_)), "{err}");
}

#[test]
fn rfc7638_and_rfc8037_thumbprints() {
    for t in vectors()["thumbprints"].as_array().unwrap() {
        let jwk = jwk(t);
        assert_eq!(
            jwk.thumbprint().as_deref(),
            t["thumbprint"].as_str(),
            "{}",
            t["name"]
        );
    }
    // A key without `kid` is named by its thumbprint.
    let ed = vectors()["thumbprints"][1].clone();
    let key = VerifyingKey::from_jwk(&jwk(&ed), None).unwrap();
    assert_eq!(key.kid(), ed["thumbprint"].as_str().unwrap());
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unbase64url(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}
