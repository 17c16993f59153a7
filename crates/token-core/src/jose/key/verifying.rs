//! `VerifyingKey`: a public key (or HMAC secret), parsed once.

use std::fmt;
use std::sync::Arc;

use ring::signature as sig;
use ring::{hmac, rsa};
use zeroize::Zeroizing;

use super::{
    alg_for_curve, curve_for, curve_name, ed25519_public_ok, hmac_alg, rsa_params, secret,
};
use crate::jose::der::{self, Curve, PublicKeyDer};
use crate::jose::es512;
use crate::jose::{Algorithm, Jwk, KeyError, KeyFamily, KeyUse, SecretMember, b64, pem};

/// A public key (or, for HMAC, a shared secret) that verifies tokens.
#[derive(Clone)]
pub struct VerifyingKey {
    inner: Arc<VerifyingInner>,
}

struct VerifyingInner {
    alg: Algorithm,
    kid: String,
    public: Public,
}

pub(super) enum Public {
    Hmac(hmac::Key, Zeroizing<Vec<u8>>),
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { curve: Curve, point: Vec<u8> },
    Ed25519([u8; 32]),
}

/// Which loaded key verified something, without keeping the key (nor, for HMAC, its
/// secret) alive: a weak reference, so the allocation's address cannot be reused while
/// it exists, compared by address.
#[derive(Clone)]
pub(crate) struct KeyIdentity(std::sync::Weak<VerifyingInner>);

impl KeyIdentity {
    pub(crate) fn of(key: &VerifyingKey) -> Self {
        KeyIdentity(Arc::downgrade(&key.inner))
    }

    /// Whether `key` is the very same loaded key (not merely equal material).
    pub(crate) fn is(&self, key: &VerifyingKey) -> bool {
        std::ptr::eq(self.0.as_ptr(), Arc::as_ptr(&key.inner))
    }
}

impl VerifyingKey {
    /// Whether `other` is the very same loaded key (a clone of this one), not merely
    /// equal material.
    pub(crate) fn is_same(&self, other: &VerifyingKey) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(super) fn new(alg: Algorithm, public: Public) -> VerifyingKey {
        let mut key = VerifyingKey {
            inner: Arc::new(VerifyingInner {
                alg,
                kid: String::new(),
                public,
            }),
        };
        let kid = key.thumbprint();
        if let Some(inner) = Arc::get_mut(&mut key.inner) {
            inner.kid = kid;
        }
        key
    }

    pub(crate) fn from_public_der(
        public: PublicKeyDer,
        alg: Algorithm,
    ) -> Result<VerifyingKey, KeyError> {
        let public = match (public, alg.family()) {
            (PublicKeyDer::Rsa { n, e }, KeyFamily::Rsa) => {
                if n.len() < 256 {
                    return Err(KeyError::WeakRsa);
                }
                Public::Rsa { n, e }
            }
            (PublicKeyDer::Ec { curve, point }, KeyFamily::Ec) if curve_for(alg) == Some(curve) => {
                // ring checks P-256 and P-384 points when verifying; P-521 is checked now.
                if curve == Curve::P521 && !es512::public_key_valid(&point) {
                    return Err(KeyError::Rejected);
                }
                Public::Ec { curve, point }
            }
            (PublicKeyDer::Ed25519 { key }, KeyFamily::Okp) => {
                if !ed25519_public_ok(&key) {
                    return Err(KeyError::SmallOrder);
                }
                Public::Ed25519(key)
            }
            _ => return Err(KeyError::AlgorithmMismatch),
        };
        Ok(VerifyingKey::new(alg, public))
    }

    /// Parses a public JWK (private members, if present, are ignored; an `oct` JWK
    /// is a shared secret). The algorithm comes from `alg`, else the JWK's `alg`,
    /// else the curve; RSA and `oct` keys without `alg` need one given.
    ///
    /// A JWK whose `use` is not `sig`, or whose `key_ops` lacks `verify`, is refused.
    pub fn from_jwk(jwk: &Jwk, alg: Option<Algorithm>) -> Result<VerifyingKey, KeyError> {
        let alg = crate::jose::jwk_alg(jwk, alg, KeyUse::Verify)?;
        let key = match (jwk.kty.as_str(), alg.family()) {
            ("oct", KeyFamily::Hmac) => {
                let k = secret(jwk.k.as_ref()).ok_or(KeyError::MissingMember("k"))?;
                let secret = Zeroizing::new(b64::decode(k).ok_or(KeyError::Malformed("k"))?);
                if secret.len() < alg.min_hmac_len() {
                    return Err(KeyError::WeakSecret {
                        min_bits: alg.min_hmac_len() * 8,
                    });
                }
                VerifyingKey::new(
                    alg,
                    Public::Hmac(hmac::Key::new(hmac_alg(alg), &secret), secret),
                )
            }
            ("RSA", KeyFamily::Rsa) => {
                let get = |v: &Option<String>, name: &'static str| {
                    v.as_deref()
                        .ok_or(KeyError::MissingMember(name))
                        .and_then(|t| b64::decode(t).ok_or(KeyError::Malformed(name)))
                };
                let n = der::strip_zeros(&get(&jwk.n, "n")?).to_vec();
                let e = der::strip_zeros(&get(&jwk.e, "e")?).to_vec();
                VerifyingKey::from_public_der(PublicKeyDer::Rsa { n, e }, alg)?
            }
            ("EC", KeyFamily::Ec) => {
                VerifyingKey::from_public_der(crate::jose::ec_point_from_jwk(jwk, alg)?, alg)?
            }
            ("OKP", KeyFamily::Okp) => VerifyingKey::from_public_der(
                PublicKeyDer::Ed25519 {
                    key: crate::jose::okp_from_jwk(jwk)?,
                },
                alg,
            )?,
            _ => return Err(KeyError::AlgorithmMismatch),
        };
        Ok(match &jwk.kid {
            Some(kid) => key.with_kid(kid),
            None => key,
        })
    }

    /// The keys a JWK gives under the `allowed` algorithms: one per allowed algorithm
    /// the key fits, each verifying with that algorithm only.
    ///
    /// A JWK with `alg` (or an EC or OKP key, whose curve names its algorithm) fits
    /// that one algorithm. An RSA JWK without `alg` fits RS256/384/512 and
    /// PS256/384/512; an `oct` JWK without `alg` fits each HS algorithm whose hash is no
    /// longer than the secret (RFC 7518 §3.2). A key never fits another key type's
    /// algorithms. With `allowed` empty, this is [`VerifyingKey::from_jwk`] without a
    /// given algorithm. [`KeyError::NotAllowed`] when the key fits none of `allowed`.
    pub fn from_jwk_for(jwk: &Jwk, allowed: &[Algorithm]) -> Result<Vec<VerifyingKey>, KeyError> {
        if allowed.is_empty() {
            return VerifyingKey::from_jwk(jwk, None).map(|key| vec![key]);
        }
        let fits: Vec<Algorithm> = match crate::jose::jwk_alg(jwk, None, KeyUse::Verify) {
            Ok(alg) => vec![alg],
            Err(KeyError::NoAlgorithm) => {
                let family = if jwk.kty == "oct" {
                    KeyFamily::Hmac
                } else {
                    KeyFamily::Rsa
                };
                Algorithm::ALL
                    .into_iter()
                    .filter(|a| a.family() == family)
                    .collect()
            }
            Err(e) => return Err(e),
        };
        bind_each(
            fits.into_iter().filter(|a| allowed.contains(a)),
            |alg| VerifyingKey::from_jwk(jwk, Some(alg)),
            |_| false,
        )
    }

    /// The keys a PEM file gives under the `allowed` algorithms: a public key
    /// (`PUBLIC KEY`, `RSA PUBLIC KEY`) or the public half of a private key, one per
    /// allowed algorithm it fits (an RSA key fits RS and PS algorithms, an EC key its
    /// curve's, an Ed25519 key `EdDSA`). With `allowed` empty, the key's own default
    /// algorithm ([`VerifyingKey::from_pem`] without one). [`KeyError::NotAllowed`] when
    /// it fits none of `allowed`.
    pub fn from_pem_for(text: &str, allowed: &[Algorithm]) -> Result<Vec<VerifyingKey>, KeyError> {
        let with = |alg| match super::SigningKey::from_pem(text, alg) {
            Ok(key) => Ok(key.verifying_key().clone()),
            Err(KeyError::UnsupportedPem(_)) => VerifyingKey::from_pem(text, alg),
            Err(e) => Err(e),
        };
        if allowed.is_empty() {
            return with(None).map(|key| vec![key]);
        }
        // Another key type's algorithm is not a reason worth reporting.
        bind_each(
            allowed.iter().copied(),
            |alg| with(Some(alg)),
            |e| matches!(e, KeyError::AlgorithmMismatch),
        )
    }

    /// Parses a DER `SubjectPublicKeyInfo`. Without `alg`, an RSA key verifies RS256
    /// and an EC key its curve's algorithm.
    pub fn from_spki_der(der: &[u8], alg: Option<Algorithm>) -> Result<VerifyingKey, KeyError> {
        let public = der::parse_spki(der).map_err(|_| KeyError::Malformed("public key DER"))?;
        VerifyingKey::from_public_with(public, alg)
    }

    /// Parses a DER PKCS#1 `RSAPublicKey`; without `alg`, it verifies RS256.
    pub fn from_pkcs1_der(der: &[u8], alg: Option<Algorithm>) -> Result<VerifyingKey, KeyError> {
        let (n, e) =
            der::parse_rsa_public_pkcs1(der).map_err(|_| KeyError::Malformed("public key DER"))?;
        VerifyingKey::from_public_with(PublicKeyDer::Rsa { n, e }, alg)
    }

    /// Parses a PEM public key: `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1).
    pub fn from_pem(text: &str, alg: Option<Algorithm>) -> Result<VerifyingKey, KeyError> {
        let (label, body) = pem::decode(text).map_err(|_| KeyError::Malformed("PEM"))?;
        match label.as_str() {
            "PUBLIC KEY" => VerifyingKey::from_spki_der(&body, alg),
            "RSA PUBLIC KEY" => VerifyingKey::from_pkcs1_der(&body, alg),
            _ => Err(KeyError::UnsupportedPem(label)),
        }
    }

    fn from_public_with(
        public: PublicKeyDer,
        alg: Option<Algorithm>,
    ) -> Result<VerifyingKey, KeyError> {
        let natural = match &public {
            PublicKeyDer::Rsa { .. } => Algorithm::RS256,
            PublicKeyDer::Ec { curve, .. } => alg_for_curve(*curve),
            PublicKeyDer::Ed25519 { .. } => Algorithm::EdDSA,
        };
        VerifyingKey::from_public_der(public, alg.unwrap_or(natural))
    }

    /// The same key with another key id.
    pub fn with_kid(&self, kid: &str) -> VerifyingKey {
        let public = match &self.inner.public {
            Public::Hmac(k, s) => Public::Hmac(k.clone(), s.clone()),
            Public::Rsa { n, e } => Public::Rsa {
                n: n.clone(),
                e: e.clone(),
            },
            Public::Ec { curve, point } => Public::Ec {
                curve: *curve,
                point: point.clone(),
            },
            Public::Ed25519(k) => Public::Ed25519(*k),
        };
        VerifyingKey {
            inner: Arc::new(VerifyingInner {
                alg: self.inner.alg,
                kid: kid.to_owned(),
                public,
            }),
        }
    }

    /// The algorithm this key verifies; a token's `alg` must equal it.
    pub fn algorithm(&self) -> Algorithm {
        self.inner.alg
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.inner.kid
    }

    /// Whether this is a shared secret (never published in a JWKS).
    pub fn is_secret(&self) -> bool {
        matches!(self.inner.public, Public::Hmac(..))
    }

    /// Checks a raw signature over `message`. HMAC comparison is constant-time.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let alg = self.inner.alg;
        match &self.inner.public {
            Public::Hmac(key, _) => hmac::verify(key, message, signature).is_ok(),
            Public::Rsa { n, e } => rsa::PublicKeyComponents { n, e }
                .verify(rsa_params(alg), message, signature)
                .is_ok(),
            Public::Ec { curve, point } => {
                let algorithm = match curve {
                    Curve::P256 => &sig::ECDSA_P256_SHA256_FIXED,
                    Curve::P384 => &sig::ECDSA_P384_SHA384_FIXED,
                    Curve::P521 => return es512::verify(point, message, signature),
                };
                sig::UnparsedPublicKey::new(algorithm, point)
                    .verify(message, signature)
                    .is_ok()
            }
            Public::Ed25519(key) => sig::UnparsedPublicKey::new(&sig::ED25519, key)
                .verify(message, signature)
                .is_ok(),
        }
    }

    pub(super) fn public_members(&self) -> Jwk {
        match &self.inner.public {
            Public::Hmac(_, secret) => Jwk {
                kty: "oct".into(),
                k: Some(SecretMember::new(b64::encode(secret))),
                ..Jwk::default()
            },
            Public::Rsa { n, e } => Jwk {
                kty: "RSA".into(),
                n: Some(b64::encode(n)),
                e: Some(b64::encode(e)),
                ..Jwk::default()
            },
            Public::Ec { curve, point } => {
                let coords = point.get(1..).unwrap_or_default();
                let (x, y) = coords.split_at(coords.len() / 2);
                Jwk {
                    kty: "EC".into(),
                    crv: Some(curve_name(*curve).into()),
                    x: Some(b64::encode(x)),
                    y: Some(b64::encode(y)),
                    ..Jwk::default()
                }
            }
            Public::Ed25519(key) => Jwk {
                kty: "OKP".into(),
                crv: Some("Ed25519".into()),
                x: Some(b64::encode(key)),
                ..Jwk::default()
            },
        }
    }

    fn thumbprint(&self) -> String {
        self.public_members().thumbprint().unwrap_or_default()
    }

    /// Whether `other` holds the same key material (perhaps bound to another
    /// algorithm, or under another key id).
    pub(crate) fn same_material(&self, other: &VerifyingKey) -> bool {
        self.thumbprint() == other.thumbprint()
    }

    /// The public JWK with `alg`, `kid` and `use: sig`; `None` for a shared secret.
    pub fn to_public_jwk(&self) -> Option<Jwk> {
        if self.is_secret() {
            return None;
        }
        let mut jwk = self.public_members();
        jwk.alg = Some(self.algorithm().name().into());
        jwk.kid = Some(self.kid().into());
        jwk.use_ = Some("sig".into());
        Some(jwk)
    }

    /// The JWK of this key including a shared secret's `k`: for `oct` keys only, which
    /// must travel privately. Public keys give the same as [`VerifyingKey::to_public_jwk`].
    pub fn to_jwk_with_secret(&self) -> Jwk {
        let mut jwk = self.public_members();
        jwk.alg = Some(self.algorithm().name().into());
        jwk.kid = Some(self.kid().into());
        jwk
    }

    /// The public key as SPKI PEM; `None` for a shared secret.
    pub fn to_public_pem(&self) -> Option<String> {
        let public = match &self.inner.public {
            Public::Hmac(..) => return None,
            Public::Rsa { n, e } => PublicKeyDer::Rsa {
                n: n.clone(),
                e: e.clone(),
            },
            Public::Ec { curve, point } => PublicKeyDer::Ec {
                curve: *curve,
                point: point.clone(),
            },
            Public::Ed25519(key) => PublicKeyDer::Ed25519 { key: *key },
        };
        // Encoding fails only past `der`'s 256 MiB length limit, which no key comes near.
        let der = der::encode_spki(&public).ok()?;
        Some(pem::encode("PUBLIC KEY", &der))
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.algorithm())
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}

/// One key per algorithm of `algs` that `bind` accepts; when none does, the first
/// refusal that `ignore` does not discard, else [`KeyError::NotAllowed`].
fn bind_each(
    algs: impl IntoIterator<Item = Algorithm>,
    bind: impl Fn(Algorithm) -> Result<VerifyingKey, KeyError>,
    ignore: impl Fn(&KeyError) -> bool,
) -> Result<Vec<VerifyingKey>, KeyError> {
    let mut keys = Vec::new();
    let mut refusal = None;
    for alg in algs {
        match bind(alg) {
            Ok(key) => keys.push(key),
            Err(e) if ignore(&e) => {}
            Err(e) => {
                refusal.get_or_insert(e);
            }
        }
    }
    match (keys.is_empty(), refusal) {
        (false, _) => Ok(keys),
        (true, Some(e)) => Err(e),
        (true, None) => Err(KeyError::NotAllowed),
    }
}
