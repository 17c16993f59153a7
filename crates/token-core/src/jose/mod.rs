//! JOSE building blocks: algorithms, keys parsed once into ring's types, JWK and JWKS,
//! PEM import and export, and (feature `jsonwebtoken`) the ring crypto provider for
//! `jsonwebtoken`.

mod alg;
pub(crate) mod b64;
mod der;
mod es512;
mod jwk;
mod key;
mod pem;
#[cfg(feature = "jsonwebtoken")]
mod provider;

pub(crate) use alg::KeyFamily;
pub use alg::{Algorithm, UnknownAlgorithm};
pub use jwk::{Jwk, JwkSet, SecretMember};
pub(crate) use key::KeyIdentity;
pub use key::{SigningKey, VerifyingKey};
#[cfg(feature = "jsonwebtoken")]
pub use provider::install_ring_provider;

use der::{Curve, PublicKeyDer};

/// Why a key could not be generated, imported or used. Never includes key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key's type does not fit the algorithm (or the JWK's `alg` disagrees).
    #[error("the key does not fit the algorithm")]
    AlgorithmMismatch,
    /// The JWK has no usable `alg` and none was given (RSA and `oct` keys need one).
    #[error("the key does not say its algorithm; give one")]
    NoAlgorithm,
    /// The algorithm is not supported.
    #[error("unsupported algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// The JWK `kty` or `crv` is not supported.
    #[error("unsupported key type or curve {0:?}")]
    UnsupportedKeyType(String),
    /// A required JWK member is missing.
    #[error("the JWK has no {0:?} member")]
    MissingMember(&'static str),
    /// A member or encoding is malformed.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// An HMAC secret shorter than the hash (RFC 7518 §3.2).
    #[error("HMAC secret too short: at least {min_bits} bits are required")]
    WeakSecret {
        /// The minimum.
        min_bits: usize,
    },
    /// An RSA modulus under 2048 bits.
    #[error("RSA keys must be at least 2048 bits")]
    WeakRsa,
    /// The crypto library rejected the key (inconsistent or invalid components).
    #[error("the key is invalid")]
    Rejected,
    /// RSA key generation was asked for.
    #[error("RSA keys are imported, not generated; use Ed25519 or ECDSA for new keys")]
    RsaGeneration,
    /// The PEM label is not a supported key type.
    #[error("unsupported PEM block {0:?}")]
    UnsupportedPem(String),
    /// HMAC secrets are exported as JWK only.
    #[error("HMAC secrets have no PEM form; export the JWK")]
    NoPemForSecret,
    /// The JWK says it is not for signatures (`use` or `key_ops`).
    #[error("the key is not for signatures")]
    NotForSignatures,
    /// The system random generator failed.
    #[error("the system random generator failed")]
    Rng,
    /// No algorithm the key fits is among the allowed ones.
    #[error("the key fits none of the allowed algorithms")]
    NotAllowed,
    /// An Ed25519 public key of small order (or a non-canonical encoding): any
    /// signature could be forged for it.
    #[error("the Ed25519 public key is a small-order point")]
    SmallOrder,
}

/// What a JWK is being imported for: its `key_ops`, when present, must name it.
#[derive(Clone, Copy)]
enum KeyUse {
    /// A verifying key: `key_ops` must hold `verify`.
    Verify,
    /// A signing key: `key_ops` must hold `sign`.
    Sign,
}

/// The algorithm for a JWK: the one given, else the JWK's own `alg`, else the
/// natural one for its curve. A given algorithm must agree with the JWK's `alg`.
/// A JWK whose `use` is not `sig`, or whose `key_ops` lacks the operation, is refused.
fn jwk_alg(jwk: &Jwk, given: Option<Algorithm>, purpose: KeyUse) -> Result<Algorithm, KeyError> {
    let op = match purpose {
        KeyUse::Verify => "verify",
        KeyUse::Sign => "sign",
    };
    if jwk.use_.as_deref().is_some_and(|u| u != "sig")
        || jwk
            .key_ops
            .as_ref()
            .is_some_and(|ops| !ops.iter().any(|o| o == op))
    {
        return Err(KeyError::NotForSignatures);
    }
    let own = match jwk.alg.as_deref() {
        // `ES521` is an old misspelling of ES512 (early WebCrypto drafts, PyJWT before
        // 1.7.1; Wycheproof's RFC 7520 keys still carry it): a P-521 key fits ES512 only,
        // so reading it as ES512 widens nothing. Token headers must say `ES512`.
        Some("ES521") if jwk.crv.as_deref() == Some("P-521") => Some(Algorithm::ES512),
        Some(name) => Some(
            Algorithm::from_name(name)
                .ok_or_else(|| KeyError::UnsupportedAlgorithm(name.into()))?,
        ),
        None => None,
    };
    let natural = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("EC", Some("P-256")) => Some(Algorithm::ES256),
        ("EC", Some("P-384")) => Some(Algorithm::ES384),
        ("EC", Some("P-521")) => Some(Algorithm::ES512),
        ("OKP", Some("Ed25519")) => Some(Algorithm::EdDSA),
        ("EC" | "OKP", crv) => return Err(KeyError::UnsupportedKeyType(crv.unwrap_or("").into())),
        ("RSA" | "oct", _) => None,
        (kty, _) => return Err(KeyError::UnsupportedKeyType(kty.into())),
    };
    match (given, own) {
        (Some(g), Some(o)) if g != o => Err(KeyError::AlgorithmMismatch),
        (Some(a), _) | (None, Some(a)) => Ok(a),
        (None, None) => natural.ok_or(KeyError::NoAlgorithm),
    }
}

fn ec_point_from_jwk(jwk: &Jwk, alg: Algorithm) -> Result<PublicKeyDer, KeyError> {
    let curve = match (jwk.crv.as_deref(), alg) {
        (Some("P-256"), Algorithm::ES256) => Curve::P256,
        (Some("P-384"), Algorithm::ES384) => Curve::P384,
        (Some("P-521"), Algorithm::ES512) => Curve::P521,
        _ => return Err(KeyError::AlgorithmMismatch),
    };
    let size = curve.scalar_len();
    let coord = |v: &Option<String>, name: &'static str| {
        let bytes = v
            .as_deref()
            .ok_or(KeyError::MissingMember(name))
            .and_then(|t| b64::decode(t).ok_or(KeyError::Malformed(name)))?;
        if bytes.len() == size {
            Ok(bytes)
        } else {
            Err(KeyError::Malformed(name))
        }
    };
    let mut point = Vec::with_capacity(1 + 2 * size);
    point.push(4);
    point.extend(coord(&jwk.x, "x")?);
    point.extend(coord(&jwk.y, "y")?);
    Ok(PublicKeyDer::Ec { curve, point })
}

fn okp_from_jwk(jwk: &Jwk) -> Result<[u8; 32], KeyError> {
    if jwk.crv.as_deref() != Some("Ed25519") {
        return Err(KeyError::UnsupportedKeyType(
            jwk.crv.clone().unwrap_or_default(),
        ));
    }
    let x = jwk.x.as_deref().ok_or(KeyError::MissingMember("x"))?;
    b64::decode(x)
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or(KeyError::Malformed("x"))
}
