//! ECDSA on P-521 with SHA-512 (ES512), which ring does not offer: the pure-Rust `p521`
//! crate. Keys and signatures cross this module as bytes, so no `p521` type leaves it.

use ::p521::ecdsa::signature::{RandomizedSigner as _, Verifier as _};
use ::p521::ecdsa::{Signature, SigningKey, VerifyingKey};
use ::p521::elliptic_curve::rand_core::{self, CryptoRng, RngCore};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::jose::KeyError;

/// A scalar or coordinate, in bytes.
pub(crate) const SCALAR_LEN: usize = 66;

/// Whether `point` (`0x04 || x || y`) is a valid public key: on the curve, not the
/// identity.
pub(crate) fn public_key_valid(point: &[u8]) -> bool {
    VerifyingKey::from_sec1_bytes(point).is_ok()
}

/// Verifies a JWS signature (`r || s`, 66 bytes each) over `message`.
pub(crate) fn verify(point: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let (Ok(key), Ok(signature)) = (
        VerifyingKey::from_sec1_bytes(point),
        Signature::from_slice(signature),
    ) else {
        return false;
    };
    key.verify(message, &signature).is_ok()
}

/// A P-521 signing key (wiped on drop by `p521`).
pub(crate) struct P521Signer(SigningKey);

impl P521Signer {
    /// The key with private scalar `d` (66 bytes, big-endian), which must match `point`.
    pub(crate) fn new(d: &[u8], point: &[u8]) -> Result<P521Signer, KeyError> {
        let key = SigningKey::from_slice(d).map_err(|_| KeyError::Rejected)?;
        let public = VerifyingKey::from(&key).to_encoded_point(false);
        if public.as_bytes() != point {
            return Err(KeyError::Rejected);
        }
        Ok(P521Signer(key))
    }

    /// A new key from `fill` (the system random generator): returns `(d, point)`.
    pub(crate) fn generate(
        mut fill: impl FnMut(&mut [u8]) -> Result<(), KeyError>,
    ) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), KeyError> {
        // Rejection sampling: 521 random bits below the group order (almost always the
        // first draw: the order is within 2^-260 of 2^521).
        for _ in 0..64 {
            let mut d = Zeroizing::new(vec![0u8; SCALAR_LEN]);
            fill(&mut d)?;
            if let Some(top) = d.first_mut() {
                *top &= 0x01;
            }
            if let Ok(key) = SigningKey::from_slice(&d) {
                let point = VerifyingKey::from(&key).to_encoded_point(false);
                return Ok((d, point.as_bytes().to_vec()));
            }
        }
        Err(KeyError::Rng)
    }

    /// Signs `message` with a nonce from `rng`, returning `r || s`.
    pub(crate) fn sign(&self, rng: &SystemRandom, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut nonces = ScalarRng { rng, failed: false };
        let signature: Signature = self
            .0
            .try_sign_with_rng(&mut nonces, message)
            .map_err(|_| KeyError::Rejected)?;
        if nonces.failed {
            return Err(KeyError::Rng);
        }
        Ok(signature.to_bytes().to_vec())
    }
}

/// ring's system random generator as the `rand_core` generator `p521` draws nonces from.
/// A draw of a whole scalar (66 bytes) gets 521 random bits (the top 7 cleared), so the
/// rejection loop of `Scalar::random` accepts almost at once (instead of once in 128
/// draws) and the nonce is still uniform below the order. A failed draw is remembered
/// and the signature discarded.
struct ScalarRng<'a> {
    rng: &'a SystemRandom,
    failed: bool,
}

impl RngCore for ScalarRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if self.rng.fill(dest).is_err() {
            self.failed = true;
        }
        if dest.len() == SCALAR_LEN
            && let Some(top) = dest.first_mut()
        {
            *top &= 0x01;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for ScalarRng<'_> {}
