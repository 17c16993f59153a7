//! The public JOSE vectors kept beside the repository (never copied into it): the
//! RFC 7520 cookbook and Wycheproof's JWS and JWK files. They live in
//! `../shared/testdata/jose/` from the repository root, or where
//! `TOKENKIT_JOSE_TESTDATA` points; each test prints a notice and passes when they
//! are absent (a user's fresh clone).

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use token_core::ManualClock;
use token_core::jose::{Algorithm, Jwk, SigningKey, VerifyingKey};
use token_core::jwt::{JwtErrorKind, Keyring, Validation, Verifier};

/// The vector folder, or `None` (with a notice) when it is absent.
fn testdata() -> Option<PathBuf> {
    let dir = std::env::var_os("TOKENKIT_JOSE_TESTDATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/jose"),
        PathBuf::from,
    );
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: no JOSE test vectors at {} (set TOKENKIT_JOSE_TESTDATA)",
            dir.display()
        );
        None
    }
}

fn read(dir: &std::path::Path, file: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join(file)).unwrap()).unwrap()
}

/// A verifier that checks everything but the claims these vectors do not carry.
fn verifier(keyring: Keyring) -> Verifier {
    let validation = Validation::builder()
        .dangerous_any_issuer()
        .dangerous_any_audience()
        .max_lifetime_secs(None)
        .build()
        .unwrap();
    Verifier::new(keyring, validation).with_clock(Arc::new(ManualClock::new(0)))
}

/// Whether the verifier accepts the token's header, key and signature. The vectors'
/// payloads are not JWT claims, so a refusal that comes only after the signature
/// verified (the claims) counts as acceptance.
fn signature_accepted(verifier: &Verifier, token: &str) -> bool {
    match verifier.verify(token) {
        Ok(_) => true,
        Err(e) => matches!(
            e.kind(),
            JwtErrorKind::InvalidClaim(_) | JwtErrorKind::MissingClaim(_) | JwtErrorKind::Expired
        ),
    }
}

/// A keyring of `jwk` (or of every key of a key set) bound to `allowed`, or `None`
/// when a key does not import or two keys share a key id.
fn keyring_of(jwk: &Value, allowed: &[Algorithm]) -> Option<Keyring> {
    let jwks = match jwk.get("keys") {
        Some(keys) => keys.as_array()?.clone(),
        None => vec![jwk.clone()],
    };
    let mut ring = Keyring::verify_only();
    for jwk in jwks {
        let jwk: Jwk = serde_json::from_value(jwk).ok()?;
        for key in VerifyingKey::from_jwk_for(&jwk, allowed).ok()? {
            ring = ring.dangerous_with_unbound_key(key).ok()?;
        }
    }
    Some(ring)
}

#[test]
fn rfc7520_cookbook_signatures_verify_with_keys_bound_by_the_allowed_algorithm() {
    let Some(dir) = testdata() else { return };
    for file in [
        "cookbook/jws_4_1.rsa_v15_signature.json",
        "cookbook/jws_4_2.rsa-pss_signature.json",
        "cookbook/jws_4_3.ecdsa_signature.json",
        "cookbook/jws_4_4.hmac-sha2_integrity_protection.json",
        "cookbook/curve25519_jws.json",
    ] {
        let v = read(&dir, file);
        let alg: Algorithm = v["signing"]["protected"]["alg"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let token = v["output"]["compact"].as_str().unwrap();
        let jwk = &v["input"]["key"];
        // The operator allows exactly the example's algorithm; the RSA and EC keys
        // carry no `alg`, so they bind to it.
        let ring = keyring_of(jwk, &[alg]).unwrap_or_else(|| panic!("{file}: key refused"));
        assert!(signature_accepted(&verifier(ring), token), "{file}");

        // One flipped signature character is refused.
        let mut tampered = token.to_owned();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        let ring = keyring_of(jwk, &[alg]).unwrap();
        assert!(!signature_accepted(&verifier(ring), &tampered), "{file}");

        // Where the example holds the private key, what we sign with it verifies too.
        let private: Jwk = serde_json::from_value(jwk.clone()).unwrap();
        if private.is_private() {
            let key = SigningKey::from_jwk(&private, Some(alg)).unwrap();
            let sig = key.sign(b"message").unwrap();
            assert!(key.verifying_key().verify(b"message", &sig), "{file}");
        }
    }
}

#[test]
fn rfc7520_es512_example_binds_only_to_es512() {
    let Some(dir) = testdata() else { return };
    let v = read(&dir, "cookbook/jws_4_3.ecdsa_signature.json");
    let token = v["output"]["compact"].as_str().unwrap();
    let jwk = &v["input"]["key"];
    // A P-521 key fits ES512 alone, whatever else is allowed.
    let ring = keyring_of(jwk, &[Algorithm::ES256, Algorithm::ES384, Algorithm::ES512]).unwrap();
    assert_eq!(ring.verifying_keys().count(), 1);
    assert!(signature_accepted(&verifier(ring), token));
    assert!(keyring_of(jwk, &[Algorithm::ES256, Algorithm::ES384]).is_none());
}

/// `json_web_signature_test.json` cases whose expected result tokenkit deliberately
/// does not give, with the reason (a deviation fails the test once it stops being one).
const JWS_DEVIATIONS: &[(u64, &str)] = &[
    // The key says `alg: PS256`; the token says PS384. The key decides the algorithm
    // (RFC 8725 §3.1), so tokenkit refuses what Wycheproof calls valid.
    (346, "key alg PS256, token PS384: refused"),
    (350, "key alg PS256, token PS384: refused"),
    // The token text is byte for byte that of tcId 357 (valid): the padding this case
    // is about is not in the file, so no verifier can both accept 357 and refuse it.
    (367, "identical to tcId 357"),
    (370, "identical to tcId 357"),
    // Wycheproof expects a `?` inside the base64url to be skipped; tokenkit refuses any
    // character outside the base64url alphabet (RFC 7515 §2).
    (372, "`?` in the header: refused"),
    (373, "`?` in the payload: refused"),
];

/// `json_web_key_test.json` cases tokenkit deliberately answers otherwise.
const JWK_DEVIATIONS: &[(u64, &str)] = &[
    // A set of a shared secret and a private EC key: Wycheproof (flag "Ambiguous")
    // refuses the whole set; tokenkit binds each key on its own, and the HS256 token
    // verifies with the secret it names.
    (1, "mixed-symmetry key set: accepted"),
    // A ROCA-vulnerable RSA modulus: tokenkit does not fingerprint ROCA moduli.
    (7, "ROCA modulus: not detected"),
];

/// Runs one Wycheproof file: each group's key (public, else the private `oct` key),
/// bound to every algorithm it fits, against each token.
fn run_wycheproof(file: &str, deviations: &[(u64, &str)]) -> (usize, usize) {
    let Some(dir) = testdata() else {
        return (0, 0);
    };
    let doc = read(&dir, file);
    let (mut ran, mut es512) = (0, 0);
    let mut failures = Vec::new();
    for group in doc["testGroups"].as_array().unwrap() {
        let jwk = group
            .get("public")
            .filter(|p| !p.is_null())
            .or_else(|| group.get("private"));
        let ring = jwk.and_then(|jwk| keyring_of(jwk, &Algorithm::ALL));
        for case in group["tests"].as_array().unwrap() {
            let id = case["tcId"].as_u64().unwrap();
            let Some(token) = case["jws"].as_str() else {
                continue; // JSON serialization: not a compact token.
            };
            ran += 1;
            let header = token.split('.').next().unwrap_or_default();
            if header == "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9"
            {
                es512 += 1;
            }
            let accepted = ring
                .as_ref()
                .is_some_and(|ring| signature_accepted(&verifier(ring.clone()), token));
            let want = case["result"] == "valid";
            let deviation = deviations.iter().any(|(d, _)| *d == id);
            if accepted != (want != deviation) {
                failures.push(format!(
                    "tcId {id} ({}): expected {}, got {}",
                    case["comment"],
                    case["result"],
                    if accepted { "valid" } else { "invalid" }
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{file}:\n{}", failures.join("\n"));
    (ran, es512)
}

#[test]
fn wycheproof_json_web_signature_vectors() {
    let (ran, es512) = run_wycheproof("wycheproof/json_web_signature_test.json", JWS_DEVIATIONS);
    if ran > 0 {
        assert!(ran > 400, "{ran}");
        assert_eq!(es512, 2, "both RFC 7520 ES512 cases ran");
    }
}

#[test]
fn wycheproof_json_web_key_vectors() {
    let (ran, _) = run_wycheproof("wycheproof/json_web_key_test.json", JWK_DEVIATIONS);
    if ran > 0 {
        assert!(ran >= 20, "{ran}");
    }
}
