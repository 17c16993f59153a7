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
}

impl Curve {
    /// Byte length of a scalar or coordinate; an uncompressed point is `1 + 2 * scalar_len`.
    pub(crate) fn scalar_len(self) -> usize {
        if self == Self::P256 { 32 } else { 48 }
    }

    /// The named-curve OID content bytes.
    fn oid(self) -> &'static [u8] {
        if self == Self::P256 {
            OID_P256
        } else {
            OID_P384
        }
    }

    /// Looks a curve up by its OID content bytes.
    fn from_oid(oid: &[u8]) -> Result<Self, DerError> {
        match oid {
            OID_P256 => Ok(Self::P256),
            OID_P384 => Ok(Self::P384),
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

/// Strips leading zero bytes.
fn strip_zeros(mut v: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = v {
        v = rest;
    }
    v
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

/// A forward-only cursor over DER elements.
#[derive(Debug, Clone, Copy)]
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// Reads `der` as exactly one SEQUENCE and returns a cursor over its contents.
    fn outer(der: &'a [u8], what: &'static str) -> Result<Self, DerError> {
        let mut outer = Reader(der);
        let inner = outer.expect(SEQUENCE, what)?;
        outer.finish(what).map(|()| Reader(inner))
    }

    /// Reads one element, returning its tag and contents.
    fn any(&mut self, what: &'static str) -> Result<(u8, &'a [u8]), DerError> {
        let (tag, first, rest) = match self.0 {
            [tag, first, rest @ ..] if tag & 0x1F != 0x1F => (*tag, *first, rest), // no high tags
            _ => return Err(Malformed(what)),
        };
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            // 0x80 is the BER indefinite form; more than 4 length bytes is never needed.
            let count = usize::from(first & 0x7F);
            let split = rest
                .split_at_checked(count)
                .filter(|_| (1..=4).contains(&count));
            let (bytes, rest) = split.ok_or(Malformed(what))?;
            let len = bytes.iter().fold(0, |acc, &b| (acc << 8) | usize::from(b));
            if bytes.first() == Some(&0) || len < 0x80 {
                return Err(Malformed(what)); // non-minimal length
            }
            (len, rest)
        };
        let (content, rest) = rest.split_at_checked(len).ok_or(Malformed(what))?;
        self.0 = rest;
        Ok((tag, content))
    }

    /// Reads one element that must carry `tag`.
    fn expect(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], DerError> {
        match self.any(what)? {
            (t, content) if t == tag => Ok(content),
            _ => Err(Malformed(what)),
        }
    }

    /// Reads an element if the next tag is `tag`.
    fn optional(&mut self, tag: u8, what: &'static str) -> Result<Option<&'a [u8]>, DerError> {
        self.peek(tag).then(|| self.expect(tag, what)).transpose()
    }

    /// Whether the next element carries `tag`.
    fn peek(&self, tag: u8) -> bool {
        self.0.first() == Some(&tag)
    }

    /// Reads a BIT STRING (possibly implicitly tagged) with no unused bits.
    fn bits(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], DerError> {
        match self.expect(tag, what)? {
            [0, bits @ ..] => Ok(bits),
            _ => Err(Malformed(what)),
        }
    }

    /// Reads a positive INTEGER, returning it without leading zeros.
    fn uint(&mut self, what: &'static str) -> Result<&'a [u8], DerError> {
        match self.expect(INTEGER, what)? {
            // Non-empty, non-negative and non-zero.
            c @ [b, ..] if b & 0x80 == 0 && !strip_zeros(c).is_empty() => Ok(strip_zeros(c)),
            _ => Err(Malformed(what)),
        }
    }

    /// Reads a small version INTEGER (0..=127).
    fn version(&mut self, what: &'static str) -> Result<u8, DerError> {
        match self.expect(INTEGER, what)? {
            [v] if *v < 0x80 => Ok(*v),
            _ => Err(Unsupported(what)),
        }
    }

    /// Fails unless every byte has been consumed.
    fn finish(self, what: &'static str) -> Result<(), DerError> {
        self.0.is_empty().then_some(()).ok_or(Malformed(what))
    }
}

/// Appends a tag and a minimal definite length.
fn header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => out.push(short),
        _ => {
            let be = len.to_be_bytes();
            let digits = be.iter().skip_while(|b| **b == 0);
            out.push(digits.clone().fold(0x80, |n, _| n + 1));
            out.extend(digits);
        }
    }
}

/// Appends a complete element.
fn tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    header(out, tag, content.len());
    out.extend_from_slice(content);
}

/// Appends an element whose contents `f` writes in place; the header is then rotated in front.
fn nested(out: &mut Vec<u8>, tag: u8, f: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    f(out);
    let end = out.len();
    header(out, tag, end - start);
    let header_len = out.len() - end;
    if let Some(element) = out.get_mut(start..) {
        element.rotate_right(header_len);
    }
}

/// Appends a BIT STRING (or an implicitly tagged one) with no unused bits.
fn bit_string(out: &mut Vec<u8>, tag: u8, bits: &[u8]) {
    header(out, tag, bits.len() + 1);
    out.push(0);
    out.extend_from_slice(bits);
}

/// Appends a non-negative INTEGER in minimal two's complement (empty means zero).
fn uint(out: &mut Vec<u8>, value: &[u8]) {
    let value = strip_zeros(value);
    let pad = value.first().is_none_or(|b| b & 0x80 != 0);
    header(out, INTEGER, value.len() + usize::from(pad));
    if pad {
        out.push(0);
    }
    out.extend_from_slice(value);
}

/// Appends a PKCS#1 `RSAPublicKey`.
fn write_rsa_public(out: &mut Vec<u8>, n: &[u8], e: &[u8]) {
    nested(out, SEQUENCE, |o| {
        uint(o, n);
        uint(o, e);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};

    /// A DER sample and a predicate telling whether the matching parser accepts input.
    type Case = (Vec<u8>, fn(&[u8]) -> bool);

    const RSA_PKCS8: &str = include_str!("../../tests/data/rsa2048-pkcs8.pem");
    const RSA_PKCS1: &str = include_str!("../../tests/data/rsa2048-pkcs1.pem");
    const RSA_SPKI: &str = include_str!("../../tests/data/rsa2048-spki.pem");
    /// RFC 8410 section 10 examples: an independent Ed25519 oracle.
    const RFC8410_SPKI: &str = "-----BEGIN PUBLIC KEY-----\n\
        MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
    const RFC8410_V1: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
    const RFC8410_V2: &str = "-----BEGIN PRIVATE KEY-----\n\
        MHICAQEwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
        oB8wHQYKKoZIhvcNAQkJFDEPDA1DdXJkbGUgQ2hhaXJzgSEAGb9ECWmEzf6FQbrB\n\
        Z9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PRIVATE KEY-----\n";

    fn pem_der(text: &str) -> Vec<u8> {
        super::super::pem::decode(text)
            .expect("valid PEM fixture")
            .1
    }

    /// Decodes OID content bytes to dotted notation (oracle for the constants).
    fn dotted(oid: &[u8]) -> String {
        let (mut arcs, mut acc) = (Vec::new(), 0u64);
        for b in oid {
            acc = (acc << 7) | u64::from(b & 0x7F);
            if b & 0x80 == 0 {
                arcs.push(acc);
                acc = 0;
            }
        }
        let first = arcs.remove(0);
        let (a, b) = if first < 80 {
            (first / 40, first % 40)
        } else {
            (2, first - 80)
        };
        let arcs: Vec<String> = [a, b]
            .into_iter()
            .chain(arcs)
            .map(|x| x.to_string())
            .collect();
        arcs.join(".")
    }

    /// Builds a SEC1 `ECPrivateKey` with `[0]` parameters and `[1]` public key.
    fn sec1(curve: Curve, d: &[u8], point: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        nested(&mut out, SEQUENCE, |o| {
            uint(o, &[1]);
            tlv(o, OCTET_STRING, d);
            nested(o, CTX_CONS_0, |o| tlv(o, OID, curve.oid()));
            nested(o, CTX_CONS_1, |o| bit_string(o, BIT_STRING, point));
        });
        out
    }

    #[test]
    fn oids_are_exact() {
        assert_eq!(dotted(OID_RSA), "1.2.840.113549.1.1.1");
        assert_eq!(dotted(OID_EC), "1.2.840.10045.2.1");
        assert_eq!(dotted(OID_P256), "1.2.840.10045.3.1.7");
        assert_eq!(dotted(OID_P384), "1.3.132.0.34");
        assert_eq!(dotted(OID_ED25519), "1.3.101.112");
    }

    #[test]
    fn integer_and_length_encoding() {
        for (value, der) in [
            (&[][..], &[2, 1, 0][..]),
            (&[0, 0, 1], &[2, 1, 1]),
            (&[0x80], &[2, 2, 0, 0x80]),
        ] {
            let mut out = Vec::new();
            uint(&mut out, value);
            assert_eq!(out, der);
        }
        for (len, head) in [
            (0x7F, &[4, 0x7F][..]),
            (0x80, &[4, 0x81, 0x80]),
            (300, &[4, 0x82, 1, 0x2C]),
        ] {
            let (content, mut out) = (vec![0xAB; len], Vec::new());
            nested(&mut out, OCTET_STRING, |o| o.extend_from_slice(&content));
            assert_eq!(out.get(..head.len()), Some(head));
            assert_eq!(Reader(&out).expect(OCTET_STRING, "t"), Ok(&content[..]));
        }
        // Indefinite, non-minimal (x2), over-long length-of-length, high tag, truncated content.
        let bad: [&[u8]; 6] = [
            &[0x30, 0x80, 0, 0],
            &[4, 0x81, 5, 1, 2, 3, 4, 5],
            &[4, 0x82, 0, 0x80],
            &[4, 0x85, 0, 0, 0, 0, 1, 0],
            &[0x1F, 1, 0],
            &[4, 2, 0],
        ];
        for der in bad {
            assert!(Reader(der).any("t").is_err(), "{der:?}");
        }
        // Negative, empty, zero, wrong tag.
        for der in [&[2, 1, 0x80][..], &[2, 0], &[2, 1, 0], &[4, 1, 1]] {
            assert!(Reader(der).uint("t").is_err(), "{der:?}");
        }
        assert_eq!(Reader(&[2, 3, 0, 0, 5]).uint("t"), Ok(&[5][..]));
    }

    #[test]
    fn ec_keys_match_ring() {
        let rng = SystemRandom::new();
        let algs = [
            (&sig::ECDSA_P256_SHA256_FIXED_SIGNING, Curve::P256),
            (&sig::ECDSA_P384_SHA384_FIXED_SIGNING, Curve::P384),
        ];
        for (alg, curve) in algs {
            let doc = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
            let ring_key = EcdsaKeyPair::from_pkcs8(alg, doc.as_ref(), &rng).unwrap();
            let parsed = parse_pkcs8(doc.as_ref()).unwrap();
            let PrivateKeyDer::Ec {
                curve: c,
                d,
                point: Some(point),
            } = &parsed
            else {
                panic!("{parsed:?}")
            };
            assert_eq!((*c, d.len()), (curve, curve.scalar_len()));
            assert_eq!(point, ring_key.public_key().as_ref());
            let encoded = encode_pkcs8(&parsed).unwrap();
            assert_eq!(encoded, doc.as_ref(), "byte-identical to ring's encoding");
            assert!(EcdsaKeyPair::from_pkcs8(alg, &encoded, &rng).is_ok());
            assert!(encoded.len() <= 256, "fits the up-front reservation");
            assert_eq!(parse_sec1_ec(&sec1(curve, d, point)).as_ref(), Ok(&parsed));
            let public = PublicKeyDer::Ec {
                curve,
                point: point.clone(),
            };
            assert_eq!(parse_spki(&encode_spki(&public)), Ok(public));
            let bare = PrivateKeyDer::Ec {
                curve,
                d: d.clone(),
                point: None,
            };
            assert_eq!(encode_pkcs8(&bare), Err(Incomplete("EC public point")));
            assert_eq!(
                format!("{bare:?}"),
                format!("Ec {{ curve: {curve:?}, has_point: false, .. }}")
            );
        }
    }

    #[test]
    fn ec_structure_errors() {
        let (d, point) = ([7u8; 32], [4u8; 65]);
        let p256 = sec1(Curve::P256, &d, &point);
        assert!(parse_sec1_ec(&p256).is_ok());
        let contradiction = parse_ec_private(&p256, Some(Curve::P384));
        assert_eq!(
            contradiction,
            Err(Malformed("EC parameters contradict algorithm"))
        );
        assert!(
            parse_sec1_ec(&sec1(Curve::P256, &d, &point[..33])).is_err(),
            "compressed-size point"
        );
        assert!(
            parse_sec1_ec(&sec1(Curve::P256, &[7; 33], &point)).is_err(),
            "scalar too long"
        );
        let mut p521 = Vec::new(); // AlgorithmIdentifier for secp521r1, 1.3.132.0.35
        nested(&mut p521, SEQUENCE, |o| {
            tlv(o, OID, OID_EC);
            tlv(o, OID, &[0x2B, 0x81, 0x04, 0x00, 0x23]);
        });
        assert_eq!(
            Alg::read(&mut Reader(&p521)).err(),
            Some(Unsupported("elliptic curve"))
        );
        let short = parse_sec1_ec(&sec1(Curve::P256, &[0, 9], &point)).unwrap();
        let PrivateKeyDer::Ec { d, .. } = &short else {
            panic!("{short:?}")
        };
        assert_eq!(
            (d.len(), d[0], d[31]),
            (32, 0, 9),
            "left-padded to the field size"
        );
    }

    #[test]
    fn ed25519_keys_match_ring_and_rfc8410() {
        let rng = SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let ring_key = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
        let parsed = parse_pkcs8(doc.as_ref()).unwrap();
        let PrivateKeyDer::Ed25519 {
            seed,
            public: Some(public),
        } = &parsed
        else {
            panic!()
        };
        assert_eq!(&public[..], ring_key.public_key().as_ref());
        let v2 = encode_pkcs8(&parsed).unwrap();
        assert_eq!(v2, doc.as_ref(), "byte-identical to ring's v2 encoding");
        assert!(Ed25519KeyPair::from_pkcs8(&v2).is_ok());
        let v1_key = PrivateKeyDer::Ed25519 {
            seed: *seed,
            public: None,
        };
        let v1 = encode_pkcs8(&v1_key).unwrap();
        assert!(
            Ed25519KeyPair::from_pkcs8(&v1).is_err(),
            "ring wants v2 here"
        );
        let unchecked = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&v1).unwrap();
        assert_eq!(unchecked.public_key().as_ref(), &public[..]);
        assert_eq!(parse_pkcs8(&v1), Ok(v1_key));
        assert_eq!(format!("{parsed:?}"), "Ed25519 { has_public: true, .. }");

        let rfc_spki = pem_der(RFC8410_SPKI);
        let PublicKeyDer::Ed25519 { key } = parse_spki(&rfc_spki).unwrap() else {
            panic!()
        };
        assert_eq!(encode_spki(&PublicKeyDer::Ed25519 { key }), rfc_spki);
        let rfc_v1 = pem_der(RFC8410_V1);
        let parsed_v1 = parse_pkcs8(&rfc_v1).unwrap();
        assert_eq!(encode_pkcs8(&parsed_v1).unwrap(), rfc_v1);
        let ring_v1 = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&rfc_v1).unwrap();
        assert_eq!(ring_v1.public_key().as_ref(), &key[..]);
        // v2 with an attribute and a `[1]` public key matching the SPKI.
        let parsed_v2 = parse_pkcs8(&pem_der(RFC8410_V2)).unwrap();
        let PrivateKeyDer::Ed25519 {
            seed: rfc_seed,
            public,
        } = &parsed_v2
        else {
            panic!()
        };
        assert_eq!(
            parsed_v1,
            PrivateKeyDer::Ed25519 {
                seed: *rfc_seed,
                public: None
            }
        );
        assert_eq!(*public, Some(key));
    }

    #[test]
    fn rsa_fixtures_match_ring() {
        let (pkcs8, spki) = (pem_der(RSA_PKCS8), pem_der(RSA_SPKI));
        let parsed = parse_pkcs8(&pkcs8).unwrap();
        let PrivateKeyDer::Rsa(k) = &parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(parse_rsa_private_pkcs1(&pem_der(RSA_PKCS1)).as_ref(), Ok(k));
        assert!(ring::rsa::KeyPair::from_pkcs8(&pkcs8).is_ok());
        let encoded = encode_pkcs8(&parsed).unwrap();
        assert_eq!(encoded, pkcs8, "byte-identical to the fixture");
        assert!(ring::rsa::KeyPair::from_pkcs8(&encoded).is_ok());
        assert!(encoded.len() <= 256 + k.parts().iter().map(|p| p.len()).sum::<usize>());
        let ring_key = ring::rsa::KeyPair::from_components(&ring::rsa::KeyPairComponents {
            public_key: ring::rsa::PublicKeyComponents { n: &k.n, e: &k.e },
            d: &k.d,
            p: &k.p,
            q: &k.q,
            dP: &k.dp,
            dQ: &k.dq,
            qInv: &k.qi,
        })
        .unwrap();
        let public = parse_spki(&spki).unwrap();
        assert_eq!(
            public,
            PublicKeyDer::Rsa {
                n: k.n.clone(),
                e: k.e.clone()
            }
        );
        assert_eq!(encode_spki(&public), spki);
        let ring_public = ring_key.public().as_ref();
        assert_eq!(ring_public, encode_rsa_public_pkcs1(&k.n, &k.e));
        assert_eq!(
            parse_rsa_public_pkcs1(ring_public),
            Ok((k.n.clone(), k.e.clone()))
        );
        let mut signature = vec![0; ring_key.public().modulus_len()];
        ring_key
            .sign(
                &sig::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                b"msg",
                &mut signature,
            )
            .unwrap();
        let PublicKeyDer::Rsa { n, e } = &public else {
            panic!()
        };
        let verifier = sig::UnparsedPublicKey::new(
            &sig::RSA_PKCS1_2048_8192_SHA256,
            encode_rsa_public_pkcs1(n, e),
        );
        assert!(
            verifier.verify(b"msg", &signature).is_ok(),
            "SPKI key verifies imported key"
        );
        assert_eq!(
            format!("{parsed:?}"),
            "Rsa(RsaPrivate { modulus_bits: 2048, .. })"
        );
    }

    #[test]
    fn malformed_inputs_fail_without_panicking() {
        let rng = SystemRandom::new();
        let ec = EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
        let ed = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let ec_key = parse_pkcs8(ec.as_ref()).unwrap();
        let PrivateKeyDer::Ec {
            curve,
            d,
            point: Some(point),
        } = &ec_key
        else {
            panic!()
        };
        let ec_spki = encode_spki(&PublicKeyDer::Ec {
            curve: *curve,
            point: point.clone(),
        });
        let PublicKeyDer::Rsa { n, e } = parse_spki(&pem_der(RSA_SPKI)).unwrap() else {
            panic!()
        };
        let cases: [Case; 8] = [
            (pem_der(RSA_PKCS8), |b| parse_pkcs8(b).is_ok()),
            (ec.as_ref().to_vec(), |b| parse_pkcs8(b).is_ok()),
            (ed.as_ref().to_vec(), |b| parse_pkcs8(b).is_ok()),
            (pem_der(RSA_PKCS1), |b| parse_rsa_private_pkcs1(b).is_ok()),
            (sec1(*curve, d, point), |b| parse_sec1_ec(b).is_ok()),
            (pem_der(RSA_SPKI), |b| parse_spki(b).is_ok()),
            (ec_spki, |b| parse_spki(b).is_ok()),
            (encode_rsa_public_pkcs1(&n, &e), |b| {
                parse_rsa_public_pkcs1(b).is_ok()
            }),
        ];
        for (der, parses) in &cases {
            assert!(parses(der));
            for end in 0..der.len() {
                assert!(!parses(&der[..end]), "accepted truncation at {end}");
            }
            assert!(
                !parses(&[der.as_slice(), &[0]].concat()),
                "accepted trailing garbage"
            );
            for (i, flip) in (0..der.len()).flat_map(|i| [(i, 0x01), (i, 0x80), (i, 0xFF)]) {
                let mut corrupt = der.clone();
                corrupt[i] ^= flip;
                let _ = parses(&corrupt); // must not panic
            }
        }
        assert_eq!(
            parse_pkcs8(&[0x30, 3, 2, 1, 2]),
            Err(Unsupported("PKCS#8 version"))
        );
        assert!(parse_spki(&[]).is_err() && parse_pkcs8(b"garbage").is_err());
    }
}
