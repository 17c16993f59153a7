//! Key files through the crates `spki`, `pkcs8`, `sec1` and `pkcs1` (`RustCrypto`, pure
//! Rust): the structures `SubjectPublicKeyInfo`, PKCS#8, SEC 1 and PKCS#1, mapped to the
//! key types the rest of `jose` uses.
//!
//! The crates do the DER: strict lengths and tags, no indefinite or non-minimal forms,
//! no trailing data, no recursion on input, no panics. This module checks what they
//! leave to the caller: which algorithm and curve an identifier names (and with which
//! parameters), positive integers, point and scalar sizes, and a PKCS#8 algorithm that
//! agrees with the SEC 1 parameters inside it. No type of those crates leaves it.

use core::fmt;

use pkcs1::{RsaPrivateKey, RsaPublicKey};
use pkcs8::PrivateKeyInfo;
use sec1::EcPrivateKey;
use spki::der::asn1::{AnyRef, BitStringRef, OctetStringRef, UintRef};
use spki::der::{Decode, Encode, Tag, Tagged as _};
use spki::{AlgorithmIdentifierRef, ObjectIdentifier, SubjectPublicKeyInfoRef};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use DerError::{Incomplete, Malformed, Unsupported};

/// rsaEncryption (RFC 8017).
const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-ecPublicKey (RFC 5480).
const EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// prime256v1 / P-256.
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// secp384r1 / P-384.
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// secp521r1 / P-521.
const P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
/// id-Ed25519 (RFC 8410).
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Why DER could not be parsed or produced. Messages name the structure, never key bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DerError {
    /// The input is not well-formed DER for the named structure or field.
    #[error("malformed DER: {0}")]
    Malformed(&'static str),
    /// Well-formed, but the named algorithm or curve is not supported.
    #[error("unsupported {0}")]
    Unsupported(&'static str),
    /// The key lacks a component that the requested encoding needs.
    #[error("cannot encode key: {0} missing")]
    Incomplete(&'static str),
}

/// Supported NIST curves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    /// P-256 (prime256v1).
    P256,
    /// P-384 (secp384r1).
    P384,
    /// P-521 (secp521r1).
    P521,
}

impl Curve {
    /// Byte length of a scalar or coordinate; an uncompressed point is `1 + 2 * scalar_len`.
    pub(crate) fn scalar_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
            Self::P521 => 66,
        }
    }

    /// The named-curve OID.
    fn oid(self) -> &'static ObjectIdentifier {
        match self {
            Self::P256 => &P256,
            Self::P384 => &P384,
            Self::P521 => &P521,
        }
    }

    /// Looks a curve up by its OID.
    fn from_oid(oid: ObjectIdentifier) -> Result<Self, DerError> {
        [Self::P256, Self::P384, Self::P521]
            .into_iter()
            .find(|curve| *curve.oid() == oid)
            .ok_or(Unsupported("elliptic curve"))
    }
}

/// A parsed public key. Integers are big-endian unsigned without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicKeyDer {
    /// RSA public key.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// EC public key.
    Ec {
        /// Curve.
        curve: Curve,
        /// Uncompressed point `0x04 || x || y`.
        point: Vec<u8>,
    },
    /// Ed25519 public key.
    Ed25519 {
        /// The 32-byte public key.
        key: [u8; 32],
    },
}

/// RSA private key (two primes), big-endian unsigned without leading zeros.
///
/// `Debug` prints only the modulus size; private components are zeroized on drop.
#[derive(Clone)]
#[cfg_attr(test, derive(PartialEq, Eq))]
pub(crate) struct RsaPrivate {
    /// Modulus.
    pub(crate) n: Vec<u8>,
    /// Public exponent.
    pub(crate) e: Vec<u8>,
    /// Private exponent.
    pub(crate) d: Vec<u8>,
    /// First prime.
    pub(crate) p: Vec<u8>,
    /// Second prime.
    pub(crate) q: Vec<u8>,
    /// `d mod (p - 1)`.
    pub(crate) dp: Vec<u8>,
    /// `d mod (q - 1)`.
    pub(crate) dq: Vec<u8>,
    /// `q^-1 mod p`.
    pub(crate) qi: Vec<u8>,
}

impl fmt::Debug for RsaPrivate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = self
            .n
            .first()
            .map_or(0, |b| self.n.len() * 8 - b.leading_zeros() as usize);
        f.debug_struct("RsaPrivate")
            .field("modulus_bits", &bits)
            .finish_non_exhaustive()
    }
}

impl Drop for RsaPrivate {
    fn drop(&mut self) {
        let Self {
            d,
            p,
            q,
            dp,
            dq,
            qi,
            ..
        } = self;
        for secret in [d, p, q, dp, dq, qi] {
            secret.zeroize();
        }
    }
}

impl ZeroizeOnDrop for RsaPrivate {}

/// A parsed private key. `Debug` redacts secrets; they are zeroized on drop.
#[derive(Clone)]
#[cfg_attr(test, derive(PartialEq, Eq))]
pub(crate) enum PrivateKeyDer {
    /// RSA key with all CRT components.
    Rsa(RsaPrivate),
    /// EC key.
    Ec {
        /// Curve.
        curve: Curve,
        /// Private scalar, left-padded to exactly [`Curve::scalar_len`] bytes.
        d: Vec<u8>,
        /// Uncompressed public point, if the encoding carried it.
        point: Option<Vec<u8>>,
    },
    /// Ed25519 key.
    Ed25519 {
        /// RFC 8032 private key seed.
        seed: [u8; 32],
        /// Public key, if the encoding carried it (PKCS#8 v2).
        public: Option<[u8; 32]>,
    },
}

impl fmt::Debug for PrivateKeyDer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa(key) => f.debug_tuple("Rsa").field(key).finish(),
            Self::Ec { curve, point, .. } => {
                let mut s = f.debug_struct("Ec");
                s.field("curve", curve)
                    .field("has_point", &point.is_some())
                    .finish_non_exhaustive()
            }
            Self::Ed25519 { public, .. } => {
                let mut s = f.debug_struct("Ed25519");
                s.field("has_public", &public.is_some())
                    .finish_non_exhaustive()
            }
        }
    }
}

impl Drop for PrivateKeyDer {
    fn drop(&mut self) {
        match self {
            Self::Rsa(_) => {} // zeroizes itself
            Self::Ec { d, .. } => d.zeroize(),
            Self::Ed25519 { seed, .. } => seed.zeroize(),
        }
    }
}

impl ZeroizeOnDrop for PrivateKeyDer {}

/// Parses a DER `SubjectPublicKeyInfo` ("PUBLIC KEY").
pub(crate) fn parse_spki(der: &[u8]) -> Result<PublicKeyDer, DerError> {
    let spki =
        SubjectPublicKeyInfoRef::from_der(der).map_err(|_| Malformed("SubjectPublicKeyInfo"))?;
    let alg = Alg::of(&spki.algorithm)?;
    let bits = spki.subject_public_key.as_bytes();
    let bits = bits.ok_or(Malformed("subjectPublicKey"))?;
    Ok(match alg {
        Alg::Rsa => {
            let (n, e) = parse_rsa_public_pkcs1(bits)?;
            PublicKeyDer::Rsa { n, e }
        }
        Alg::Ec(curve) => PublicKeyDer::Ec {
            curve,
            point: check_point(curve, bits)?.to_vec(),
        },
        Alg::Ed25519 => {
            let key = bits
                .try_into()
                .map_err(|_| Malformed("Ed25519 public key length"))?;
            PublicKeyDer::Ed25519 { key }
        }
    })
}

/// Encodes a DER `SubjectPublicKeyInfo`.
pub(crate) fn encode_spki(key: &PublicKeyDer) -> Result<Vec<u8>, DerError> {
    let rsa;
    let (alg, bits) = match key {
        PublicKeyDer::Rsa { n, e } => {
            rsa = encode_rsa_public_pkcs1(n, e)?;
            (Alg::Rsa, rsa.as_slice())
        }
        PublicKeyDer::Ec { curve, point } => (Alg::Ec(*curve), point.as_slice()),
        PublicKeyDer::Ed25519 { key } => (Alg::Ed25519, key.as_slice()),
    };
    to_der(&SubjectPublicKeyInfoRef {
        algorithm: alg.id(),
        subject_public_key: BitStringRef::from_bytes(bits).map_err(encoding)?,
    })
}

/// Parses a PKCS#1 `RSAPublicKey` into `(n, e)`.
pub(crate) fn parse_rsa_public_pkcs1(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), DerError> {
    let key = RsaPublicKey::from_der(der).map_err(|_| Malformed("RSAPublicKey"))?;
    let n = positive(key.modulus, "RSA modulus")?;
    let e = positive(key.public_exponent, "RSA public exponent")?;
    Ok((n.to_vec(), e.to_vec()))
}

/// Encodes a PKCS#1 `RSAPublicKey` (the form `ring` verifies with).
pub(crate) fn encode_rsa_public_pkcs1(n: &[u8], e: &[u8]) -> Result<Vec<u8>, DerError> {
    to_der(&RsaPublicKey {
        modulus: UintRef::new(n).map_err(encoding)?,
        public_exponent: UintRef::new(e).map_err(encoding)?,
    })
}

/// Parses a PKCS#8 `PrivateKeyInfo` / `OneAsymmetricKey` v1 or v2 ("PRIVATE KEY").
pub(crate) fn parse_pkcs8(der: &[u8]) -> Result<PrivateKeyDer, DerError> {
    let info = PrivateKeyInfo::from_der(der).map_err(|_| Malformed("PrivateKeyInfo"))?;
    match Alg::of(&info.algorithm)? {
        Alg::Rsa => parse_rsa_private_pkcs1(info.private_key).map(PrivateKeyDer::Rsa),
        Alg::Ec(curve) => parse_ec_private(info.private_key, Some(curve)),
        Alg::Ed25519 => {
            let seed = OctetStringRef::from_der(info.private_key)
                .map_err(|_| Malformed("Ed25519 private key"))?;
            let seed = seed
                .as_bytes()
                .try_into()
                .map_err(|_| Malformed("Ed25519 private key length"))?;
            let public = info.public_key.map(<[u8; 32]>::try_from).transpose();
            let public = public.map_err(|_| Malformed("Ed25519 public key length"))?;
            Ok(PrivateKeyDer::Ed25519 { seed, public })
        }
    }
}

/// Parses a PKCS#1 `RSAPrivateKey` ("RSA PRIVATE KEY"); only two-prime version 0
/// (`pkcs1` without its `alloc` feature refuses multi-prime keys).
#[allow(clippy::many_single_char_names, reason = "RFC 8017 component names")]
pub(crate) fn parse_rsa_private_pkcs1(der: &[u8]) -> Result<RsaPrivate, DerError> {
    let key = RsaPrivateKey::from_der(der).map_err(|_| Malformed("RSAPrivateKey"))?;
    let parts = [
        (key.modulus, "RSA n"),
        (key.public_exponent, "RSA e"),
        (key.private_exponent, "RSA d"),
        (key.prime1, "RSA p"),
        (key.prime2, "RSA q"),
        (key.exponent1, "RSA dP"),
        (key.exponent2, "RSA dQ"),
        (key.coefficient, "RSA qInv"),
    ];
    for (part, name) in parts {
        positive(part, name)?;
    }
    // Copy only once everything is checked, so no partial secret copies are dropped
    // unzeroized.
    let [n, e, d, p, q, dp, dq, qi] = parts.map(|(part, _)| part.as_bytes().to_vec());
    Ok(RsaPrivate {
        n,
        e,
        d,
        p,
        q,
        dp,
        dq,
        qi,
    })
}

/// Parses a SEC1 `ECPrivateKey` ("EC PRIVATE KEY"); the curve comes from `[0]` parameters.
pub(crate) fn parse_sec1_ec(der: &[u8]) -> Result<PrivateKeyDer, DerError> {
    parse_ec_private(der, None)
}

/// Encodes a private key as PKCS#8 in the form `ring` 0.17 accepts.
///
/// RSA and EC produce v1 (version 0); EC requires `point`. Ed25519 produces v2
/// (version 1, with the `[1]` public key) when `public` is known, v1 otherwise.
/// Every buffer that holds a secret is wiped.
pub(crate) fn encode_pkcs8(key: &PrivateKeyDer) -> Result<Vec<u8>, DerError> {
    let (alg, inner, public) = match key {
        PrivateKeyDer::Rsa(k) => {
            fn uint(v: &[u8]) -> Result<UintRef<'_>, DerError> {
                UintRef::new(v).map_err(encoding)
            }
            let inner = to_der(&RsaPrivateKey {
                modulus: uint(&k.n)?,
                public_exponent: uint(&k.e)?,
                private_exponent: uint(&k.d)?,
                prime1: uint(&k.p)?,
                prime2: uint(&k.q)?,
                exponent1: uint(&k.dp)?,
                exponent2: uint(&k.dq)?,
                coefficient: uint(&k.qi)?,
                other_prime_infos: None,
            })?;
            (Alg::Rsa, Zeroizing::new(inner), None)
        }
        PrivateKeyDer::Ec { curve, d, point } => {
            let point = point.as_deref().ok_or(Incomplete("EC public point"))?;
            let (point, d) = (check_point(*curve, point)?, scalar(*curve, d)?);
            let mut padded = Zeroizing::new(vec![0u8; curve.scalar_len()]);
            let start = padded.len() - d.len();
            padded[start..].copy_from_slice(d);
            // As ring writes it: no `[0]` parameters (the algorithm names the curve).
            let inner = to_der(&EcPrivateKey {
                private_key: &padded,
                parameters: None,
                public_key: Some(point),
            })?;
            (Alg::Ec(*curve), Zeroizing::new(inner), None)
        }
        PrivateKeyDer::Ed25519 { seed, public } => {
            let inner = to_der(&OctetStringRef::new(seed).map_err(encoding)?)?;
            (Alg::Ed25519, Zeroizing::new(inner), public.as_ref())
        }
    };
    to_der(&PrivateKeyInfo {
        algorithm: alg.id(),
        private_key: &inner,
        public_key: public.map(<[u8; 32]>::as_slice),
    })
}

/// Parses SEC1 `ECPrivateKey`; `expected` is the curve named by an outer PKCS#8 wrapper.
fn parse_ec_private(der: &[u8], expected: Option<Curve>) -> Result<PrivateKeyDer, DerError> {
    let key = EcPrivateKey::from_der(der).map_err(|_| Malformed("ECPrivateKey"))?;
    let named = key.parameters.and_then(sec1::EcParameters::named_curve);
    let curve = match (named.map(Curve::from_oid).transpose()?, expected) {
        (Some(a), Some(b)) if a != b => {
            return Err(Malformed("EC parameters contradict algorithm"));
        }
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => return Err(Malformed("EC parameters missing")),
    };
    let point = key.public_key.map(|p| check_point(curve, p)).transpose()?;
    let (d, len) = (scalar(curve, key.private_key)?, curve.scalar_len());
    let mut padded = Vec::with_capacity(len);
    padded.resize(len - d.len(), 0);
    padded.extend_from_slice(d);
    Ok(PrivateKeyDer::Ec {
        curve,
        d: padded,
        point: point.map(<[u8]>::to_vec),
    })
}

/// An INTEGER's magnitude, refused when zero (`der` already refuses negative ones).
fn positive<'a>(value: UintRef<'a>, what: &'static str) -> Result<&'a [u8], DerError> {
    match strip_zeros(value.as_bytes()) {
        [] => Err(Malformed(what)),
        bytes => Ok(bytes),
    }
}

/// Strips an EC scalar's leading zeros and checks it is non-zero and fits the curve.
fn scalar(curve: Curve, d: &[u8]) -> Result<&[u8], DerError> {
    match strip_zeros(d) {
        d if !d.is_empty() && d.len() <= curve.scalar_len() => Ok(d),
        _ => Err(Malformed("EC private scalar length")),
    }
}

/// Checks an uncompressed point encoding for `curve`.
fn check_point(curve: Curve, point: &[u8]) -> Result<&[u8], DerError> {
    match point.first() {
        Some(0x04) if point.len() == 1 + 2 * curve.scalar_len() => Ok(point),
        _ => Err(Malformed("EC point (must be uncompressed, right length)")),
    }
}

/// Key algorithms from an `AlgorithmIdentifier`.
#[derive(Clone, Copy)]
enum Alg {
    /// rsaEncryption with NULL parameters.
    Rsa,
    /// id-ecPublicKey with a named curve.
    Ec(Curve),
    /// id-Ed25519 without parameters.
    Ed25519,
}

impl Alg {
    /// The algorithm an `AlgorithmIdentifier` names, with the parameters it must carry.
    fn of(id: &AlgorithmIdentifierRef<'_>) -> Result<Self, DerError> {
        let null = |p: AnyRef<'_>| p.tag() == Tag::Null && p.value().is_empty();
        match (id.oid, id.parameters) {
            (RSA, Some(p)) if null(p) => Ok(Self::Rsa),
            (RSA, _) => Err(Malformed("RSA parameters")),
            (EC, Some(p)) => {
                let oid = p.decode_as().map_err(|_| Malformed("EC named curve"))?;
                Curve::from_oid(oid).map(Self::Ec)
            }
            (EC, None) => Err(Malformed("EC named curve")),
            (ED25519, None) => Ok(Self::Ed25519),
            (ED25519, Some(_)) => Err(Malformed("Ed25519 parameters")),
            _ => Err(Unsupported("key algorithm")),
        }
    }

    /// The `AlgorithmIdentifier` to write.
    fn id(self) -> AlgorithmIdentifierRef<'static> {
        let (oid, parameters) = match self {
            Self::Rsa => (RSA, Some(AnyRef::NULL)),
            Self::Ec(curve) => (EC, Some(AnyRef::from(curve.oid()))),
            Self::Ed25519 => (ED25519, None),
        };
        AlgorithmIdentifierRef { oid, parameters }
    }
}

/// Encodes `value` into a buffer of exactly its length (no growth leaves a copy of a
/// secret behind), wiped if encoding fails half-way.
fn to_der(value: &impl Encode) -> Result<Vec<u8>, DerError> {
    let len = value.encoded_len().and_then(usize::try_from);
    let mut out = Zeroizing::new(vec![0u8; len.map_err(encoding)?]);
    let written = value.encode_to_slice(&mut out).map_err(encoding)?.len();
    if written != out.len() {
        return Err(encoding(()));
    }
    Ok(core::mem::take(&mut *out))
}

/// An encoding failure: only a length beyond `der`'s 256 MiB limit, which key
/// components never reach.
fn encoding(_: impl Sized) -> DerError {
    Malformed("encoded length")
}

/// Strips leading zero bytes.
pub(crate) fn strip_zeros(mut v: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = v {
        v = rest;
    }
    v
}

#[cfg(test)]
mod tests;
