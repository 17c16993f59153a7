//! Verification of arbitrary bytes against a fixed keyring. Input that contains a
//! newline is read as `HEADER-JSON\nPAYLOAD-JSON` and signed with the keyring's HS256
//! key first, so the fuzzer also reaches header and claims checks past the signature.
//! Never panics; whatever verifies satisfies the configured checks.
#![no_main]

use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use libfuzzer_sys::fuzz_target;
use token_core::ManualClock;
use token_core::jose::{Algorithm, Jwk, SigningKey};
use token_core::jwt::{Keyring, Validation, Verifier};

const NOW: i64 = 1_800_000_000;
const ED25519: &str = r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

struct Fixture {
    hmac: SigningKey,
    verifier: Verifier,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let hmac = SigningKey::hmac(Algorithm::HS256, &[7u8; 32]).unwrap().with_kid("h");
        let ed = SigningKey::from_jwk(&Jwk::from_json(ED25519.as_bytes()).unwrap(), None).unwrap();
        let keyring = Keyring::new(hmac.clone()).with_verifying_key(ed.verifying_key().clone(), "https://as").unwrap();
        let validation = Validation::builder().issuer("https://as").audience("api").build().unwrap();
        let verifier = Verifier::new(keyring, validation).with_clock(Arc::new(ManualClock::new(NOW)));
        Fixture { hmac, verifier }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let token = match data.iter().position(|b| *b == b'\n') {
        Some(i) => {
            let input = format!("{}.{}", B64.encode(&data[..i]), B64.encode(&data[i + 1..]));
            let sig = f.hmac.sign(input.as_bytes()).unwrap();
            format!("{input}.{}", B64.encode(sig))
        }
        None => match std::str::from_utf8(data) {
            Ok(t) => t.to_owned(),
            Err(_) => return,
        },
    };
    if let Ok(v) = f.verifier.verify(&token) {
        assert!(NOW < v.claims.exp + 30);
        assert_eq!(v.claims.iss.as_deref(), Some("https://as"));
        assert!(v.claims.aud.iter().any(|a| a == "api"));
    }
});
