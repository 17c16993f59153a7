//! `jsonwebtoken` runs on ring once a keyring exists: no "could not determine the
//! process-level `CryptoProvider`" panic, and tokens cross between the two both ways.
//!
//! This is its own test binary so that nothing else in the process installs the
//! provider first: building a `Keyring` must be enough.

use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation as JwtValidation};
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::{AccessTokenRequest, Keyring, Minter, Validation, Verifier};

fn their_alg(alg: Algorithm) -> jsonwebtoken::Algorithm {
    alg.name().parse().unwrap()
}

fn keys(alg: Algorithm) -> SigningKey {
    match alg {
        Algorithm::RS256 => {
            SigningKey::from_pem(include_str!("data/rsa2048-pkcs8.pem"), None).unwrap()
        }
        _ => SigningKey::generate(alg).unwrap(),
    }
}

fn their_keys(key: &SigningKey) -> (EncodingKey, DecodingKey) {
    if key.verifying_key().is_secret() {
        let jwk = key.to_private_jwk();
        let secret = base64_decode(jwk.k.as_ref().unwrap().expose());
        return (
            EncodingKey::from_secret(&secret),
            DecodingKey::from_secret(&secret),
        );
    }
    let pem = key.to_pkcs8_pem().unwrap();
    let encoding = match key.algorithm() {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
        _ => EncodingKey::from_ed_pem(pem.as_bytes()),
    }
    .unwrap();
    let public: jsonwebtoken::jwk::Jwk =
        serde_json::from_str(&key.verifying_key().to_public_jwk().unwrap().to_json()).unwrap();
    (encoding, DecodingKey::from_jwk(&public).unwrap())
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

#[test]
fn tokens_cross_between_tokenkit_and_jsonwebtoken_both_ways() {
    for alg in [
        Algorithm::HS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
        Algorithm::RS256,
    ] {
        let key = keys(alg);
        // Building the keyring is what installs the provider; nothing else does here.
        let keyring = Keyring::new(key.clone());
        let (encoding, decoding) = their_keys(&key);

        // Ours → jsonwebtoken.
        let token = Minter::new(keyring.clone(), "https://as")
            .mint(&AccessTokenRequest::new("u", "api").scope("read:x".parse().unwrap()))
            .unwrap();
        let mut theirs = JwtValidation::new(their_alg(alg));
        theirs.set_audience(&["api"]);
        theirs.set_issuer(&["https://as"]);
        let decoded =
            jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &theirs).unwrap();
        assert_eq!(decoded.claims["scope"], "read:x", "{alg}");

        // jsonwebtoken → ours.
        let mut header = Header::new(their_alg(alg));
        header.kid = Some(key.kid().to_owned());
        let now = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap();
        let claims = serde_json::json!({"iss": "https://as", "aud": "api", "sub": "u", "exp": now + 60, "iat": now});
        let token = jsonwebtoken::encode(&header, &claims, &encoding).unwrap();
        let verifier = Verifier::new(
            keyring,
            Validation::builder()
                .issuer("https://as")
                .audience("api")
                .build()
                .unwrap(),
        );
        assert_eq!(
            verifier.verify(&token).unwrap().claims.sub.as_deref(),
            Some("u"),
            "{alg}"
        );
    }
    assert!(token_core::jose::install_ring_provider());
}
