//! What building a `Keyring` does process-wide: with the `jsonwebtoken` feature it
//! installs ring as `jsonwebtoken`'s provider; without it, nothing, so a process that
//! installs its own provider afterwards still can. `cargo test -p token-core` runs the
//! second case, `--features jsonwebtoken` the first (as does `cargo test --workspace`,
//! where `examples/loadtest` turns the feature on).
//!
//! This is its own test binary: the first install in a process wins, so nothing else
//! may run before it (`provider_preinstalled.rs` has the other order).

use jsonwebtoken::crypto::{CryptoProvider, JwkUtils};
use jsonwebtoken::errors::ErrorKind;
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::Keyring;

/// A provider of this test's own: installing it succeeds only if none was installed.
static PROBE: CryptoProvider = CryptoProvider {
    signer_factory: |_, _| Err(ErrorKind::InvalidKeyFormat.into()),
    verifier_factory: |_, _| Err(ErrorKind::InvalidKeyFormat.into()),
    jwk_utils: JwkUtils::new_unimplemented(),
};

#[test]
fn building_a_keyring_installs_a_provider_only_with_the_feature() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let _own = Keyring::new(key);
    let _verify_only = Keyring::verify_only();
    let probe = PROBE.install_default();
    #[cfg(feature = "jsonwebtoken")]
    {
        assert!(probe.is_err(), "the keyring installed a provider");
        assert!(
            token_core::jose::install_ring_provider(),
            "and it is ring's"
        );
    }
    #[cfg(not(feature = "jsonwebtoken"))]
    assert!(
        probe.is_ok(),
        "without the feature a keyring installs nothing: the process's own choice stands"
    );
}
