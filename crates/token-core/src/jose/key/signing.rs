//! `SigningKey`: a private key, parsed once.

use std::fmt;
use std::sync::Arc;

use ring::signature::{self as sig, KeyPair as _};
use ring::{hmac, rsa};
use zeroize::Zeroizing;

use super::verifying::Public;
use super::{
    VerifyingKey, alg_for_curve, curve_for, ec_signing, hmac_alg, rng, rsa_padding, secret,
};
use crate::jose::der::{self, Curve, PrivateKeyDer, PublicKeyDer, RsaPrivate};
use crate::jose::es512::{self, P521Signer};
use crate::jose::{Algorithm, Jwk, KeyError, KeyFamily, KeyUse, SecretMember, b64, pem};

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
    P521(P521Signer),
    Ed25519(sig::Ed25519KeyPair),
}

enum Private {
    Hmac(Zeroizing<Vec<u8>>),
    Der(PrivateKeyDer),
}

impl SigningKey {
    /// Generates a new key: Ed25519, P-256, P-384 (ring), P-521 (`p521`, from ring's
    /// random generator), or a random HMAC secret as long as the hash (256, 384 or 512
    /// bits). RSA keys are imported, not generated.
    pub fn generate(alg: Algorithm) -> Result<SigningKey, KeyError> {
        match alg.family() {
            KeyFamily::Hmac => {
                let mut secret = Zeroizing::new(vec![0u8; alg.min_hmac_len()]);
                ring::rand::SecureRandom::fill(rng(), &mut secret).map_err(|_| KeyError::Rng)?;
                SigningKey::hmac(alg, &secret)
            }
            KeyFamily::Ec => {
                let curve = curve_for(alg).ok_or(KeyError::AlgorithmMismatch)?;
                let Some(signing) = ec_signing(curve) else {
                    let (d, point) = P521Signer::generate(|out| {
                        ring::rand::SecureRandom::fill(rng(), out).map_err(|_| KeyError::Rng)
                    })?;
                    let parsed = PrivateKeyDer::Ec {
                        curve,
                        d: d.to_vec(),
                        point: Some(point),
                    };
                    return SigningKey::from_private_der(parsed, Some(alg));
                };
                let pkcs8 =
                    sig::EcdsaKeyPair::generate_pkcs8(signing, rng()).map_err(|_| KeyError::Rng)?;
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
    pub(in crate::jose) fn hmac_unchecked(alg: Algorithm, secret: &[u8]) -> SigningKey {
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

    /// Parses a DER PKCS#1 `RSAPrivateKey` ("RSA PRIVATE KEY"); `alg` defaults to RS256.
    pub fn from_pkcs1_der(
        der_bytes: &[u8],
        alg: Option<Algorithm>,
    ) -> Result<SigningKey, KeyError> {
        let parsed =
            der::parse_rsa_private_pkcs1(der_bytes).map_err(|_| KeyError::Malformed("PKCS#1"))?;
        SigningKey::from_private_der(PrivateKeyDer::Rsa(parsed), alg)
    }

    /// Parses a DER SEC 1 `ECPrivateKey` ("EC PRIVATE KEY"); `alg` defaults to the
    /// curve's.
    pub fn from_sec1_der(der_bytes: &[u8], alg: Option<Algorithm>) -> Result<SigningKey, KeyError> {
        let parsed = der::parse_sec1_ec(der_bytes).map_err(|_| KeyError::Malformed("SEC 1"))?;
        SigningKey::from_private_der(parsed, alg)
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
                let signer = match ec_signing(*curve) {
                    Some(signing) => Signer::Ecdsa(
                        sig::EcdsaKeyPair::from_private_key_and_public_key(
                            signing,
                            d,
                            &point,
                            rng(),
                        )
                        .map_err(|_| KeyError::Rejected)?,
                    ),
                    None if *curve == Curve::P521 && es512::public_key_valid(&point) => {
                        Signer::P521(P521Signer::new(d, &point)?)
                    }
                    None => return Err(KeyError::Rejected),
                };
                (
                    signer,
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
    /// The algorithm comes from `alg`, else the JWK's `alg`, else the curve. A JWK whose
    /// `use` is not `sig`, or whose `key_ops` lacks `sign`, is refused.
    pub fn from_jwk(jwk: &Jwk, alg: Option<Algorithm>) -> Result<SigningKey, KeyError> {
        let alg = crate::jose::jwk_alg(jwk, alg, KeyUse::Sign)?;
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
                let public = crate::jose::ec_point_from_jwk(jwk, alg)?;
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
                let public = crate::jose::okp_from_jwk(jwk)?;
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
            Signer::P521(key) => key.sign(rng(), message),
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
    let pair = rsa::KeyPair::from_components(&components).map_err(|_| KeyError::Rejected)?;
    // ring checks the components it uses, but not every inconsistency a key file can
    // hold: a key that imports must also sign (ring verifies each signature it makes),
    // so one signature now refuses at import what would otherwise fail on every use.
    let mut probe = vec![0u8; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        rng(),
        b"tokenkit: does this key sign?",
        &mut probe,
    )
    .map_err(|_| KeyError::Rejected)?;
    Ok(pair)
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.algorithm())
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}
