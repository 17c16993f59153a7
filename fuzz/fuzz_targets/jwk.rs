//! JWK, JWKS and PEM parsing: never panics; whatever imports as a key can sign or
//! verify without panicking, and its public JWK re-imports.
#![no_main]

use libfuzzer_sys::fuzz_target;
use token_core::jose::{Jwk, SigningKey, VerifyingKey};
use token_core::jwt::Keyring;

fuzz_target!(|data: &[u8]| {
    let _ = Keyring::verify_only().with_jwks(data, "https://as");
    if let Ok(jwk) = Jwk::from_json(data) {
        let _ = jwk.thumbprint();
        if let Ok(key) = SigningKey::from_jwk(&jwk, None) {
            let sig = key.sign(b"m").unwrap();
            assert!(key.verifying_key().verify(b"m", &sig));
        }
        if let Ok(key) = VerifyingKey::from_jwk(&jwk, None) {
            let _ = key.verify(b"m", b"sig");
            if let Some(public) = key.to_public_jwk() {
                assert!(VerifyingKey::from_jwk(&public, None).is_ok());
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = SigningKey::from_pem(text, None);
        let _ = VerifyingKey::from_pem(text, None);
    }
});
