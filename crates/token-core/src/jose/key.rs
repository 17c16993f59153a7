//! Signing and verifying keys, parsed once into ring's types.

use std::fmt;
use std::sync::Arc;

use ring::rand::SystemRandom;
use ring::signature::{self as sig, KeyPair as _};
use ring::{hmac, rsa};
use zeroize::Zeroizing;

use super::der::{self, Curve, PrivateKeyDer, PublicKeyDer, RsaPrivate};
use super::{Algorithm, Jwk, KeyError, KeyFamily, SecretMember, b64, pem};

/// A private key that signs tokens, parsed once when it is built.
///
/// It carries its [`Algorithm`] and a key id (`kid`, by default the RFC 7638
/// thumbprint of its public JWK). `Debug` never shows key material.
#[derive(Clone)]
pub struct SigningKey {
    inner: Arc<SigningInner>,
    public: VerifyingKey,
}

struct SigningInner {
    signer: Signer,
    /// What export needs; wiped on drop.
    private: Private,
}

enum Signer {
    Hmac(hmac::Key),
    Rsa(rsa::KeyPair),
    Ecdsa(sig::EcdsaKeyPair),
    Ed25519(sig::Ed25519KeyPair),
}

enum Private {
    Hmac(Zeroizing<Vec<u8>>),
    Der(PrivateKeyDer),
}

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

enum Public {
    Hmac(hmac::Key, Zeroizing<Vec<u8>>),
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { curve: Curve, point: Vec<u8> },
    Ed25519([u8; 32]),
}

fn rng() -> &'static SystemRandom {
    static RNG: std::sync::OnceLock<SystemRandom> = std::sync::OnceLock::new();
    RNG.get_or_init(SystemRandom::new)
}

pub(super) fn hmac_alg(alg: Algorithm) -> hmac::Algorithm {
    match alg {
        Algorithm::HS384 => hmac::HMAC_SHA384,
        Algorithm::HS512 => hmac::HMAC_SHA512,
        _ => hmac::HMAC_SHA256,
    }
}

fn ec_signing(curve: Curve) -> &'static sig::EcdsaSigningAlgorithm {
    match curve {
        Curve::P256 => &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
        Curve::P384 => &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
    }
}

fn curve_for(alg: Algorithm) -> Option<Curve> {
    match alg {
        Algorithm::ES256 => Some(Curve::P256),
        Algorithm::ES384 => Some(Curve::P384),
        _ => None,
    }
}

fn alg_for_curve(curve: Curve) -> Algorithm {
    match curve {
        Curve::P256 => Algorithm::ES256,
        Curve::P384 => Algorithm::ES384,
    }
}

fn curve_name(curve: Curve) -> &'static str {
    match curve {
        Curve::P256 => "P-256",
        Curve::P384 => "P-384",
    }
}

fn rsa_padding(alg: Algorithm) -> &'static dyn sig::RsaEncoding {
    match alg {
        Algorithm::RS384 => &sig::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_SHA512,
        _ => &sig::RSA_PKCS1_SHA256,
    }
}

pub(super) fn rsa_params(alg: Algorithm) -> &'static sig::RsaParameters {
    match alg {
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        _ => &sig::RSA_PKCS1_2048_8192_SHA256,
    }
}

impl SigningKey {
    /// Generates a new key with ring: Ed25519, P-256, P-384, or a random HMAC secret
    /// as long as the hash (256, 384 or 512 bits). RSA keys are imported, not generated.
    pub fn generate(alg: Algorithm) -> Result<SigningKey, KeyError> {
        match alg.family() {
            KeyFamily::Hmac => {
                let mut secret = Zeroizing::new(vec![0u8; alg.min_hmac_len()]);
                ring::rand::SecureRandom::fill(rng(), &mut secret).map_err(|_| KeyError::Rng)?;
                SigningKey::hmac(alg, &secret)
            }
            KeyFamily::Ec => {
                let curve = curve_for(alg).ok_or(KeyError::AlgorithmMismatch)?;
                let pkcs8 = sig::EcdsaKeyPair::generate_pkcs8(ec_signing(curve), rng())
                    .map_err(|_| KeyError::Rng)?;
                SigningKey::from_pkcs8(pkcs8.as_ref(), Some(alg))
            }
            KeyFamily::Okp => {
                let pkcs8 =
                    sig::Ed25519KeyPair::generate_pkcs8(rng()).map_err(|_| KeyError::Rng)?;
                SigningKey::from_pkcs8(pkcs8.as_ref(), Some(alg))
            }
            _ => Err(KeyError::RsaGeneration),
        }
    }

    /// An HMAC key from a shared secret, which must be at least as long as the hash.
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<SigningKey, KeyError> {
        if alg.family() != KeyFamily::Hmac {
            return Err(KeyError::AlgorithmMismatch);
        }
        if secret.len() < alg.min_hmac_len() {
            return Err(KeyError::WeakSecret {
                min_bits: alg.min_hmac_len() * 8,
            });
        }
        Ok(SigningKey::hmac_unchecked(alg, secret))
    }

    /// An HMAC key with no minimum length, for keys `jsonwebtoken` users already have.
    pub(super) fn hmac_unchecked(alg: Algorithm, secret: &[u8]) -> SigningKey {
        let secret = Zeroizing::new(secret.to_vec());
        let public = VerifyingKey::new(
            alg,
            Public::Hmac(hmac::Key::new(hmac_alg(alg), &secret), secret.clone()),
        );
        SigningKey::assemble(
            Signer::Hmac(hmac::Key::new(hmac_alg(alg), &secret)),
            Private::Hmac(secret),
            public,
        )
    }

    /// Parses a PKCS#1 DER RSA private key.
    pub(super) fn from_pkcs1_rsa(der_bytes: &[u8], alg: Algorithm) -> Result<SigningKey, KeyError> {
        let parsed =
            der::parse_rsa_private_pkcs1(der_bytes).map_err(|_| KeyError::Malformed("PKCS#1"))?;
        SigningKey::from_private_der(PrivateKeyDer::Rsa(parsed), Some(alg))
    }

    /// Parses a PKCS#8 DER private key. `alg` defaults to the key's natural algorithm
    /// (RS256 for RSA).
    pub fn from_pkcs8(der_bytes: &[u8], alg: Option<Algorithm>) -> Result<SigningKey, KeyError> {
        let parsed = der::parse_pkcs8(der_bytes).map_err(|_| KeyError::Malformed("PKCS#8"))?;
        SigningKey::from_private_der(parsed, alg)
    }

    /// Parses a PEM private key: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1) or
    /// `EC PRIVATE KEY` (SEC 1).
    pub fn from_pem(text: &str, alg: Option<Algorithm>) -> Result<SigningKey, KeyError> {
        let (label, body) = pem::decode(text).map_err(|_| KeyError::Malformed("PEM"))?;
        let body = Zeroizing::new(body);
        let parsed = match label.as_str() {
            "PRIVATE KEY" => der::parse_pkcs8(&body),
            "RSA PRIVATE KEY" => der::parse_rsa_private_pkcs1(&body).map(PrivateKeyDer::Rsa),
            "EC PRIVATE KEY" => der::parse_sec1_ec(&body),
            _ => return Err(KeyError::UnsupportedPem(label)),
        }
        .map_err(|_| KeyError::Malformed("private key DER"))?;
        SigningKey::from_private_der(parsed, alg)
    }

    fn from_private_der(
        parsed: PrivateKeyDer,
        alg: Option<Algorithm>,
    ) -> Result<SigningKey, KeyError> {
        let natural = match &parsed {
            PrivateKeyDer::Rsa(_) => Algorithm::RS256,
            PrivateKeyDer::Ec { curve, .. } => alg_for_curve(*curve),
            PrivateKeyDer::Ed25519 { .. } => Algorithm::EdDSA,
        };
        let alg = alg.unwrap_or(natural);
        if alg.family() != natural.family() || (alg.family() == KeyFamily::Ec && alg != natural) {
            return Err(KeyError::AlgorithmMismatch);
        }
        let (signer, public) = match &parsed {
            PrivateKeyDer::Rsa(key) => {
                let pair = rsa_pair(key)?;
                let public = Public::Rsa {
                    n: key.n.clone(),
                    e: key.e.clone(),
                };
                (Signer::Rsa(pair), public)
            }
            PrivateKeyDer::Ec { curve, d, point } => {
                let point = point
                    .clone()
                    .ok_or(KeyError::Malformed("EC key without public point"))?;
                let pair = sig::EcdsaKeyPair::from_private_key_and_public_key(
                    ec_signing(*curve),
                    d,
                    &point,
                    rng(),
                )
                .map_err(|_| KeyError::Rejected)?;
                (
                    Signer::Ecdsa(pair),
                    Public::Ec {
                        curve: *curve,
                        point,
                    },
                )
            }
            PrivateKeyDer::Ed25519 { seed, public } => {
                let pair = match public {
                    Some(p) => sig::Ed25519KeyPair::from_seed_and_public_key(seed, p),
                    None => sig::Ed25519KeyPair::from_seed_unchecked(seed),
                }
                .map_err(|_| KeyError::Rejected)?;
                let mut key = [0u8; 32];
                key.copy_from_slice(pair.public_key().as_ref());
                (Signer::Ed25519(pair), Public::Ed25519(key))
            }
        };
        Ok(SigningKey::assemble(
            signer,
            Private::Der(parsed),
            VerifyingKey::new(alg, public),
        ))
    }

    /// Parses a private JWK (`kty` oct, RSA, EC or OKP with its private members).
    /// The algorithm comes from `alg`, else the JWK's `alg`, else the curve.
    pub fn from_jwk(jwk: &Jwk, alg: Option<Algorithm>) -> Result<SigningKey, KeyError> {
        let alg = super::jwk_alg(jwk, alg)?;
        let field = |v: Option<&str>, name: &'static str| -> Result<Zeroizing<Vec<u8>>, KeyError> {
            let text = v.ok_or(KeyError::MissingMember(name))?;
            b64::decode(text)
                .map(Zeroizing::new)
                .ok_or(KeyError::Malformed(name))
        };
        let key = match (jwk.kty.as_str(), alg.family()) {
            ("oct", KeyFamily::Hmac) => {
                SigningKey::hmac(alg, &field(secret(jwk.k.as_ref()), "k")?)?
            }
            ("RSA", KeyFamily::Rsa) => {
                let key = RsaPrivate {
                    n: field(jwk.n.as_deref(), "n")?.to_vec(),
                    e: field(jwk.e.as_deref(), "e")?.to_vec(),
                    d: field(secret(jwk.d.as_ref()), "d")?.to_vec(),
                    p: field(secret(jwk.p.as_ref()), "p")?.to_vec(),
                    q: field(secret(jwk.q.as_ref()), "q")?.to_vec(),
                    dp: field(secret(jwk.dp.as_ref()), "dp")?.to_vec(),
                    dq: field(secret(jwk.dq.as_ref()), "dq")?.to_vec(),
                    qi: field(secret(jwk.qi.as_ref()), "qi")?.to_vec(),
                };
                SigningKey::from_private_der(PrivateKeyDer::Rsa(key), Some(alg))?
            }
            ("EC", KeyFamily::Ec) => {
                let public = super::ec_point_from_jwk(jwk, alg)?;
                let PublicKeyDer::Ec { curve, point } = public else {
                    return Err(KeyError::Malformed("EC key"));
                };
                let d = field(secret(jwk.d.as_ref()), "d")?;
                let parsed = PrivateKeyDer::Ec {
                    curve,
                    d: d.to_vec(),
                    point: Some(point),
                };
                SigningKey::from_private_der(parsed, Some(alg))?
            }
            ("OKP", KeyFamily::Okp) => {
                let seed: [u8; 32] = field(secret(jwk.d.as_ref()), "d")?
                    .as_slice()
                    .try_into()
                    .map_err(|_| KeyError::Malformed("d"))?;
                let public = super::okp_from_jwk(jwk)?;
                let parsed = PrivateKeyDer::Ed25519 {
                    seed,
                    public: Some(public),
                };
                SigningKey::from_private_der(parsed, Some(alg))?
            }
            _ => return Err(KeyError::AlgorithmMismatch),
        };
        Ok(match &jwk.kid {
            Some(kid) => key.with_kid(kid),
            None => key,
        })
    }

    fn assemble(signer: Signer, private: Private, public: VerifyingKey) -> SigningKey {
        SigningKey {
            inner: Arc::new(SigningInner { signer, private }),
            public,
        }
    }

    /// The same key with another key id.
    pub fn with_kid(&self, kid: &str) -> SigningKey {
        SigningKey {
            inner: Arc::clone(&self.inner),
            public: self.public.with_kid(kid),
        }
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.public.algorithm()
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        self.public.kid()
    }

    /// The matching verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// Signs `message`, returning the raw signature (JWS form: fixed-size r‖s for ECDSA).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.inner.signer {
            Signer::Hmac(key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
            Signer::Rsa(pair) => {
                let mut out = vec![0u8; pair.public().modulus_len()];
                pair.sign(rsa_padding(self.algorithm()), rng(), message, &mut out)
                    .map_err(|_| KeyError::Rejected)?;
                Ok(out)
            }
            Signer::Ecdsa(pair) => pair
                .sign(rng(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Rejected),
            Signer::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }

    /// The private JWK, with `alg` and `kid`. Handle with care: it holds the secret.
    pub fn to_private_jwk(&self) -> Jwk {
        let mut jwk = match &self.inner.private {
            Private::Hmac(secret) => Jwk {
                kty: "oct".into(),
                k: Some(SecretMember::new(b64::encode(secret))),
                ..Jwk::default()
            },
            Private::Der(PrivateKeyDer::Rsa(key)) => Jwk {
                d: Some(SecretMember::new(b64::encode(&key.d))),
                p: Some(SecretMember::new(b64::encode(&key.p))),
                q: Some(SecretMember::new(b64::encode(&key.q))),
                dp: Some(SecretMember::new(b64::encode(&key.dp))),
                dq: Some(SecretMember::new(b64::encode(&key.dq))),
                qi: Some(SecretMember::new(b64::encode(&key.qi))),
                ..self.public.public_members()
            },
            Private::Der(PrivateKeyDer::Ec { d, .. }) => Jwk {
                d: Some(SecretMember::new(b64::encode(d))),
                ..self.public.public_members()
            },
            Private::Der(PrivateKeyDer::Ed25519 { seed, .. }) => Jwk {
                d: Some(SecretMember::new(b64::encode(seed))),
                ..self.public.public_members()
            },
        };
        jwk.alg = Some(self.algorithm().name().into());
        jwk.kid = Some(self.kid().into());
        jwk
    }

    /// The private key as PKCS#8 PEM. HMAC secrets have no PEM form.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        match &self.inner.private {
            Private::Hmac(_) => Err(KeyError::NoPemForSecret),
            Private::Der(d) => {
                let der = Zeroizing::new(
                    der::encode_pkcs8(d).map_err(|_| KeyError::Malformed("PKCS#8"))?,
                );
                Ok(Zeroizing::new(pem::encode("PRIVATE KEY", &der)))
            }
        }
    }
}

fn secret(member: Option<&SecretMember>) -> Option<&str> {
    member.map(SecretMember::expose)
}

fn rsa_pair(key: &RsaPrivate) -> Result<rsa::KeyPair, KeyError> {
    let components = rsa::KeyPairComponents {
        public_key: rsa::PublicKeyComponents {
            n: key.n.as_slice(),
            e: key.e.as_slice(),
        },
        d: key.d.as_slice(),
        p: key.p.as_slice(),
        q: key.q.as_slice(),
        dP: key.dp.as_slice(),
        dQ: key.dq.as_slice(),
        qInv: key.qi.as_slice(),
    };
    rsa::KeyPair::from_components(&components).map_err(|_| KeyError::Rejected)
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.algorithm())
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    fn new(alg: Algorithm, public: Public) -> VerifyingKey {
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
                Public::Ec { curve, point }
            }
            (PublicKeyDer::Ed25519 { key }, KeyFamily::Okp) => Public::Ed25519(key),
            _ => return Err(KeyError::AlgorithmMismatch),
        };
        Ok(VerifyingKey::new(alg, public))
    }

    /// Parses a public JWK (private members, if present, are ignored; an `oct` JWK
    /// is a shared secret). The algorithm comes from `alg`, else the JWK's `alg`,
    /// else the curve; RSA and `oct` keys without `alg` need one given.
    pub fn from_jwk(jwk: &Jwk, alg: Option<Algorithm>) -> Result<VerifyingKey, KeyError> {
        let alg = super::jwk_alg(jwk, alg)?;
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
                let n = strip_zeros(get(&jwk.n, "n")?);
                let e = strip_zeros(get(&jwk.e, "e")?);
                VerifyingKey::from_public_der(PublicKeyDer::Rsa { n, e }, alg)?
            }
            ("EC", KeyFamily::Ec) => {
                VerifyingKey::from_public_der(super::ec_point_from_jwk(jwk, alg)?, alg)?
            }
            ("OKP", KeyFamily::Okp) => VerifyingKey::from_public_der(
                PublicKeyDer::Ed25519 {
                    key: super::okp_from_jwk(jwk)?,
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

    /// Parses a PEM public key: `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1).
    pub fn from_pem(text: &str, alg: Option<Algorithm>) -> Result<VerifyingKey, KeyError> {
        let (label, body) = pem::decode(text).map_err(|_| KeyError::Malformed("PEM"))?;
        let public = match label.as_str() {
            "PUBLIC KEY" => der::parse_spki(&body),
            "RSA PUBLIC KEY" => {
                der::parse_rsa_public_pkcs1(&body).map(|(n, e)| PublicKeyDer::Rsa { n, e })
            }
            _ => return Err(KeyError::UnsupportedPem(label)),
        }
        .map_err(|_| KeyError::Malformed("public key DER"))?;
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

    fn public_members(&self) -> Jwk {
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
        let der = match &self.inner.public {
            Public::Hmac(..) => return None,
            Public::Rsa { n, e } => der::encode_spki(&PublicKeyDer::Rsa {
                n: n.clone(),
                e: e.clone(),
            }),
            Public::Ec { curve, point } => der::encode_spki(&PublicKeyDer::Ec {
                curve: *curve,
                point: point.clone(),
            }),
            Public::Ed25519(key) => der::encode_spki(&PublicKeyDer::Ed25519 { key: *key }),
        };
        Some(pem::encode("PUBLIC KEY", &der))
    }
}

fn strip_zeros(mut v: Vec<u8>) -> Vec<u8> {
    let zeros = v.iter().take_while(|b| **b == 0).count();
    v.drain(..zeros);
    v
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.algorithm())
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}
