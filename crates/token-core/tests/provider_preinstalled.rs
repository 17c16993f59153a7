//! A process that chose its own `jsonwebtoken` provider keeps it: building a `Keyring`
//! never replaces it, with or without the `jsonwebtoken` feature, and
//! `install_ring_provider` then says ring is not the provider.
//!
//! This is its own test binary: the first install in a process wins
//! (`provider_install.rs` has the other order).

use jsonwebtoken::crypto::{CryptoProvider, JwkUtils};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{EncodingKey, Header};
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::Keyring;

/// The process's own provider: it refuses every key, so whether it answers is visible.
static OWN: CryptoProvider = CryptoProvider {
    signer_factory: |_, _| Err(ErrorKind::InvalidKeyFormat.into()),
    verifier_factory: |_, _| Err(ErrorKind::InvalidKeyFormat.into()),
    jwk_utils: JwkUtils::new_unimplemented(),
};

#[test]
fn a_provider_the_process_installed_first_stays() {
    OWN.install_default().unwrap();
    let _keyring = Keyring::new(SigningKey::generate(Algorithm::HS256).unwrap());
    #[cfg(feature = "jsonwebtoken")]
    assert!(!token_core::jose::install_ring_provider());
    let signed = jsonwebtoken::encode(
        &Header::default(),
        &serde_json::json!({"sub": "u"}),
        &EncodingKey::from_secret(&[7; 32]),
    );
    assert_eq!(
        signed.unwrap_err().kind(),
        &ErrorKind::InvalidKeyFormat,
        "jsonwebtoken still signs through the process's own provider"
    );
}
