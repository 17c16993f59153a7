//! Minimal DER reader/writer and the key structures needed to move JOSE keys
//! between JWK and PEM: `SubjectPublicKeyInfo`, PKCS#1, SEC1 and PKCS#8.
//!
//! Only the DER subset these structures use is supported: single-byte tags and
//! minimal definite lengths of at most four bytes. Parsing uses one cursor per
//! nesting level (depth is fixed by the structures; nothing recurses on input),
//! never panics, and rejects trailing data.

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use DerError::{Incomplete, Malformed, Unsupported};

/// Universal tag INTEGER.
const INTEGER: u8 = 0x02;
/// Universal tag BIT STRING.
const BIT_STRING: u8 = 0x03;
/// Universal tag OCTET STRING.
const OCTET_STRING: u8 = 0x04;
/// Universal tag NULL.
const NULL: u8 = 0x05;
/// Universal tag OBJECT IDENTIFIER.
const OID: u8 = 0x06;
/// Universal tag SEQUENCE (constructed).
const SEQUENCE: u8 = 0x30;
/// `[0]` constructed: SEC1 parameters, PKCS#8 attributes.
const CTX_CONS_0: u8 = 0xA0;
/// `[1]` constructed: SEC1 public key.
const CTX_CONS_1: u8 = 0xA1;
/// `[1] IMPLICIT BIT STRING`: RFC 5958 `OneAsymmetricKey` public key.
const CTX_PRIM_1: u8 = 0x81;

/// rsaEncryption, 1.2.840.113549.1.1.1 (OID content bytes, as are the others).
const OID_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
/// id-ecPublicKey, 1.2.840.10045.2.1.
const OID_EC: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
/// prime256v1 / P-256, 1.2.840.10045.3.1.7.
const OID_P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
/// secp384r1 / P-384, 1.3.132.0.34.
const OID_P384: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22];
/// secp521r1 / P-521, 1.3.132.0.35.
const OID_P521: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x23];
/// id-Ed25519, 1.3.101.112.
const OID_ED25519: &[u8] = &[0x2B, 0x65, 0x70];

/// Why DER could not be parsed or produced. Messages name the structure, never key bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DerError {
    /// The input is not well-formed DER for the named structure or field.
    #[error("malformed DER: {0}")]
    Malformed(&'static str),
    /// Well-formed, but the named algorithm, curve or version is not supported.
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

    /// The named-curve OID content bytes.
    fn oid(self) -> &'static [u8] {
        match self {
            Self::P256 => OID_P256,
            Self::P384 => OID_P384,
            Self::P521 => OID_P521,
        }
    }

    /// Looks a curve up by its OID content bytes.
    fn from_oid(oid: &[u8]) -> Result<Self, DerError> {
        match oid {
            OID_P256 => Ok(Self::P256),
            OID_P384 => Ok(Self::P384),
            OID_P521 => Ok(Self::P521),
            _ => Err(Unsupported("elliptic curve")),
        }
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

impl RsaPrivate {
    /// The components in `RSAPrivateKey` order.
    fn parts(&self) -> [&[u8]; 8] {
        let Self {
            n,
            e,
            d,
            p,
            q,
            dp,
            dq,
            qi,
        } = self;
        [n, e, d, p, q, dp, dq, qi]
    }
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
    let mut spki = Reader::outer(der, "SubjectPublicKeyInfo")?;
    let alg = Alg::read(&mut spki)?;
    let bits = spki.bits(BIT_STRING, "subjectPublicKey")?;
    spki.finish("SubjectPublicKeyInfo")?;
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
pub(crate) fn encode_spki(key: &PublicKeyDer) -> Vec<u8> {
    let mut out = Vec::new();
    nested(&mut out, SEQUENCE, |o| match key {
        PublicKeyDer::Rsa { n, e } => {
            Alg::Rsa.write(o);
            nested(o, BIT_STRING, |o| {
                o.push(0);
                write_rsa_public(o, n, e);
            });
        }
        PublicKeyDer::Ec { curve, point } => {
            Alg::Ec(*curve).write(o);
            bit_string(o, BIT_STRING, point);
        }
        PublicKeyDer::Ed25519 { key } => {
            Alg::Ed25519.write(o);
            bit_string(o, BIT_STRING, key);
        }
    });
    out
}

/// Parses a PKCS#1 `RSAPublicKey` into `(n, e)`.
pub(crate) fn parse_rsa_public_pkcs1(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), DerError> {
    let mut r = Reader::outer(der, "RSAPublicKey")?;
    let (n, e) = (r.uint("RSA modulus")?, r.uint("RSA public exponent")?);
    r.finish("RSAPublicKey")?;
    Ok((n.to_vec(), e.to_vec()))
}

/// Encodes a PKCS#1 `RSAPublicKey` (the form `ring` verifies with).
#[cfg_attr(
    not(test),
    allow(dead_code, reason = "not yet called by the key module")
)]
pub(crate) fn encode_rsa_public_pkcs1(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(n.len() + e.len() + 16);
    write_rsa_public(&mut out, n, e);
    out
}

/// Parses a PKCS#8 `PrivateKeyInfo` / `OneAsymmetricKey` v1 or v2 ("PRIVATE KEY").
pub(crate) fn parse_pkcs8(der: &[u8]) -> Result<PrivateKeyDer, DerError> {
    let mut pki = Reader::outer(der, "PrivateKeyInfo")?;
    let version = pki.version("PKCS#8 version")?;
    if version > 1 {
        return Err(Unsupported("PKCS#8 version"));
    }
    let alg = Alg::read(&mut pki)?;
    let key = pki.expect(OCTET_STRING, "PKCS#8 privateKey")?;
    pki.optional(CTX_CONS_0, "PKCS#8 attributes")?;
    let public = match version {
        1 if pki.peek(CTX_PRIM_1) => Some(pki.bits(CTX_PRIM_1, "PKCS#8 publicKey")?),
        _ => None,
    };
    pki.finish("PrivateKeyInfo")?;
    match alg {
        Alg::Rsa => parse_rsa_private_pkcs1(key).map(PrivateKeyDer::Rsa),
        Alg::Ec(curve) => parse_ec_private(key, Some(curve)),
        Alg::Ed25519 => {
            let mut inner = Reader(key);
            let seed = inner.expect(OCTET_STRING, "Ed25519 private key")?;
            inner.finish("Ed25519 private key")?;
            let seed = seed
                .try_into()
                .map_err(|_| Malformed("Ed25519 private key length"))?;
            let public = public.map(<[u8; 32]>::try_from).transpose();
            let public = public.map_err(|_| Malformed("Ed25519 public key length"))?;
            Ok(PrivateKeyDer::Ed25519 { seed, public })
        }
    }
}

/// Parses a PKCS#1 `RSAPrivateKey` ("RSA PRIVATE KEY"); only two-prime version 0.
#[allow(clippy::many_single_char_names, reason = "RFC 8017 component names")]
pub(crate) fn parse_rsa_private_pkcs1(der: &[u8]) -> Result<RsaPrivate, DerError> {
    let mut r = Reader::outer(der, "RSAPrivateKey")?;
    if r.version("RSAPrivateKey version")? != 0 {
        return Err(Unsupported("RSAPrivateKey version (multi-prime)"));
    }
    let names = [
        "RSA n", "RSA e", "RSA d", "RSA p", "RSA q", "RSA dP", "RSA dQ", "RSA qInv",
    ];
    let mut parts: [&[u8]; 8] = [&[]; 8];
    for (part, name) in parts.iter_mut().zip(names) {
        *part = r.uint(name)?;
    }
    r.finish("RSAPrivateKey")?;
    // Copy only once everything parsed, so no partial secret copies are dropped unzeroized.
    let [n, e, d, p, q, dp, dq, qi] = parts.map(<[u8]>::to_vec);
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
pub(crate) fn encode_pkcs8(key: &PrivateKeyDer) -> Result<Vec<u8>, DerError> {
    // Reserve once: growth would leave copies of secrets in freed memory.
    let rsa_len = |k: &RsaPrivate| k.parts().iter().map(|v| v.len()).sum::<usize>();
    let mut out = Vec::with_capacity(
        256 + if let PrivateKeyDer::Rsa(k) = key {
            rsa_len(k)
        } else {
            0
        },
    );
    match key {
        PrivateKeyDer::Rsa(k) => pkcs8(&mut out, Alg::Rsa, None, |o| {
            nested(o, SEQUENCE, |o| {
                uint(o, &[]);
                for part in k.parts() {
                    uint(o, part);
                }
            });
        }),
        PrivateKeyDer::Ec { curve, d, point } => {
            let point = point.as_deref().ok_or(Incomplete("EC public point"))?;
            let (point, d) = (check_point(*curve, point)?, scalar(*curve, d)?);
            let len = curve.scalar_len();
            pkcs8(&mut out, Alg::Ec(*curve), None, |o| {
                nested(o, SEQUENCE, |o| {
                    uint(o, &[1]);
                    header(o, OCTET_STRING, len);
                    o.resize(o.len() + len - d.len(), 0);
                    o.extend_from_slice(d);
                    nested(o, CTX_CONS_1, |o| bit_string(o, BIT_STRING, point));
                });
            });
        }
        PrivateKeyDer::Ed25519 { seed, public } => {
            let public = public.as_ref().map(<[u8; 32]>::as_slice);
            pkcs8(&mut out, Alg::Ed25519, public, |o| {
                tlv(o, OCTET_STRING, seed);
            });
        }
    }
    Ok(out)
}

/// Writes `OneAsymmetricKey`: v2 iff `public` is given; `inner` writes the privateKey contents.
fn pkcs8(out: &mut Vec<u8>, alg: Alg, public: Option<&[u8]>, inner: impl FnOnce(&mut Vec<u8>)) {
    nested(out, SEQUENCE, |o| {
        uint(o, if public.is_some() { &[1] } else { &[] });
        alg.write(o);
        nested(o, OCTET_STRING, inner);
        if let Some(public) = public {
            bit_string(o, CTX_PRIM_1, public);
        }
    });
}

/// Parses SEC1 `ECPrivateKey`; `expected` is the curve named by an outer PKCS#8 wrapper.
fn parse_ec_private(der: &[u8], expected: Option<Curve>) -> Result<PrivateKeyDer, DerError> {
    let mut r = Reader::outer(der, "ECPrivateKey")?;
    if r.version("ECPrivateKey version")? != 1 {
        return Err(Unsupported("ECPrivateKey version"));
    }
    let d = r.expect(OCTET_STRING, "EC private scalar")?;
    let named = r.optional(CTX_CONS_0, "EC parameters")?.map(|params| {
        let mut params = Reader(params);
        let curve = Curve::from_oid(params.expect(OID, "EC named curve")?)?;
        params.finish("EC parameters").map(|()| curve)
    });
    let curve = match (named.transpose()?, expected) {
        (Some(a), Some(b)) if a != b => {
            return Err(Malformed("EC parameters contradict algorithm"));
        }
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => return Err(Malformed("EC parameters missing")),
    };
    let point = r.optional(CTX_CONS_1, "EC public key")?.map(|inner| {
        let mut inner = Reader(inner);
        let point = check_point(curve, inner.bits(BIT_STRING, "EC public key")?)?;
        inner.finish("EC public key").map(|()| point.to_vec())
    });
    let point = point.transpose()?;
    r.finish("ECPrivateKey")?;
    let (d, len) = (scalar(curve, d)?, curve.scalar_len());
    let mut padded = Vec::with_capacity(len);
    padded.resize(len - d.len(), 0);
    padded.extend_from_slice(d);
    Ok(PrivateKeyDer::Ec {
        curve,
        d: padded,
        point,
    })
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
    /// Reads an `AlgorithmIdentifier` SEQUENCE.
    fn read(r: &mut Reader<'_>) -> Result<Self, DerError> {
        let mut a = Reader(r.expect(SEQUENCE, "AlgorithmIdentifier")?);
        let alg = match a.expect(OID, "algorithm OID")? {
            // The guard consumes the mandatory NULL parameters.
            OID_RSA if a.expect(NULL, "RSA parameters")?.is_empty() => Self::Rsa,
            OID_EC => Self::Ec(Curve::from_oid(a.expect(OID, "EC named curve")?)?),
            OID_ED25519 => Self::Ed25519,
            OID_RSA => return Err(Malformed("RSA parameters")),
            _ => return Err(Unsupported("key algorithm")),
        };
        a.finish("AlgorithmIdentifier")?;
        Ok(alg)
    }

    /// Writes an `AlgorithmIdentifier` SEQUENCE.
    fn write(self, out: &mut Vec<u8>) {
        nested(out, SEQUENCE, |o| match self {
            Self::Rsa => {
                tlv(o, OID, OID_RSA);
                tlv(o, NULL, &[]);
            }
            Self::Ec(curve) => {
                tlv(o, OID, OID_EC);
                tlv(o, OID, curve.oid());
            }
            Self::Ed25519 => tlv(o, OID, OID_ED25519),
        });
    }
}

mod codec;
#[cfg(test)]
mod tests;

pub(crate) use codec::strip_zeros;
use codec::{Reader, bit_string, header, nested, tlv, uint, write_rsa_public};
