//! Credential recognition and API-key parsing: never panics; whatever the format
//! accepts has the published shape; recognition agrees with the format check.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use token_core::apikey::{self, ApiKeys, KeyFormat};
use token_core::backend::MemoryKeyStore;
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::{Keyring, Validation, Verifier};
use token_core::{Authenticator, CredentialKind};

fn authenticator() -> &'static Authenticator {
    static A: OnceLock<Authenticator> = OnceLock::new();
    A.get_or_init(|| {
        let keys = ApiKeys::new(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap().accept("tk_old").unwrap());
        let keyring = Keyring::new(SigningKey::hmac(Algorithm::HS256, &[3u8; 32]).unwrap());
        let verifier = Verifier::new(keyring, Validation::builder().issuer("i").audience("a").build().unwrap());
        Authenticator::new().api_keys(keys).jwt(verifier)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(parsed) = apikey::format::check(text) {
        let body = &text[parsed.prefix().len() + 1..];
        assert_eq!(body.len(), apikey::format::RANDOM_CHARS + apikey::format::CHECKSUM_CHARS);
        assert!(body.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(parsed.display_hint().starts_with(parsed.prefix()));
    }
    match authenticator().recognize(text) {
        Ok(CredentialKind::ApiKey) => assert!(text.starts_with("tk_live_") || text.starts_with("tk_old_")),
        Ok(CredentialKind::Jwt) => assert_eq!(text.split('.').count(), 3),
        Ok(_) | Err(_) => {}
    }
    // JWT-shaped input goes all the way through verification (no I/O, no await).
    if authenticator().recognize(text) == Ok(CredentialKind::Jwt) {
        let _ = authenticator().verifier().unwrap().verify(text);
    }
});
