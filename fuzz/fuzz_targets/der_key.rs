//! Raw DER to every key importer: SPKI and PKCS#1 public keys, PKCS#8, PKCS#1 and SEC 1
//! private keys. Never panics; whatever imports as a signing key signs what its
//! verifying key accepts; whatever imports as a public key re-imports from its own
//! SPKI and JWK.
#![no_main]

use libfuzzer_sys::fuzz_target;
use token_core::jose::{SigningKey, VerifyingKey};

fn public_round_trips(key: &VerifyingKey) {
    let _ = key.verify(b"m", b"not a signature");
    if let Some(public) = key.to_public_jwk() {
        let again = VerifyingKey::from_jwk(&public, None).expect("own public JWK re-imports");
        assert_eq!(again.algorithm(), key.algorithm());
    }
    if let Some(pem) = key.to_public_pem() {
        let again = VerifyingKey::from_pem(&pem, Some(key.algorithm()))
            .expect("own public PEM re-imports");
        assert_eq!(again.kid(), key.kid());
    }
}

fn signs(key: &SigningKey) {
    let sig = key.sign(b"m").expect("an imported key signs");
    assert!(key.verifying_key().verify(b"m", &sig));
    public_round_trips(key.verifying_key());
}

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = VerifyingKey::from_spki_der(data, None) {
        public_round_trips(&key);
    }
    if let Ok(key) = VerifyingKey::from_pkcs1_der(data, None) {
        public_round_trips(&key);
    }
    for key in [
        SigningKey::from_pkcs8(data, None),
        SigningKey::from_pkcs1_der(data, None),
        SigningKey::from_sec1_der(data, None),
    ]
    .into_iter()
    .flatten()
    {
        signs(&key);
    }
});
