//! Key generation, import and export, keyrings with rotation, and JWKS handling.

use std::sync::Arc;

use token_core::ManualClock;
use token_core::jose::{Algorithm, Jwk, KeyError, SigningKey, VerifyingKey};
use token_core::jwt::{
    AccessTokenRequest, JwtErrorKind, Keyring, KeyringError, Minter, Validation, Verifier,
};

const NOW: i64 = 1_800_000_000;
const RSA_PKCS8: &str = include_str!("data/rsa2048-pkcs8.pem");
const RSA_PKCS1: &str = include_str!("data/rsa2048-pkcs1.pem");
const RSA_SPKI: &str = include_str!("data/rsa2048-spki.pem");

fn sign_verify(signer: &SigningKey, verifier: &VerifyingKey) -> bool {
    let sig = signer.sign(b"message").unwrap();
    verifier.verify(b"message", &sig) && !verifier.verify(b"massage", &sig)
}

#[test]
fn generated_keys_round_trip_through_jwk_and_pem() {
    for alg in [
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
        Algorithm::HS256,
        Algorithm::HS512,
    ] {
        let key = SigningKey::generate(alg).unwrap();
        // Private JWK → same key (same kid, signatures verify both ways).
        let jwk = key.to_private_jwk();
        assert!(jwk.is_private());
        let back =
            SigningKey::from_jwk(&Jwk::from_json(jwk.to_json().as_bytes()).unwrap(), None).unwrap();
        assert_eq!(back.kid(), key.kid(), "{alg}");
        assert!(sign_verify(&back, key.verifying_key()), "{alg}");
        assert!(sign_verify(&key, back.verifying_key()), "{alg}");
        if key.verifying_key().is_secret() {
            assert!(key.verifying_key().to_public_jwk().is_none());
            assert_eq!(key.to_pkcs8_pem().unwrap_err(), KeyError::NoPemForSecret);
            continue;
        }
        // PKCS#8 PEM → same key.
        let pem = key.to_pkcs8_pem().unwrap();
        let from_pem = SigningKey::from_pem(&pem, None).unwrap();
        assert!(sign_verify(&from_pem, key.verifying_key()), "{alg}");
        // Public JWK and SPKI PEM → a verifying key that checks the original's signatures.
        let public = key.verifying_key().to_public_jwk().unwrap();
        assert!(!public.is_private());
        assert_eq!(public.use_.as_deref(), Some("sig"));
        let vk = VerifyingKey::from_jwk(&public, None).unwrap();
        assert_eq!(vk.kid(), key.kid());
        assert!(sign_verify(&key, &vk), "{alg}");
        let vk = VerifyingKey::from_pem(&key.verifying_key().to_public_pem().unwrap(), Some(alg))
            .unwrap();
        assert!(sign_verify(&key, &vk), "{alg}");
        // The default kid is the RFC 7638 thumbprint of the public JWK.
        assert_eq!(public.thumbprint().as_deref(), Some(key.kid()));
    }
}

#[test]
fn an_rsa_key_that_cannot_sign_is_refused_at_import() {
    // Found by the `der_key` fuzz target: the test key with a private component
    // changed. ring builds a key pair from it, and every signature then fails.
    let der = include_bytes!("data/rsa2048-inconsistent-pkcs8.der");
    assert_eq!(
        SigningKey::from_pkcs8(der, None).unwrap_err(),
        KeyError::Rejected
    );
}

#[test]
fn an_ec_key_whose_public_point_is_another_keys_is_refused() {
    use base64::Engine as _;
    let der = |key: &SigningKey| {
        let pem = key.to_pkcs8_pem().unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    };
    for (alg, point_len) in [
        (Algorithm::ES256, 65),
        (Algorithm::ES384, 97),
        (Algorithm::ES512, 133),
    ] {
        let (mine, other) = (
            der(&SigningKey::generate(alg).unwrap()),
            der(&SigningKey::generate(alg).unwrap()),
        );
        assert!(SigningKey::from_pkcs8(&mine, None).is_ok(), "{alg}");
        // The public point is the last field of the PKCS#8 (inside the SEC 1 key).
        let mut mixed = mine.clone();
        let at = mixed.len() - point_len;
        assert_eq!(mixed[at], 4, "{alg}: an uncompressed point");
        mixed[at..].copy_from_slice(&other[other.len() - point_len..]);
        assert_eq!(
            SigningKey::from_pkcs8(&mixed, None).unwrap_err(),
            KeyError::Rejected,
            "{alg}"
        );
    }
}

#[test]
fn rsa_imports_from_pkcs8_pkcs1_and_spki() {
    let a = SigningKey::from_pem(RSA_PKCS8, None).unwrap();
    let b = SigningKey::from_pem(RSA_PKCS1, Some(Algorithm::PS256)).unwrap();
    assert_eq!(a.algorithm(), Algorithm::RS256);
    assert_eq!(a.kid(), b.kid(), "same key material, same thumbprint");
    let public = VerifyingKey::from_pem(RSA_SPKI, None).unwrap();
    assert!(sign_verify(&a, &public));
    // Through JWK and back.
    let jwk = a.to_private_jwk();
    let again = SigningKey::from_jwk(&jwk, None).unwrap();
    assert!(sign_verify(&again, a.verifying_key()));
    assert!(SigningKey::from_pem(&again.to_pkcs8_pem().unwrap(), None).is_ok());
    assert_eq!(
        SigningKey::generate(Algorithm::RS256).unwrap_err(),
        KeyError::RsaGeneration
    );
}

#[test]
fn keys_refuse_what_does_not_fit() {
    assert_eq!(
        SigningKey::hmac(Algorithm::HS256, &[1u8; 31]).unwrap_err(),
        KeyError::WeakSecret { min_bits: 256 }
    );
    assert!(SigningKey::hmac(Algorithm::HS512, &[1u8; 63]).is_err());
    assert_eq!(
        SigningKey::hmac(Algorithm::ES256, &[1u8; 64]).unwrap_err(),
        KeyError::AlgorithmMismatch
    );
    assert_eq!(
        SigningKey::from_pem(RSA_PKCS8, Some(Algorithm::ES256)).unwrap_err(),
        KeyError::AlgorithmMismatch
    );
    let ec = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .to_private_jwk();
    assert!(SigningKey::from_jwk(&ec, Some(Algorithm::ES384)).is_err());
    let rsa_public = VerifyingKey::from_pem(RSA_SPKI, None)
        .unwrap()
        .to_public_jwk()
        .unwrap();
    let mut no_alg = rsa_public.clone();
    no_alg.alg = None;
    no_alg.kid = None;
    assert_eq!(
        VerifyingKey::from_jwk(&no_alg, None).unwrap_err(),
        KeyError::NoAlgorithm
    );
    assert!(VerifyingKey::from_jwk(&no_alg, Some(Algorithm::PS384)).is_ok());
    let mut enc = rsa_public;
    enc.use_ = Some("enc".into());
    assert_eq!(
        VerifyingKey::from_jwk(&enc, None).unwrap_err(),
        KeyError::NotForSignatures
    );
    assert!(
        SigningKey::from_pem(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            None
        )
        .is_err()
    );
    assert!(SigningKey::from_pem("not pem", None).is_err());
}

#[test]
fn nothing_secret_in_debug_or_errors() {
    for alg in [Algorithm::HS256, Algorithm::EdDSA, Algorithm::ES256] {
        let key = SigningKey::generate(alg).unwrap();
        let jwk = key.to_private_jwk();
        let secret = jwk
            .d
            .as_ref()
            .or(jwk.k.as_ref())
            .unwrap()
            .expose()
            .to_owned();
        for shown in [
            format!("{key:?}"),
            format!("{jwk:?}"),
            format!("{:?}", key.verifying_key()),
            format!("{:?}", Keyring::new(key.clone())),
        ] {
            assert!(!shown.contains(&secret), "{alg}: {shown}");
        }
    }
}

#[test]
fn a_keyring_shows_its_keys_and_their_bindings_in_debug() {
    let own = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let partner = SigningKey::generate(Algorithm::ES256).unwrap();
    let legacy = SigningKey::generate(Algorithm::HS256).unwrap();
    let ring = Keyring::new(own.clone())
        .with_verifying_key(partner.verifying_key().clone(), "https://partner.example")
        .unwrap()
        .dangerous_with_unbound_key(legacy.verifying_key().clone())
        .unwrap();
    let shown = format!("{ring:?}");
    assert!(shown.starts_with("Keyring"), "{shown}");
    for kid in [own.kid(), partner.kid(), legacy.kid()] {
        assert!(shown.contains(kid), "{shown}");
    }
    for binding in ["own", "\"https://partner.example\"", "unbound"] {
        assert!(shown.contains(binding), "{binding}: {shown}");
    }
    let shared = format!("{:?}", token_core::jwt::SharedKeyring::new(ring));
    assert!(shared.starts_with("SharedKeyring(Keyring"), "{shared}");
    assert!(shared.contains(own.kid()), "{shared}");
}

#[test]
fn rotation_keeps_tokens_in_flight_until_retirement() {
    let clock = ManualClock::new(NOW);
    let old = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let ring1 = Keyring::new(old.clone());
    let minter = Minter::new(ring1.clone(), "https://as").with_clock(Arc::new(clock.clone()));
    let old_token = minter.mint(&AccessTokenRequest::new("u", "api")).unwrap();

    let new = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let ring2 = ring1.rotate(new.clone(), NOW + 600).unwrap();
    assert_eq!(ring2.signing_key().unwrap().kid(), new.kid());
    let new_token = minter
        .clone()
        .with_keyring(ring2.clone())
        .mint(&AccessTokenRequest::new("u", "api"))
        .unwrap();

    let verifier = Verifier::new(
        ring2.clone(),
        Validation::access_tokens("https://as", "api"),
    )
    .with_clock(Arc::new(clock.clone()));
    assert_eq!(verifier.verify(&old_token).unwrap().key.kid(), old.kid());
    assert_eq!(verifier.verify(&new_token).unwrap().key.kid(), new.kid());
    // Both keys are published while the old one retires.
    let kids: Vec<_> = ring2
        .public_jwks()
        .keys
        .iter()
        .map(|k| k.kid.clone().unwrap())
        .collect();
    assert_eq!(kids, [old.kid().to_owned(), new.kid().to_owned()]);

    clock.set(NOW + 600);
    assert_eq!(
        verifier.verify(&old_token).unwrap_err().kind(),
        &JwtErrorKind::KeyRetired
    );
    assert!(verifier.verify(&new_token).is_ok());

    assert_eq!(
        ring2.rotate(new.clone(), NOW).unwrap_err(),
        KeyringError::DuplicateKid(new.kid().to_owned())
    );
}

#[test]
fn a_later_rotation_never_extends_a_retirement() {
    let leaked = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let next = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let ring = Keyring::new(leaked.clone())
        .retire(leaked.kid(), NOW)
        .rotate(next, NOW + 7 * 86_400)
        .unwrap();
    let (_, retire_at) = ring
        .verifying_keys()
        .find(|(k, _)| k.kid() == leaked.kid())
        .unwrap();
    assert_eq!(retire_at, Some(NOW));
    let again = ring.retire(leaked.kid(), NOW + 100);
    assert_eq!(again.verifying_keys().next().unwrap().1, Some(NOW));
}

#[test]
fn public_jwks_never_holds_secrets_or_other_issuers() {
    let hmac = SigningKey::generate(Algorithm::HS256).unwrap();
    let ed = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let theirs = SigningKey::generate(Algorithm::ES256).unwrap();
    let ring = Keyring::new(hmac)
        .rotate(ed.clone(), NOW)
        .unwrap()
        .with_verifying_key(theirs.verifying_key().clone(), "https://partner")
        .unwrap();
    let jwks = ring.public_jwks();
    assert_eq!(jwks.keys.len(), 1);
    assert_eq!(jwks.keys[0].kid.as_deref(), Some(ed.kid()));
    let json = jwks.to_json();
    for private in ["\"d\"", "\"k\"", "\"p\"", "\"q\"", "oct"] {
        assert!(!json.contains(private), "{json}");
    }
}

#[test]
fn an_external_jwks_loads_what_it_can() {
    let p256 = SigningKey::generate(Algorithm::ES256).unwrap();
    let edwards = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let doc = serde_json::json!({"keys": [
        p256.verifying_key().to_public_jwk().unwrap(),
        {"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA", "kid": "p521"},
        {"kty": "dilithium", "kid": "pq"},
        {"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB", "alg": "RSA-OAEP", "kid": "enc"},
        {"kty": "OKP", "crv": "Ed25519", "x": "not base64!", "kid": "bad"},
        {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC1zZWNyZXQ", "alg": "HS256", "kid": "shared"},
        "not even an object",
        edwards.verifying_key().to_public_jwk().unwrap(),
    ]});
    let (ring, report) = Keyring::verify_only()
        .with_jwks(doc.to_string().as_bytes(), "https://partner")
        .unwrap();
    assert_eq!(report.loaded, [p256.kid(), edwards.kid()]);
    let skipped: Vec<&str> = report.skipped.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(skipped, ["p521", "pq", "enc", "bad", "shared", "#6"]);
    assert_eq!(ring.verifying_keys().count(), 2);
    // Other issuers' keys verify but are never republished.
    assert!(ring.public_jwks().keys.is_empty());
    assert_eq!(
        Keyring::verify_only()
            .with_jwks(b"[]", "https://partner")
            .unwrap_err(),
        KeyringError::NotJwks
    );
}

#[test]
fn a_shared_keyring_can_be_replaced_under_a_verifier() {
    use token_core::jwt::{AccessTokenRequest, Minter, SharedKeyring, Validation, Verifier};
    let old = Keyring::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
    let new = Keyring::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
    let shared = SharedKeyring::new(old.clone());
    let verifier = Verifier::new(Keyring::verify_only(), Validation::access_tokens("i", "a"))
        .with_shared_keyring(shared.clone());
    let clone = verifier.clone();
    let token = |ring: &Keyring| {
        Minter::new(ring.clone(), "i")
            .mint(&AccessTokenRequest::new("s", "a"))
            .unwrap()
    };
    assert!(verifier.verify(&token(&old)).is_ok());
    assert_eq!(
        verifier.verify(&token(&new)).unwrap_err().code(),
        "unknown_key"
    );
    shared.store(new.clone());
    assert!(
        clone.verify(&token(&new)).is_ok(),
        "clones see the new keys"
    );
    assert_eq!(
        verifier.verify(&token(&old)).unwrap_err().code(),
        "unknown_key"
    );
    assert_eq!(verifier.keyring().public_jwks(), new.public_jwks());
}
