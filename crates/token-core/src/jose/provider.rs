//! A `jsonwebtoken` [`CryptoProvider`] backed by ring (feature `jsonwebtoken`).
//!
//! tokenkit signs and verifies with ring directly (keys parsed once) and does not need
//! `jsonwebtoken`, but some services call it too. Built without its `rust_crypto` or
//! `aws_lc_rs` features, `jsonwebtoken` panics at the first call unless a provider was
//! installed. With this crate's `jsonwebtoken` feature, tokenkit installs this one
//! whenever a [`crate::jwt::Keyring`] is built (and [`install_ring_provider`] does it on
//! request), so such a process never hits that panic and uses one crypto library
//! throughout. Without the feature, nothing is installed and `jsonwebtoken` is not a
//! dependency.
//!
//! ES512 (P-521), which ring lacks, comes from the pure-Rust `p521` crate through
//! [`super::es512`]; `jsonwebtoken` has no ES512, so this provider never sees it.

use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::{Algorithm as JwtAlg, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::signature::{self as sig, KeyPair as _};
use ring::{digest, hmac, rsa};

use super::{es512, key};

/// The ring-backed provider for `jsonwebtoken`.
pub(crate) static RING_PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    jwk_utils: JwkUtils {
        extract_rsa_public_key_components,
        extract_ec_public_key_coordinates,
        compute_digest,
    },
};

/// Installs ring (a `jsonwebtoken::crypto::CryptoProvider` of this crate) as
/// `jsonwebtoken`'s process-wide provider, unless one is installed already. Returns whether ring is the provider through this function: true
/// once this function installed it, false for good when another provider came first
/// (also that provider installed directly with `install_default`, which this
/// function cannot tell apart: `jsonwebtoken` does not say which provider it holds).
pub fn install_ring_provider() -> bool {
    // `install_default` refuses with the provider it was given, not the installed one,
    // so the outcome of the first attempt is remembered: the provider never changes.
    static OURS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OURS.get_or_init(|| RING_PROVIDER.install_default().is_ok())
}

fn our_alg(alg: JwtAlg) -> super::Algorithm {
    super::Algorithm::from_name(match alg {
        JwtAlg::HS256 => "HS256",
        JwtAlg::HS384 => "HS384",
        JwtAlg::HS512 => "HS512",
        JwtAlg::RS256 => "RS256",
        JwtAlg::RS384 => "RS384",
        JwtAlg::RS512 => "RS512",
        JwtAlg::PS256 => "PS256",
        JwtAlg::PS384 => "PS384",
        JwtAlg::PS512 => "PS512",
        JwtAlg::ES256 => "ES256",
        JwtAlg::ES384 => "ES384",
        JwtAlg::EdDSA => "EdDSA",
    })
    .unwrap_or(super::Algorithm::HS256)
}

struct RingSigner {
    alg: JwtAlg,
    key: super::SigningKey,
}

impl signature::Signer<Vec<u8>> for RingSigner {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        self.key.sign(msg).map_err(signature::Error::from_source)
    }
}

impl JwtSigner for RingSigner {
    fn algorithm(&self) -> JwtAlg {
        self.alg
    }
}

// The signature is fixed by `CryptoProvider::signer_factory`.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn new_signer(alg: &JwtAlg, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    let ours = our_alg(*alg);
    let parsed = match ours.family() {
        super::KeyFamily::Hmac => Ok(super::SigningKey::hmac_unchecked(
            ours,
            key.try_get_hmac_secret()?,
        )),
        // jsonwebtoken keeps RSA keys as PKCS#1 DER, EC and Ed25519 keys as PKCS#8.
        super::KeyFamily::Rsa => super::SigningKey::from_pkcs1_der(key.inner(), Some(ours)),
        _ => super::SigningKey::from_pkcs8(key.inner(), Some(ours)),
    }
    .map_err(|_| Error::from(ErrorKind::InvalidKeyFormat))?;
    Ok(Box::new(RingSigner {
        alg: *alg,
        key: parsed,
    }))
}

struct RingVerifier {
    alg: JwtAlg,
    key: DecodingKey,
}

impl signature::Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        let ok = verify_raw(our_alg(self.alg), &self.key, msg, signature);
        if ok {
            Ok(())
        } else {
            Err(signature::Error::new())
        }
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> JwtAlg {
        self.alg
    }
}

// The signature is fixed by `CryptoProvider::verifier_factory`.
#[allow(clippy::trivially_copy_pass_by_ref, clippy::unnecessary_wraps)]
fn new_verifier(alg: &JwtAlg, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    Ok(Box::new(RingVerifier {
        alg: *alg,
        key: key.clone(),
    }))
}

fn extract_rsa_public_key_components(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let pair = rsa::KeyPair::from_der(der).map_err(|_| Error::from(ErrorKind::InvalidKeyFormat))?;
    let public = pair.public();
    let components: rsa::PublicKeyComponents<Vec<u8>> = public.into();
    Ok((components.n, components.e))
}

fn extract_ec_public_key_coordinates(
    der: &[u8],
    alg: JwtAlg,
) -> Result<(EllipticCurve, Vec<u8>, Vec<u8>), Error> {
    let (signing, curve, size) = match alg {
        JwtAlg::ES256 => (
            &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            EllipticCurve::P256,
            32,
        ),
        JwtAlg::ES384 => (
            &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
            EllipticCurve::P384,
            48,
        ),
        _ => return Err(ErrorKind::InvalidEcdsaKey.into()),
    };
    let rng = ring::rand::SystemRandom::new();
    let pair = sig::EcdsaKeyPair::from_pkcs8(signing, der, &rng)
        .map_err(|_| Error::from(ErrorKind::InvalidEcdsaKey))?;
    let point = pair.public_key().as_ref();
    match point.split_first() {
        Some((4, coords)) if coords.len() == 2 * size => {
            let (x, y) = coords.split_at(size);
            Ok((curve, x.to_vec(), y.to_vec()))
        }
        _ => Err(ErrorKind::InvalidEcdsaKey.into()),
    }
}

// The signature is fixed by `JwkUtils::compute_digest`.
#[allow(clippy::needless_pass_by_value)]
fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Vec<u8> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &digest::SHA256,
        ThumbprintHash::SHA384 => &digest::SHA384,
        ThumbprintHash::SHA512 => &digest::SHA512,
    };
    digest::digest(algorithm, data).as_ref().to_vec()
}

/// Verifies with ring on `jsonwebtoken`'s key representation.
fn verify_raw(alg: super::Algorithm, key: &DecodingKey, msg: &[u8], signature: &[u8]) -> bool {
    use super::KeyFamily;
    match alg.family() {
        KeyFamily::Hmac => key.try_get_hmac_secret().is_ok_and(|secret| {
            hmac::verify(&hmac::Key::new(key::hmac_alg(alg), secret), msg, signature).is_ok()
        }),
        KeyFamily::Rsa => match key.kind() {
            DecodingKeyKind::SecretOrDer(der) => {
                sig::UnparsedPublicKey::new(key::rsa_params(alg), der)
                    .verify(msg, signature)
                    .is_ok()
            }
            DecodingKeyKind::RsaModulusExponent { n, e } => rsa::PublicKeyComponents { n, e }
                .verify(key::rsa_params(alg), msg, signature)
                .is_ok(),
        },
        KeyFamily::Ec if alg == super::Algorithm::ES512 => {
            es512::verify(key.as_bytes(), msg, signature)
        }
        KeyFamily::Ec => {
            let algorithm = if alg == super::Algorithm::ES384 {
                &sig::ECDSA_P384_SHA384_FIXED
            } else {
                &sig::ECDSA_P256_SHA256_FIXED
            };
            sig::UnparsedPublicKey::new(algorithm, key.as_bytes())
                .verify(msg, signature)
                .is_ok()
        }
        // A raw Ed25519 key of small order verifies forgeries: refused here too.
        KeyFamily::Okp => {
            key::ed25519_public_ok(key.as_bytes())
                && sig::UnparsedPublicKey::new(&sig::ED25519, key.as_bytes())
                    .verify(msg, signature)
                    .is_ok()
        }
    }
}
