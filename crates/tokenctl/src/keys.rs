//! Key files: JWK, JWKS and PEM documents read into token-core keys.
//!
//! A key file is either JSON (one JWK, or a JWKS document `{"keys": [...]}`) or one
//! PEM block (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`, `PUBLIC KEY` or
//! `RSA PUBLIC KEY`). Messages name the file and the key id, never key material.

use std::path::Path;

use serde::Deserialize as _;
use serde_json::Value;
use token_core::jose::{Algorithm, Jwk, KeyError, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::failure::Failure;
use crate::io;

/// One key as found in a key file, before it is bound to an algorithm.
pub(crate) struct FoundKey {
    /// The key id, or `#N` for the Nth key of a JWKS without one, or `PEM`.
    pub(crate) label: String,
    /// The key itself.
    pub(crate) material: Material,
}

/// The text of a key.
pub(crate) enum Material {
    /// A JWK (private members, if any, are redacted in `Debug` and wiped on drop).
    Jwk(Box<Jwk>),
    /// A PEM document, wiped on drop.
    Pem(Zeroizing<String>),
}

impl FoundKey {
    /// Whether this is a shared secret (`kty: oct`), which is never published.
    pub(crate) fn is_shared_secret(&self) -> bool {
        matches!(&self.material, Material::Jwk(jwk) if jwk.kty == "oct")
    }

    /// The verifying keys, one per allowed algorithm the key is bound to (see
    /// [`VerifyingKey::from_jwk_for`]). A key that names its algorithm (`alg`, or the
    /// curve of an EC or OKP key) is bound to it if it is allowed; an RSA or `oct` JWK
    /// without `alg`, and an RSA PEM, to every allowed algorithm it fits (an HMAC secret
    /// shorter than the hash fits none). With no `allowed`, each key's own algorithm
    /// applies; RSA and `oct` JWKs without `alg` then have none, and RSA PEMs take RS256.
    pub(crate) fn verifying_keys(
        &self,
        allowed: &[Algorithm],
    ) -> Result<Vec<VerifyingKey>, KeyError> {
        match &self.material {
            Material::Jwk(jwk) => VerifyingKey::from_jwk_for(jwk, allowed),
            Material::Pem(text) => VerifyingKey::from_pem_for(text, allowed),
        }
    }
}

/// Reads the keys of a key file. Entries of a JWKS that are not JWKs at all are
/// skipped with a warning; a file that is neither JSON nor PEM is an error.
pub(crate) fn read(path: &Path) -> Result<Vec<FoundKey>, Failure> {
    let shown = path.display();
    let bytes = io::read_file(path)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Failure::usage(format_args!("{shown} is not UTF-8 text")))?;
    if text.trim_start().starts_with('{') {
        read_json(path, text)
    } else if text.contains("-----BEGIN ") {
        Ok(vec![FoundKey {
            label: "PEM".to_owned(),
            material: Material::Pem(Zeroizing::new(text.to_owned())),
        }])
    } else {
        Err(Failure::usage(format_args!(
            "{shown} is neither a JWK or JWKS (JSON) nor a PEM key"
        )))
    }
}

/// Reads one JWK or a JWKS document.
fn read_json(path: &Path, text: &str) -> Result<Vec<FoundKey>, Failure> {
    let shown = path.display();
    // serde_json's messages can quote the input, so only the position is reported.
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        Failure::usage(format_args!(
            "{shown} is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let Some(keys) = doc.get("keys") else {
        let jwk = Jwk::deserialize(&doc).map_err(|_| {
            Failure::usage(format_args!(
                "{shown} is not a JWK (a member is missing or of the wrong type)"
            ))
        })?;
        return Ok(vec![FoundKey {
            label: label_of(&jwk, 0),
            material: Material::Jwk(Box::new(jwk)),
        }]);
    };
    let Value::Array(keys) = keys else {
        return Err(Failure::usage(format_args!(
            "{shown}: \"keys\" is not an array"
        )));
    };
    let mut found = Vec::with_capacity(keys.len());
    for (i, value) in keys.iter().enumerate() {
        match Jwk::deserialize(value).ok() {
            Some(jwk) => found.push(FoundKey {
                label: label_of(&jwk, i),
                material: Material::Jwk(Box::new(jwk)),
            }),
            None => io::warn(format_args!("{shown}: skipping key #{i}: not a JWK")),
        }
    }
    Ok(found)
}

/// The key id, or `#index`.
fn label_of(jwk: &Jwk, index: usize) -> String {
    jwk.kid.clone().unwrap_or_else(|| format!("#{index}"))
}

/// The signing key of a key file: one private JWK or one private PEM.
pub(crate) fn signing_key(path: &Path) -> Result<SigningKey, Failure> {
    let shown = path.display();
    let mut keys = read(path)?;
    let (Some(found), true) = (keys.pop(), keys.is_empty()) else {
        return Err(Failure::usage(format_args!(
            "{shown}: give a file with exactly one private key"
        )));
    };
    let key = match &found.material {
        Material::Jwk(jwk) if !jwk.is_private() => {
            return Err(Failure::usage(format_args!(
                "{shown} holds a public key; signing needs the private key"
            )));
        }
        Material::Jwk(jwk) => SigningKey::from_jwk(jwk, None),
        Material::Pem(text) => SigningKey::from_pem(text, None),
    };
    key.map_err(|e| match e {
        KeyError::UnsupportedPem(_) => {
            Failure::usage(format_args!("{shown}: {e}; signing needs a private key"))
        }
        e => Failure::usage(format_args!("{shown}: {e}")),
    })
}
