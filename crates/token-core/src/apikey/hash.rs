//! Hashing keys at rest: SHA-256, or HMAC-SHA-256 with a server pepper.
//!
//! API keys carry 178 random bits, so a fast hash is enough: no one can brute-force
//! 2^178, and a slow password hash (argon2 at default settings costs ~13 ms per check)
//! would only add latency to every request. The pepper makes a stolen table useless
//! without the server secret as well.

use std::fmt;

use ring::{digest, hmac};
use subtle::ConstantTimeEq;

/// The stored digest of a secret. Compares in constant time. Its `Debug` shows a short
/// prefix only.
#[derive(Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct KeyHash(#[serde(with = "hex32")] [u8; 32]);

impl KeyHash {
    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A digest from raw bytes (for storage backends).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        KeyHash(bytes)
    }
}

impl PartialEq for KeyHash {
    /// Constant time: the 32 bytes are folded as four words with no data-dependent
    /// branch, and only the folded result goes through `subtle` (a per-byte `ct_eq`
    /// costs a barrier per byte on this hot path).
    fn eq(&self, other: &Self) -> bool {
        let word = |b: &[u8; 32], i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i * 8..i * 8 + 8]);
            u64::from_ne_bytes(w)
        };
        let diff = (0..4).fold(0u64, |acc, i| acc | (word(&self.0, i) ^ word(&other.0, i)));
        diff.ct_eq(&0).into()
    }
}

impl Eq for KeyHash {}

impl std::hash::Hash for KeyHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KeyHash({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

/// How secrets are hashed at rest.
#[derive(Clone)]
pub struct KeyHasher {
    pepper: Option<hmac::Key>,
}

impl KeyHasher {
    /// Plain SHA-256.
    pub fn sha256() -> Self {
        KeyHasher { pepper: None }
    }

    /// HMAC-SHA-256 keyed with a server pepper (at least 32 bytes; keep it out of the
    /// database). Changing the pepper invalidates every stored hash.
    pub fn with_pepper(pepper: &[u8]) -> Result<Self, PepperTooShort> {
        if pepper.len() < 32 {
            return Err(PepperTooShort);
        }
        Ok(KeyHasher {
            pepper: Some(hmac::Key::new(hmac::HMAC_SHA256, pepper)),
        })
    }

    /// The digest of `secret`.
    pub fn hash(&self, secret: &str) -> KeyHash {
        let mut out = [0u8; 32];
        match &self.pepper {
            None => {
                out.copy_from_slice(digest::digest(&digest::SHA256, secret.as_bytes()).as_ref());
            }
            Some(key) => out.copy_from_slice(hmac::sign(key, secret.as_bytes()).as_ref()),
        }
        KeyHash(out)
    }
}

impl fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.pepper.is_some() {
            "KeyHasher(HMAC-SHA-256, pepper)"
        } else {
            "KeyHasher(SHA-256)"
        })
    }
}

/// A pepper shorter than 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the pepper must be at least 32 bytes")]
pub struct PepperTooShort;

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        let mut text = String::with_capacity(64);
        for b in bytes {
            text.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            text.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        s.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return Err(serde::de::Error::custom("a key hash is 64 hex digits"));
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let digit = |c: u8| char::from(c).to_digit(16);
            match (digit(pair[0]), digit(pair[1])) {
                (Some(h), Some(l)) => out[i] = u8::try_from(h * 16 + l).unwrap_or(0),
                _ => return Err(serde::de::Error::custom("a key hash is 64 hex digits")),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_differ_with_pepper_and_round_trip_as_hex() {
        let plain = KeyHasher::sha256().hash("tk_live_x");
        let peppered = KeyHasher::with_pepper(&[9u8; 32])
            .unwrap()
            .hash("tk_live_x");
        assert_ne!(plain, peppered);
        assert_eq!(plain, KeyHasher::sha256().hash("tk_live_x"));
        for i in 0..32 {
            let mut other = *plain.as_bytes();
            other[i] ^= 0x80;
            assert_ne!(plain, KeyHash::from_bytes(other), "byte {i}");
        }
        let json = serde_json::to_string(&plain).unwrap();
        assert_eq!(json.len(), 66);
        assert_eq!(serde_json::from_str::<KeyHash>(&json).unwrap(), plain);
        assert!(serde_json::from_str::<KeyHash>("\"zz\"").is_err());
        assert!(KeyHasher::with_pepper(&[1u8; 31]).is_err());
        assert!(format!("{plain:?}").len() < 24);
    }
}
