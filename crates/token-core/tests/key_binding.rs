//! Keys without `alg` are bound to the allowed algorithms they fit, and nothing else:
//! key-type confusion stays impossible. Also: what a JWK's `use`/`key_ops` and an
//! Ed25519 key of small order do to import, and ES512 end to end.

use std::sync::Arc;

use token_core::ManualClock;
use token_core::jose::{Algorithm, Jwk, KeyError, SigningKey, VerifyingKey};
use token_core::jwt::{AccessTokenRequest, JwtErrorKind, Keyring, Minter, Validation, Verifier};

const ISS: &str = "https://issuer.example";

fn rsa_key() -> SigningKey {
    SigningKey::from_pem(include_str!("data/rsa2048-pkcs8.pem"), None).unwrap()
}

/// The public JWK of `key` with no `alg` (as identity providers often publish).
fn without_alg(key: &SigningKey) -> Jwk {
    let mut jwk = key
        .verifying_key()
        .to_public_jwk()
        .unwrap_or_else(|| key.verifying_key().to_jwk_with_secret());
    jwk.alg = None;
    jwk
}

fn verifier(keys: Vec<VerifyingKey>, allowed: &[Algorithm]) -> Verifier {
    let mut ring = Keyring::verify_only();
    for key in keys {
        ring = ring.with_verifying_key(key, ISS).unwrap();
    }
    let validation = Validation::builder()
        .issuer(ISS)
        .audience("api")
        .algorithms(allowed)
        .build()
        .unwrap();
    Verifier::new(ring, validation).with_clock(Arc::new(ManualClock::new(1_800_000_000)))
}

fn token(key: &SigningKey) -> String {
    let minter = Minter::new(Keyring::new(key.clone()), ISS)
        .with_clock(Arc::new(ManualClock::new(1_800_000_000)));
    minter
        .mint(&AccessTokenRequest::new("user-1", "api").ttl_secs(60))
        .unwrap()
}

fn algs(keys: &[VerifyingKey]) -> Vec<Algorithm> {
    keys.iter().map(VerifyingKey::algorithm).collect()
}

#[test]
fn an_rsa_key_without_alg_binds_to_each_allowed_rsa_algorithm() {
    use Algorithm::{ES256, PS256, RS256, RS384};
    let key = rsa_key();
    let jwk = without_alg(&key);
    let allowed = [RS256, ES256];
    let bound = VerifyingKey::from_jwk_for(&jwk, &allowed).unwrap();
    assert_eq!(algs(&bound), [RS256]);
    // The issue's case: an RS256 token verifies with --alg RS256 --alg ES256.
    let v = verifier(bound, &allowed);
    assert!(v.verify(&token(&key)).is_ok());

    let bound = VerifyingKey::from_jwk_for(&jwk, &[RS256, PS256, RS384]).unwrap();
    assert_eq!(algs(&bound), [RS256, RS384, PS256]);
    let v = verifier(bound, &[RS256, PS256, RS384]);
    for alg in [RS256, PS256, RS384] {
        let signer =
            SigningKey::from_pem(include_str!("data/rsa2048-pkcs8.pem"), Some(alg)).unwrap();
        assert!(v.verify(&token(&signer)).is_ok(), "{alg}");
    }
    // An RSA algorithm that is not allowed gets no binding.
    let signer = SigningKey::from_pem(
        include_str!("data/rsa2048-pkcs8.pem"),
        Some(Algorithm::PS512),
    )
    .unwrap();
    assert_eq!(
        v.verify(&token(&signer)).unwrap_err().kind(),
        &JwtErrorKind::AlgorithmMismatch
    );
}

#[test]
fn two_oct_keys_without_alg_bind_by_length() {
    use Algorithm::{HS256, HS384, HS512};
    let short = SigningKey::hmac(HS256, &[1u8; 32]).unwrap();
    let long = SigningKey::hmac(HS384, &[2u8; 48]).unwrap();
    let allowed = [HS256, HS384];
    let a = VerifyingKey::from_jwk_for(&without_alg(&short), &allowed).unwrap();
    let b = VerifyingKey::from_jwk_for(&without_alg(&long), &allowed).unwrap();
    // A 256-bit secret is too short for HS384 (RFC 7518 §3.2).
    assert_eq!(algs(&a), [HS256]);
    assert_eq!(algs(&b), [HS256, HS384]);
    let v = verifier([a, b].concat(), &allowed);
    assert!(v.verify(&token(&short)).is_ok());
    assert!(v.verify(&token(&long)).is_ok());
    let long_as_256 = SigningKey::hmac(HS256, &[2u8; 48]).unwrap();
    assert!(v.verify(&token(&long_as_256)).is_ok());
    // The short secret never verifies HS384, even when a token names its kid.
    let header = format!(r#"{{"alg":"HS384","kid":"{}"}}"#, short.kid());
    let payload = format!(r#"{{"iss":"{ISS}","aud":"api","sub":"u","exp":1800000060}}"#);
    let signed = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let mac = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA384, &[1u8; 32]),
        signed.as_bytes(),
    );
    let forged = format!("{signed}.{}", b64(mac.as_ref()));
    assert_eq!(
        v.verify(&forged).unwrap_err().kind(),
        &JwtErrorKind::AlgorithmMismatch
    );
    assert_eq!(
        VerifyingKey::from_jwk_for(&without_alg(&short), &[HS384, HS512]).unwrap_err(),
        KeyError::WeakSecret { min_bits: 384 }
    );
}

#[test]
fn no_key_ever_binds_to_another_key_types_algorithm() {
    use Algorithm::{
        ES256, ES384, ES512, EdDSA, HS256, HS384, HS512, PS256, PS384, PS512, RS256, RS384, RS512,
    };
    let rsa = without_alg(&rsa_key());
    let oct = without_alg(&SigningKey::hmac(Algorithm::HS512, &[3u8; 64]).unwrap());
    let p256 = without_alg(&SigningKey::generate(Algorithm::ES256).unwrap());
    let p384 = without_alg(&SigningKey::generate(Algorithm::ES384).unwrap());
    let p521 = without_alg(&SigningKey::generate(Algorithm::ES512).unwrap());
    let ed = without_alg(&SigningKey::generate(Algorithm::EdDSA).unwrap());
    let fits = |jwk: &Jwk| algs(&VerifyingKey::from_jwk_for(jwk, &Algorithm::ALL).unwrap());
    assert_eq!(fits(&rsa), [RS256, RS384, RS512, PS256, PS384, PS512]);
    assert_eq!(fits(&oct), [HS256, HS384, HS512]);
    assert_eq!(fits(&p256), [ES256]);
    assert_eq!(fits(&p384), [ES384]);
    assert_eq!(fits(&p521), [ES512]);
    assert_eq!(fits(&ed), [EdDSA]);
    for (jwk, others) in [
        (&rsa, &[HS256, HS384, HS512, ES256, ES384, ES512, EdDSA][..]),
        (&oct, &[RS256, PS256, ES256, ES384, ES512, EdDSA][..]),
        (&p256, &[ES384, ES512, HS256, RS256, EdDSA][..]),
        (&p384, &[ES256, ES512, HS384][..]),
        (&p521, &[ES256, ES384, HS512][..]),
        (&ed, &[ES256, HS256, RS256][..]),
    ] {
        assert_eq!(
            VerifyingKey::from_jwk_for(jwk, others).unwrap_err(),
            KeyError::NotAllowed,
            "{}",
            jwk.kty
        );
    }
}

#[test]
fn an_hs_token_naming_an_rsa_key_is_refused() {
    // The classic confusion: the RSA public key's bytes as an HMAC secret.
    let key = rsa_key();
    let bound = VerifyingKey::from_jwk_for(&without_alg(&key), &Algorithm::ALL).unwrap();
    let v = verifier(bound, &Algorithm::ALL);
    let pem = key.verifying_key().to_public_pem().unwrap();
    let forger = SigningKey::hmac(Algorithm::HS256, pem.as_bytes())
        .unwrap()
        .with_kid(key.kid());
    assert_eq!(
        v.verify(&token(&forger)).unwrap_err().kind(),
        &JwtErrorKind::AlgorithmMismatch
    );
}

#[test]
fn use_and_key_ops_must_allow_verifying() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let mut jwk = key.verifying_key().to_public_jwk().unwrap();
    jwk.use_ = None;
    for ops in [vec!["sign"], vec!["encrypt"], vec![]] {
        jwk.key_ops = Some(ops.iter().map(|s| (*s).to_owned()).collect());
        assert_eq!(
            VerifyingKey::from_jwk(&jwk, None).unwrap_err(),
            KeyError::NotForSignatures,
            "{ops:?}"
        );
        assert!(VerifyingKey::from_jwk_for(&jwk, &Algorithm::ALL).is_err());
    }
    jwk.key_ops = Some(vec!["verify".into()]);
    assert!(VerifyingKey::from_jwk(&jwk, None).is_ok());
    jwk.key_ops = None;
    for use_ in ["enc", "SIG", ""] {
        jwk.use_ = Some(use_.into());
        assert_eq!(
            VerifyingKey::from_jwk(&jwk, None).unwrap_err(),
            KeyError::NotForSignatures
        );
    }
    // A private JWK must allow signing to sign.
    let mut private = key.to_private_jwk();
    private.key_ops = Some(vec!["verify".into()]);
    assert_eq!(
        SigningKey::from_jwk(&private, None).unwrap_err(),
        KeyError::NotForSignatures
    );
}

#[test]
fn es512_mints_verifies_and_round_trips() {
    let key = SigningKey::generate(Algorithm::ES512).unwrap();
    assert_eq!(key.algorithm(), Algorithm::ES512);
    let sig = key.sign(b"m").unwrap();
    assert_eq!(sig.len(), 132);
    assert!(key.verifying_key().verify(b"m", &sig));
    assert!(!key.verifying_key().verify(b"n", &sig));

    let public = key.verifying_key().to_public_jwk().unwrap();
    assert_eq!(public.crv.as_deref(), Some("P-521"));
    assert_eq!(public.alg.as_deref(), Some("ES512"));
    let again = VerifyingKey::from_jwk(&public, None).unwrap();
    assert_eq!(again.kid(), key.kid());
    assert!(again.verify(b"m", &sig));
    let pem = key.verifying_key().to_public_pem().unwrap();
    assert!(
        VerifyingKey::from_pem(&pem, None)
            .unwrap()
            .verify(b"m", &sig)
    );

    let private = SigningKey::from_jwk(&key.to_private_jwk(), None).unwrap();
    assert!(again.verify(b"x", &private.sign(b"x").unwrap()));
    let pkcs8 = key.to_pkcs8_pem().unwrap();
    let from_pem = SigningKey::from_pem(&pkcs8, None).unwrap();
    assert!(again.verify(b"y", &from_pem.sign(b"y").unwrap()));

    let v = verifier(vec![again], &[Algorithm::ES512]);
    assert!(v.verify(&token(&key)).is_ok());
    // A P-521 key is never read as another curve.
    assert_eq!(
        VerifyingKey::from_jwk(&public, Some(Algorithm::ES384)).unwrap_err(),
        KeyError::AlgorithmMismatch
    );
    // A point off the curve is refused at import.
    let mut off = public.clone();
    let mut y = off.y.clone().unwrap();
    y.replace_range(10..11, if &y[10..11] == "A" { "B" } else { "A" });
    off.y = Some(y);
    assert_eq!(
        VerifyingKey::from_jwk(&off, None).unwrap_err(),
        KeyError::Rejected
    );
}

/// The eight points of small order on edwards25519, as 32-byte encodings.
const SMALL_ORDER: [&str; 8] = [
    // The identity (order 1).
    "0100000000000000000000000000000000000000000000000000000000000000",
    // Order 2.
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    // Order 4.
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    // Order 8.
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
];

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SPKI DER for an Ed25519 public key.
fn ed25519_spki(key: &[u8]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    der.extend_from_slice(key);
    der
}

#[test]
fn small_order_ed25519_keys_are_refused_at_every_import() {
    for (i, point) in SMALL_ORDER.iter().enumerate() {
        let key = hex(point);
        let json = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{}"}}"#, b64(&key));
        let jwk = Jwk::from_json(json.as_bytes()).unwrap();
        assert_eq!(
            VerifyingKey::from_jwk(&jwk, None).unwrap_err(),
            KeyError::SmallOrder,
            "JWK #{i}"
        );
        assert!(VerifyingKey::from_jwk_for(&jwk, &[Algorithm::EdDSA]).is_err());
        let der = ed25519_spki(&key);
        assert_eq!(
            VerifyingKey::from_spki_der(&der, None).unwrap_err(),
            KeyError::SmallOrder,
            "DER #{i}"
        );
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(&der)
            }
        );
        assert_eq!(
            VerifyingKey::from_pem(&pem, None).unwrap_err(),
            KeyError::SmallOrder,
            "PEM #{i}"
        );
        // Raw key bytes through jsonwebtoken's ring provider: a forged signature
        // (R = the identity, s = 0) never verifies.
        #[cfg(feature = "jsonwebtoken")]
        {
            token_core::jose::install_ring_provider();
            let decoding = jsonwebtoken::DecodingKey::from_ed_der(&key);
            let mut forged = hex(SMALL_ORDER[0]);
            forged.extend_from_slice(&[0u8; 32]);
            let header = b64(br#"{"alg":"EdDSA"}"#);
            let payload = b64(br#"{"sub":"x","exp":4000000000}"#);
            let token = format!("{header}.{payload}.{}", b64(&forged));
            let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
            validation.validate_aud = false;
            assert!(
                jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation).is_err(),
                "raw #{i}"
            );
        }
    }
    // A non-canonical encoding of a small-order point (y = p + 1, the identity).
    let mut y = hex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    assert_eq!(
        VerifyingKey::from_spki_der(&ed25519_spki(&y), None).unwrap_err(),
        KeyError::SmallOrder
    );
    // A real key still imports.
    let good = SigningKey::generate(Algorithm::EdDSA).unwrap();
    y = b64_decode(
        good.verifying_key()
            .to_public_jwk()
            .unwrap()
            .x
            .as_deref()
            .unwrap(),
    );
    assert!(VerifyingKey::from_spki_der(&ed25519_spki(&y), None).is_ok());
}

fn b64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

#[test]
fn a_pem_key_binds_to_every_allowed_algorithm_of_its_type() {
    let rsa = include_str!("data/rsa2048-pkcs8.pem");
    let keys =
        VerifyingKey::from_pem_for(rsa, &[Algorithm::RS256, Algorithm::PS256, Algorithm::ES256])
            .unwrap();
    let algs: Vec<Algorithm> = keys.iter().map(VerifyingKey::algorithm).collect();
    assert_eq!(algs, [Algorithm::RS256, Algorithm::PS256]);
    assert!(matches!(
        VerifyingKey::from_pem_for(rsa, &[Algorithm::ES256, Algorithm::EdDSA]),
        Err(KeyError::NotAllowed)
    ));
    assert_eq!(VerifyingKey::from_pem_for(rsa, &[]).unwrap().len(), 1);
}
