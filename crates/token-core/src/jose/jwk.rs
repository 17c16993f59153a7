//! JSON Web Keys (RFC 7517) and key sets, as data.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use super::b64;

/// A JSON Web Key as data: members are base64url strings, as on the wire.
///
/// Parsing a `Jwk` checks nothing about the key; [`crate::jose::SigningKey::from_jwk`]
/// and [`crate::jose::VerifyingKey::from_jwk`] validate it. Private members (`d`, `p`,
/// `q`, `dp`, `dq`, `qi`, `k`) are redacted by `Debug` and wiped on drop.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwk {
    /// Key type: `oct`, `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// Intended algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Intended use (`sig` or `enc`).
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Permitted operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// Curve (`P-256`, `P-384`, `Ed25519`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate, or the OKP public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Private: EC/OKP private key, RSA private exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<SecretMember>,
    /// Private: RSA first prime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<SecretMember>,
    /// Private: RSA second prime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<SecretMember>,
    /// Private: RSA first CRT exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<SecretMember>,
    /// Private: RSA second CRT exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dq: Option<SecretMember>,
    /// Private: RSA CRT coefficient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qi: Option<SecretMember>,
    /// Private: the symmetric key of an `oct` JWK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<SecretMember>,
}

impl Jwk {
    /// Whether the JWK carries private key material.
    pub fn is_private(&self) -> bool {
        self.d.is_some() || self.k.is_some()
    }

    /// Parses one JWK from JSON.
    pub fn from_json(json: &[u8]) -> Result<Jwk, serde_json::Error> {
        serde_json::from_slice(json)
    }

    /// The JSON text of this JWK (with any private members it holds).
    pub fn to_json(&self) -> String {
        // Serializing plain strings into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The RFC 7638 thumbprint: SHA-256 over the required members in lexicographic
    /// order, base64url. `None` when a required member is missing.
    pub fn thumbprint(&self) -> Option<String> {
        let canonical = match self.kty.as_str() {
            "EC" => format!(
                r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
                json_str(self.crv.as_ref()?),
                json_str(self.x.as_ref()?),
                json_str(self.y.as_ref()?)
            ),
            "RSA" => format!(
                r#"{{"e":{},"kty":"RSA","n":{}}}"#,
                json_str(self.e.as_ref()?),
                json_str(self.n.as_ref()?)
            ),
            "OKP" => format!(
                r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
                json_str(self.crv.as_ref()?),
                json_str(self.x.as_ref()?)
            ),
            "oct" => format!(
                r#"{{"k":{},"kty":"oct"}}"#,
                json_str(self.k.as_ref()?.expose())
            ),
            _ => return None,
        };
        let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
        Some(b64::encode(digest.as_ref()))
    }

    /// A copy without private members.
    pub fn to_public(&self) -> Jwk {
        let mut public = self.clone();
        public.wipe_private();
        public
    }

    fn wipe_private(&mut self) {
        for secret in [
            &mut self.d,
            &mut self.p,
            &mut self.q,
            &mut self.dp,
            &mut self.dq,
            &mut self.qi,
            &mut self.k,
        ] {
            *secret = None;
        }
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("use", &self.use_)
            .field("crv", &self.crv)
            .field("x", &self.x)
            .field("y", &self.y)
            .field("n", &self.n)
            .field("e", &self.e)
            .field("d", &self.d)
            .field("k", &self.k)
            .finish_non_exhaustive()
    }
}

/// A private JWK member (base64url text): redacted in `Debug`, wiped on drop.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretMember(String);

impl SecretMember {
    /// Wraps base64url text.
    pub fn new(text: String) -> Self {
        SecretMember(text)
    }

    /// The base64url text. Handle with care.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for SecretMember {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// A JWK Set document: `{"keys": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    /// The JSON text of the set.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1.
        let jwk: Jwk = serde_json::from_str(
            r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#,
        )
        .unwrap();
        assert_eq!(
            jwk.thumbprint().as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn debug_redacts_private_members() {
        let jwk = Jwk {
            kty: "oct".into(),
            k: Some(SecretMember::new("c2VjcmV0LXNlY3JldC1zZWNyZXQ".into())),
            ..Jwk::default()
        };
        let shown = format!("{jwk:?}");
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
        assert!(jwk.is_private());
        assert!(!jwk.to_public().is_private());
    }
}
