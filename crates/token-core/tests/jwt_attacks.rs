//! Every attack and validation rule of the verifier, each pinned by a test that fails
//! if the defence is removed.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use token_core::ManualClock;
use token_core::backend::{MemoryRevocationStore, RevocationStore};
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::{JwtErrorKind, Keyring, Validation, ValidationError, Verifier};

const NOW: i64 = 1_800_000_000;

/// Signs arbitrary header and payload JSON with `key`, as an attacker with a key (or
/// a careless issuer) could.
fn forge(key: &SigningKey, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", B64.encode(header), B64.encode(payload));
    let sig = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", B64.encode(sig))
}

fn claims(extra: &str) -> String {
    format!(
        r#"{{"iss":"https://as","aud":"api","exp":{},"iat":{NOW}{extra}}}"#,
        NOW + 300
    )
}

fn header(key: &SigningKey) -> String {
    format!(r#"{{"alg":"{}","kid":"{}"}}"#, key.algorithm(), key.kid())
}

fn verifier(keyring: Keyring) -> Verifier {
    let v = Validation::builder()
        .issuer("https://as")
        .audience("api")
        .build()
        .unwrap();
    Verifier::new(keyring, v).with_clock(Arc::new(ManualClock::new(NOW)))
}

fn kind(v: &Verifier, token: &str) -> Option<JwtErrorKind> {
    v.verify(token).err().map(|e| e.kind().clone())
}

#[test]
fn a_well_formed_token_verifies_for_every_generated_algorithm() {
    for alg in [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        let key = SigningKey::generate(alg).unwrap();
        let v = verifier(Keyring::new(key.clone()));
        assert_eq!(
            kind(&v, &forge(&key, &header(&key), &claims(""))),
            None,
            "{alg}"
        );
    }
}

#[test]
fn rsa_and_pss_keys_import_and_verify() {
    let pem = include_str!("data/rsa2048-pkcs8.pem");
    for alg in [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ] {
        let key = SigningKey::from_pem(pem, Some(alg)).unwrap();
        let v = verifier(Keyring::new(key.clone()));
        assert_eq!(
            kind(&v, &forge(&key, &header(&key), &claims(""))),
            None,
            "{alg}"
        );
    }
}

#[test]
fn alg_none_in_any_casing_is_refused() {
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let v = verifier(Keyring::new(key.clone()));
    for none in ["none", "None", "NONE", "nOnE"] {
        let h = format!(r#"{{"alg":"{none}","kid":"{}"}}"#, key.kid());
        let token = format!("{}.{}.", B64.encode(&h), B64.encode(claims("")));
        assert_eq!(
            kind(&v, &token),
            Some(JwtErrorKind::AlgorithmNone),
            "{none}"
        );
        // With a signature of some sort, too.
        let token = format!("{}.{}.AAAA", B64.encode(h), B64.encode(claims("")));
        assert_eq!(
            kind(&v, &token),
            Some(JwtErrorKind::AlgorithmNone),
            "{none}"
        );
    }
}

#[test]
fn hmac_keyed_with_a_public_key_is_refused() {
    // The classic confusion: sign HS256 with the RSA (or EC) public key as the secret.
    let rsa = SigningKey::from_pem(include_str!("data/rsa2048-pkcs8.pem"), None).unwrap();
    let ec = SigningKey::generate(Algorithm::ES256).unwrap();
    for key in [rsa, ec] {
        let v = verifier(Keyring::new(key.clone()));
        let public_pem = key.verifying_key().to_public_pem().unwrap();
        let attacker = SigningKey::hmac(Algorithm::HS256, public_pem.as_bytes()).unwrap();
        let with_kid = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, key.kid());
        assert_eq!(
            kind(&v, &forge(&attacker, &with_kid, &claims(""))),
            Some(JwtErrorKind::AlgorithmMismatch)
        );
        // Without kid, no HS256 key exists to select.
        assert_eq!(
            kind(&v, &forge(&attacker, r#"{"alg":"HS256"}"#, &claims(""))),
            Some(JwtErrorKind::UnknownKey)
        );
    }
}

#[test]
fn ecdsa_zero_signatures_are_refused() {
    // CVE-2022-21449 ("psychic signatures"): r = 0 or s = 0 must never verify.
    for alg in [Algorithm::ES256, Algorithm::ES384] {
        let key = SigningKey::generate(alg).unwrap();
        let v = verifier(Keyring::new(key.clone()));
        let size = if alg == Algorithm::ES256 { 32 } else { 48 };
        let input = format!("{}.{}", B64.encode(header(&key)), B64.encode(claims("")));
        let mut one = vec![0u8; size];
        one[size - 1] = 1;
        for (r, s) in [
            (vec![0u8; size], vec![0u8; size]),
            (vec![0u8; size], one.clone()),
            (one.clone(), vec![0u8; size]),
        ] {
            let sig = [r, s].concat();
            let token = format!("{input}.{}", B64.encode(sig));
            assert_eq!(kind(&v, &token), Some(JwtErrorKind::BadSignature), "{alg}");
        }
    }
}

#[test]
fn the_header_alg_must_equal_the_keys_alg() {
    let key = SigningKey::generate(Algorithm::HS512).unwrap();
    let v = verifier(Keyring::new(key.clone()));
    let weaker = SigningKey::hmac(Algorithm::HS256, &[7u8; 64]).unwrap();
    let h = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, key.kid());
    assert_eq!(
        kind(&v, &forge(&weaker, &h, &claims(""))),
        Some(JwtErrorKind::AlgorithmMismatch)
    );
    let h = format!(r#"{{"alg":"ES512","kid":"{}"}}"#, key.kid());
    assert_eq!(
        kind(&v, &forge(&weaker, &h, &claims(""))),
        Some(JwtErrorKind::AlgorithmMismatch)
    );
    let h = format!(r#"{{"alg":"ES256K","kid":"{}"}}"#, key.kid());
    assert_eq!(
        kind(&v, &forge(&weaker, &h, &claims(""))),
        Some(JwtErrorKind::UnsupportedAlgorithm)
    );
}

#[test]
fn kid_selects_and_no_kid_needs_exactly_one_key() {
    let a = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let b = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let one = verifier(Keyring::new(a.clone()));
    assert_eq!(
        kind(&one, &forge(&a, r#"{"alg":"EdDSA"}"#, &claims(""))),
        None
    );
    let unknown = format!(r#"{{"alg":"EdDSA","kid":"{}"}}"#, b.kid());
    assert_eq!(
        kind(&one, &forge(&b, &unknown, &claims(""))),
        Some(JwtErrorKind::UnknownKey)
    );
    let two = verifier(
        Keyring::new(a.clone())
            .with_verifying_key(b.verifying_key().clone(), "https://as")
            .unwrap(),
    );
    assert_eq!(
        kind(&two, &forge(&a, r#"{"alg":"EdDSA"}"#, &claims(""))),
        Some(JwtErrorKind::UnknownKey)
    );
    assert_eq!(kind(&two, &forge(&b, &header(&b), &claims(""))), None);
}

#[test]
fn header_hardening() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let v = verifier(Keyring::new(key.clone()));
    let kid = key.kid();
    for (h, expect) in [
        (
            format!(r#"{{"alg":"ES256","kid":"{kid}","crit":["exp"],"exp":1}}"#),
            "crit",
        ),
        (
            format!(r#"{{"alg":"ES256","kid":"{kid}","b64":false,"crit":["b64"]}}"#),
            "crit",
        ),
        (
            format!(r#"{{"alg":"ES256","kid":"{kid}","b64":false}}"#),
            "b64",
        ),
        (
            format!(r#"{{"alg":"ES256","kid":"{kid}","jwk":{{"kty":"EC"}}}}"#),
            "jwk",
        ),
        (
            format!(r#"{{"alg":"ES256","kid":"{kid}","jku":"https://evil.example/jwks"}}"#),
            "jku",
        ),
        (
            format!(r#"{{"alg":"ES256","kid":"{kid}","x5u":"https://evil.example/c"}}"#),
            "x5u",
        ),
        (
            format!(r#"{{"alg":"ES256","kid":"{kid}","x5c":["MIIB"]}}"#),
            "x5c",
        ),
    ] {
        let got = kind(&v, &forge(&key, &h, &claims("")));
        assert!(
            matches!(got, Some(JwtErrorKind::HeaderRejected(_))),
            "{expect}: {got:?}"
        );
    }
    let dup = format!(r#"{{"alg":"ES256","kid":"{kid}","alg":"none"}}"#);
    assert!(matches!(
        kind(&v, &forge(&key, &dup, &claims(""))),
        Some(JwtErrorKind::Malformed(_))
    ));
}

#[test]
fn base64url_must_be_strict_and_size_bounded() {
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let v = verifier(Keyring::new(key.clone()));
    let good = forge(&key, &header(&key), &claims(""));
    assert_eq!(kind(&v, &good), None);
    let parts: Vec<&str> = good.split('.').collect();
    let padded_sig = format!("{}.{}.{}=", parts[0], parts[1], parts[2]);
    assert!(matches!(
        kind(&v, &padded_sig),
        Some(JwtErrorKind::Malformed(_))
    ));
    // Standard-alphabet characters instead of URL-safe ones.
    let std_sig = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        parts[2].replace('-', "+").replace('_', "/")
    );
    if std_sig != good {
        assert!(matches!(
            kind(&v, &std_sig),
            Some(JwtErrorKind::Malformed(_))
        ));
    }
    assert!(matches!(kind(&v, "a.b"), Some(JwtErrorKind::Malformed(_))));
    assert!(matches!(
        kind(&v, "a.b.c.d"),
        Some(JwtErrorKind::Malformed(_))
    ));
    assert!(matches!(kind(&v, ""), Some(JwtErrorKind::Malformed(_))));
    // The size limit is checked before any decoding: 8 KiB of garbage is "too large".
    let huge = "x".repeat(8 * 1024 + 1);
    assert_eq!(kind(&v, &huge), Some(JwtErrorKind::TooLarge { max: 8192 }));
}

#[test]
fn claims_cannot_smuggle_duplicates_or_strings() {
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let v = verifier(Keyring::new(key.clone()));
    let h = header(&key);
    let cases = [
        // A second, later exp would extend the token's life if the last one won.
        (
            format!(
                r#"{{"iss":"https://as","aud":"api","exp":{},"exp":99999999999}}"#,
                NOW - 1
            ),
            JwtErrorKind::InvalidClaim("exp"),
        ),
        (
            format!(r#"{{"iss":"https://as","aud":"api","exp":"{}"}}"#, NOW + 99),
            JwtErrorKind::InvalidClaim("exp"),
        ),
        (
            r#"{"iss":"https://as","aud":"api"}"#.to_owned(),
            JwtErrorKind::MissingClaim("exp"),
        ),
        (
            format!(
                r#"{{"iss":"https://as","aud":"api","exp":{},"nbf":"0"}}"#,
                NOW + 99
            ),
            JwtErrorKind::InvalidClaim("nbf"),
        ),
        (
            format!(
                r#"{{"iss":"https://as","iss":"https://evil","aud":"api","exp":{}}}"#,
                NOW + 99
            ),
            JwtErrorKind::InvalidClaim("iss"),
        ),
        (
            format!(
                r#"{{"iss":"https://as","aud":"api","exp":{},"scope":"read:x","scope":"*"}}"#,
                NOW + 99
            ),
            JwtErrorKind::InvalidClaim("scope"),
        ),
    ];
    for (payload, expect) in cases {
        assert_eq!(
            kind(&v, &forge(&key, &h, &payload)),
            Some(expect),
            "{payload}"
        );
    }
    // Deep nesting never overflows the stack: ignored members are skipped without
    // recursion, and kept extras hit the parser's depth limit (128) as a typed error.
    let deep = format!(
        r#"{{"iss":"https://as","aud":"api","exp":{},"x":{}1{}}}"#,
        NOW + 99,
        "[".repeat(2500),
        "]".repeat(2500)
    );
    let deep = forge(&key, &h, &deep);
    assert!(deep.len() < 8192);
    assert_eq!(kind(&v, &deep), None);
    let kept = v
        .verify_as::<serde_json::Map<String, serde_json::Value>>(&deep)
        .unwrap_err();
    assert_eq!(kept.kind(), &JwtErrorKind::InvalidClaim("extra claims"));
}

fn at(now: i64, key: &SigningKey, leeway: i64) -> Verifier {
    let v = Validation::builder()
        .issuer("https://as")
        .audience("api")
        .leeway_secs(leeway)
        .build()
        .unwrap();
    Verifier::new(Keyring::new(key.clone()), v).with_clock(Arc::new(ManualClock::new(now)))
}

#[test]
fn time_claims_at_their_exact_boundaries() {
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let (exp, nbf, leeway) = (NOW + 100, NOW + 50, 30);
    let token = forge(
        &key,
        &header(&key),
        &format!(r#"{{"iss":"https://as","aud":"api","exp":{exp},"nbf":{nbf},"iat":{NOW}}}"#),
    );
    let check = |now: i64, leeway: i64| kind(&at(now, &key, leeway), &token);
    // exp: valid strictly before exp (+ leeway).
    assert_eq!(check(exp - 1, 0), None);
    assert_eq!(check(exp, 0), Some(JwtErrorKind::Expired));
    assert_eq!(check(exp + leeway - 1, leeway), None);
    assert_eq!(check(exp + leeway, leeway), Some(JwtErrorKind::Expired));
    // nbf: valid from nbf - leeway.
    assert_eq!(check(nbf - leeway, leeway), None);
    assert_eq!(
        check(nbf - leeway - 1, leeway),
        Some(JwtErrorKind::NotYetValid)
    );
    assert_eq!(check(nbf, 0), None);
    assert_eq!(check(nbf - 1, 0), Some(JwtErrorKind::NotYetValid));

    // iat in the future beyond leeway.
    let future = forge(
        &key,
        &header(&key),
        &format!(
            r#"{{"iss":"https://as","aud":"api","exp":{exp},"iat":{}}}"#,
            NOW + 31
        ),
    );
    assert_eq!(
        kind(&at(NOW, &key, 30), &future),
        Some(JwtErrorKind::IssuedInFuture)
    );
    assert_eq!(kind(&at(NOW + 1, &key, 30), &future), None);
}

#[test]
fn leeway_and_lifetime_are_bounded() {
    let b = || Validation::builder().issuer("i").audience("a");
    assert_eq!(
        b().leeway_secs(301).build().unwrap_err(),
        ValidationError::Leeway
    );
    assert!(b().leeway_secs(300).build().is_ok());
    assert_eq!(
        Validation::builder().audience("a").build().unwrap_err(),
        ValidationError::IssuerUnset
    );
    assert_eq!(
        Validation::builder().issuer("i").build().unwrap_err(),
        ValidationError::AudienceUnset
    );
    assert_eq!(
        b().tenant_claim("exp").build().unwrap_err(),
        ValidationError::TenantClaim
    );

    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let v = verifier(Keyring::new(key.clone()));
    let long = format!(
        r#"{{"iss":"https://as","aud":"api","exp":{},"iat":{NOW}}}"#,
        NOW + 24 * 3600 + 1
    );
    assert_eq!(
        kind(&v, &forge(&key, &header(&key), &long)),
        Some(JwtErrorKind::LifetimeTooLong)
    );
    // The default bound is a day: a token of exactly 24 hours passes.
    let day = format!(
        r#"{{"iss":"https://as","aud":"api","exp":{},"iat":{NOW}}}"#,
        NOW + 24 * 3600
    );
    assert_eq!(kind(&v, &forge(&key, &header(&key), &day)), None);
}

#[test]
fn issuer_audience_and_type() {
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let v = verifier(Keyring::new(key.clone()));
    let h = header(&key);
    let exp = NOW + 60;
    let with = |iss: &str, aud: &str| {
        forge(
            &key,
            &h,
            &format!(r#"{{"iss":{iss},"aud":{aud},"exp":{exp}}}"#),
        )
    };
    assert_eq!(kind(&v, &with(r#""https://as""#, r#"["x","api"]"#)), None);
    assert_eq!(
        kind(&v, &with(r#""https://as/""#, r#""api""#)),
        Some(JwtErrorKind::WrongIssuer)
    );
    assert_eq!(
        kind(&v, &with(r#""https://as""#, r#"["x","apis"]"#)),
        Some(JwtErrorKind::WrongAudience)
    );
    assert_eq!(
        kind(&v, &with(r#""https://as""#, "[]")),
        Some(JwtErrorKind::WrongAudience)
    );

    let typed = Verifier::new(
        Keyring::new(key.clone()),
        Validation::access_tokens("https://as", "api"),
    )
    .with_clock(Arc::new(ManualClock::new(NOW)));
    let body = format!(r#"{{"iss":"https://as","aud":"api","exp":{exp}}}"#);
    for (typ, ok) in [
        ("at+jwt", true),
        ("AT+JWT", true),
        ("application/at+jwt", true),
        ("JWT", false),
    ] {
        let h = format!(r#"{{"alg":"HS256","kid":"{}","typ":"{typ}"}}"#, key.kid());
        assert_eq!(kind(&typed, &forge(&key, &h, &body)).is_none(), ok, "{typ}");
    }
    assert_eq!(
        kind(&typed, &forge(&key, &h, &body)),
        Some(JwtErrorKind::WrongType)
    );
}

#[test]
fn revoked_jti_is_refused_and_jti_is_then_required() {
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let store = Arc::new(MemoryRevocationStore::new());
    let v = verifier(Keyring::new(key.clone())).with_revocation(store.clone());
    let token = forge(&key, &header(&key), &claims(r#","jti":"t-1""#));
    assert_eq!(kind(&v, &token), None);
    store.revoke("https://as", "t-1", NOW + 300);
    assert_eq!(kind(&v, &token), Some(JwtErrorKind::Revoked));
    assert_eq!(
        kind(&v, &forge(&key, &header(&key), &claims(""))),
        Some(JwtErrorKind::MissingClaim("jti"))
    );
}

#[test]
fn a_revoked_token_stays_revoked_through_the_leeway() {
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let store = Arc::new(MemoryRevocationStore::new());
    let exp = NOW + 300;
    let token = forge(&key, &header(&key), &claims(r#","jti":"t-2""#));
    store.revoke("https://as", "t-2", exp);
    // Past exp but within the 30 s leeway the token would still be accepted: so must
    // its revocation hold.
    let late = Verifier::new(
        Keyring::new(key.clone()),
        Validation::builder()
            .issuer("https://as")
            .audience("api")
            .build()
            .unwrap(),
    )
    .with_clock(Arc::new(ManualClock::new(exp + 10)))
    .with_revocation(store);
    assert_eq!(kind(&late, &token), Some(JwtErrorKind::Revoked));
}

#[test]
fn allowed_algorithms_restrict_further() {
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let only_ed = Validation::builder()
        .issuer("https://as")
        .audience("api")
        .algorithms(&[Algorithm::EdDSA])
        .build()
        .unwrap();
    let v = Verifier::new(Keyring::new(key.clone()), only_ed)
        .with_clock(Arc::new(ManualClock::new(NOW)));
    assert_eq!(
        kind(&v, &forge(&key, &header(&key), &claims(""))),
        Some(JwtErrorKind::AlgorithmNotAllowed)
    );
}

#[test]
fn errors_never_echo_the_token() {
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let v = verifier(Keyring::new(key.clone()));
    let token = forge(
        &key,
        &header(&key),
        &format!(r#"{{"iss":"https://as","aud":"api","exp":"SECRET-{NOW}"}}"#),
    );
    let err = v.verify(&token).unwrap_err();
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(!shown.contains(&token[..20]), "{shown}");
    }
}
