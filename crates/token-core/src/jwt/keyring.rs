//! Keyrings: one active signing key, retired keys that verify until a deadline, and
//! verification-only keys from other issuers, each bound to the issuer it speaks for.

use std::fmt;
use std::sync::Arc;

use crate::jose::{self, Algorithm, Jwk, JwkSet, KeyError, SigningKey, VerifyingKey};

use super::JwtErrorKind;

/// A set of keys for minting and verifying tokens. Cheap to clone; changes return a
/// new keyring, so readers never lock (hold it in an `ArcSwap` or `RwLock` to rotate
/// at run time).
///
/// With the `jsonwebtoken` feature, building a keyring installs ring as `jsonwebtoken`'s
/// process-wide crypto provider (`jose::install_ring_provider`), unless the process
/// installed one first. Without it, building a keyring changes nothing process-wide.
///
/// ```
/// use token_core::jose::{Algorithm, SigningKey};
/// use token_core::jwt::Keyring;
///
/// let first = SigningKey::generate(Algorithm::EdDSA)?;
/// let ring = Keyring::new(first.clone());
/// // Rotate: the new key signs from now on; the old one verifies until the deadline.
/// let second = SigningKey::generate(Algorithm::EdDSA)?;
/// let ring = ring.rotate(second, 1_900_000_000)?;
/// assert_eq!(ring.public_jwks().keys.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Keyring {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    active: Option<Active>,
    entries: Vec<Entry>,
}

pub(crate) struct Active {
    pub(crate) key: SigningKey,
    /// The encoded protected header (`alg`, `kid`, `typ: at+jwt`), computed once.
    pub(crate) header_b64: String,
}

#[derive(Clone)]
struct Entry {
    key: VerifyingKey,
    /// For our own keys, the exact encoded header our `Minter` writes: a token whose
    /// first segment equals it needs no header decoding (same bytes, same meaning).
    minted_header: Option<String>,
    /// Verifies only while `now` is before this instant.
    retire_at: Option<i64>,
    /// Whose tokens this key may verify (RFC 8725 §3.8).
    issuer: Bound,
}

/// The issuer a key is bound to: a token verified by the key must carry it as `iss`.
#[derive(Clone)]
enum Bound {
    /// Our own key (published in the JWKS): bound to our issuer, the one the
    /// verifier's [`super::Validation`] expects.
    Own,
    /// Another issuer's key, added for exactly this issuer.
    Issuer(Arc<str>),
    /// A key added with [`Keyring::dangerous_with_unbound_key`]: any `iss`.
    Any,
}

/// The issuer binding of the key that verified a token, as the verifier checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyIssuer<'k> {
    /// One of our own keys: `iss` must be the validation's issuer.
    Own,
    /// Another issuer's key: `iss` must be exactly this.
    Issuer(&'k str),
    /// Not bound (a dangerous, explicit choice).
    Any,
}

/// Why a keyring change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    /// Another key already has this `kid`.
    #[error("a key with kid {0:?} is already in the keyring")]
    DuplicateKid(String),
    /// The JWKS document is not a JSON object with a `keys` array.
    #[error("not a JWKS document (a JSON object with a \"keys\" array)")]
    NotJwks,
    /// A JWK could not be used.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// What [`Keyring::with_jwks`] loaded and what it skipped (and why).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwksReport {
    /// Key ids loaded.
    pub loaded: Vec<String>,
    /// `(kid or index, reason)` for each key skipped.
    pub skipped: Vec<(String, String)>,
}

/// With the `jsonwebtoken` feature: ring becomes `jsonwebtoken`'s provider, unless the
/// process chose another first. Without it: nothing.
fn install_provider() {
    #[cfg(feature = "jsonwebtoken")]
    jose::install_ring_provider();
}

impl Keyring {
    /// A keyring whose active signing key is `key`.
    pub fn new(key: SigningKey) -> Keyring {
        install_provider();
        let entry = Entry::own(&key);
        Keyring {
            inner: Arc::new(Inner {
                active: Some(Active::new(key)),
                entries: vec![entry],
            }),
        }
    }

    /// A keyring that only verifies (add keys with [`Keyring::with_verifying_key`] or
    /// [`Keyring::with_jwks`]).
    pub fn verify_only() -> Keyring {
        install_provider();
        Keyring {
            inner: Arc::new(Inner::default()),
        }
    }

    /// Makes `next` the active key. The previous active key keeps verifying until
    /// `retire_previous_at` (seconds since the epoch), so tokens in flight survive.
    pub fn rotate(
        &self,
        next: SigningKey,
        retire_previous_at: i64,
    ) -> Result<Keyring, KeyringError> {
        let mut entries = self.inner.entries.clone();
        if let Some(active) = &self.inner.active
            && let Some(e) = entries.iter_mut().find(|e| e.key.kid() == active.key.kid())
        {
            // Never extend an earlier retirement (a key retired for a leak stays retired).
            e.retire_at = Some(
                e.retire_at
                    .map_or(retire_previous_at, |t| t.min(retire_previous_at)),
            );
        }
        check_unique(&entries, next.verifying_key())?;
        entries.push(Entry::own(&next));
        Ok(Keyring {
            inner: Arc::new(Inner {
                active: Some(Active::new(next)),
                entries,
            }),
        })
    }

    /// Adds a key that only verifies, bound to `issuer`: a token it verifies must carry
    /// exactly that `iss` (RFC 8725 §3.8), or it is refused with `key_issuer_mismatch`.
    /// Another issuer's key can therefore never speak for us, nor for a third issuer.
    ///
    /// Key ids are unique, except that one key may be added once per algorithm it is
    /// bound to (see [`VerifyingKey::from_jwk_for`]): a token's `kid` then selects the
    /// key and its `alg` selects among that key's bindings.
    pub fn with_verifying_key(
        &self,
        key: VerifyingKey,
        issuer: &str,
    ) -> Result<Keyring, KeyringError> {
        self.add_verifying_key(key, Bound::Issuer(issuer.into()))
    }

    /// Adds a key that only verifies and is bound to **no** issuer: it verifies tokens
    /// whatever their `iss` (the validation's own issuer check still applies). For
    /// inspection tools that verify one token against keys of unknown provenance; never
    /// mix such a key with keys of other issuers.
    pub fn dangerous_with_unbound_key(&self, key: VerifyingKey) -> Result<Keyring, KeyringError> {
        self.add_verifying_key(key, Bound::Any)
    }

    fn add_verifying_key(&self, key: VerifyingKey, issuer: Bound) -> Result<Keyring, KeyringError> {
        check_unique(&self.inner.entries, &key)?;
        let mut entries = self.inner.entries.clone();
        entries.push(Entry::external(key, issuer));
        Ok(self.replace_entries(entries))
    }

    /// Adds the keys of `issuer`'s JWKS document, each bound to `issuer` (see
    /// [`Keyring::with_verifying_key`]). Keys that are unknown, unsupported, not for
    /// signatures, duplicates, or shared secrets (`oct`: a secret in a published document
    /// lets anyone forge tokens) are skipped and reported; the others load.
    pub fn with_jwks(
        &self,
        json: &[u8],
        issuer: &str,
    ) -> Result<(Keyring, JwksReport), KeyringError> {
        self.with_jwks_for(json, issuer, &[])
    }

    /// [`Keyring::with_jwks`], binding keys that carry no `alg` to the `allowed`
    /// algorithms that fit them ([`VerifyingKey::from_jwk_for`]): identity providers
    /// often publish RSA keys without `alg`, which then verify each allowed RSA
    /// algorithm (and nothing else). Pass the verifier's allowed algorithms. With
    /// `allowed` empty, such RSA keys are skipped, as by [`Keyring::with_jwks`]; keys
    /// that fit none of `allowed` are skipped and reported.
    pub fn with_jwks_for(
        &self,
        json: &[u8],
        issuer: &str,
        allowed: &[Algorithm],
    ) -> Result<(Keyring, JwksReport), KeyringError> {
        #[derive(serde::Deserialize)]
        struct Doc {
            keys: Vec<serde_json::Value>,
        }
        let bound: Arc<str> = issuer.into();
        let doc: Doc = serde_json::from_slice(json).map_err(|_| KeyringError::NotJwks)?;
        let mut entries = self.inner.entries.clone();
        let mut report = JwksReport::default();
        for (i, value) in doc.keys.into_iter().enumerate() {
            let label = value
                .get("kid")
                .and_then(|k| k.as_str())
                .map_or_else(|| format!("#{i}"), str::to_owned);
            let keys = serde_json::from_value::<Jwk>(value)
                .map_err(|_| KeyError::Malformed("JWK"))
                .and_then(|jwk| {
                    if jwk.kty == "oct" {
                        return Err(KeyError::UnsupportedKeyType(
                            "oct (a shared secret) in a JWKS".into(),
                        ));
                    }
                    VerifyingKey::from_jwk_for(&jwk, allowed)
                });
            let keys = match keys {
                Ok(keys) => keys,
                Err(e) => {
                    report.skipped.push((label, e.to_string()));
                    continue;
                }
            };
            // One key may sit under its kid once per algorithm it is bound to; another
            // key under a kid already taken is a duplicate.
            if keys.iter().any(|key| check_unique(&entries, key).is_err()) {
                report.skipped.push((label, "duplicate kid".to_owned()));
                continue;
            }
            for key in keys {
                if !report.loaded.iter().any(|k| k == key.kid()) {
                    report.loaded.push(key.kid().to_owned());
                }
                entries.push(Entry::external(key, Bound::Issuer(Arc::clone(&bound))));
            }
        }
        Ok((self.replace_entries(entries), report))
    }

    /// Stops `kid` verifying at `at` (seconds since the epoch), or earlier if it was
    /// already set to retire earlier.
    pub fn retire(&self, kid: &str, at: i64) -> Keyring {
        let mut entries = self.inner.entries.clone();
        for e in entries.iter_mut().filter(|e| e.key.kid() == kid) {
            e.retire_at = Some(e.retire_at.map_or(at, |t| t.min(at)));
        }
        self.replace_entries(entries)
    }

    fn replace_entries(&self, entries: Vec<Entry>) -> Keyring {
        Keyring {
            inner: Arc::new(Inner {
                active: self
                    .inner
                    .active
                    .as_ref()
                    .map(|a| Active::new(a.key.clone())),
                entries,
            }),
        }
    }

    /// The key that signs new tokens.
    pub fn signing_key(&self) -> Option<&SigningKey> {
        self.inner.active.as_ref().map(|a| &a.key)
    }

    pub(crate) fn active(&self) -> Option<&Active> {
        self.inner.active.as_ref()
    }

    /// Every key that verifies, with its retirement instant if it has one.
    pub fn verifying_keys(&self) -> impl Iterator<Item = (&VerifyingKey, Option<i64>)> {
        self.inner.entries.iter().map(|e| (&e.key, e.retire_at))
    }

    /// The public JWKS to publish: our own asymmetric keys (active and retiring), never
    /// `oct` keys, never private members, never other issuers' keys.
    pub fn public_jwks(&self) -> JwkSet {
        JwkSet {
            keys: self
                .inner
                .entries
                .iter()
                .filter(|e| matches!(e.issuer, Bound::Own))
                .filter_map(|e| e.key.to_public_jwk())
                .collect(),
        }
    }

    /// Picks the key for a token: by `kid`, or, without one, the only key with `alg`.
    /// The key decides the algorithm: among the entries with the token's `kid` (one key
    /// bound to one or more algorithms), the one bound to `alg`; none is a mismatch.
    pub(crate) fn select(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        now: i64,
    ) -> Result<&VerifyingKey, JwtErrorKind> {
        let entries = &self.inner.entries;
        let entry = if let Some(kid) = kid {
            let mut with_kid = entries.iter().filter(|e| e.key.kid() == kid).peekable();
            if with_kid.peek().is_none() {
                return Err(JwtErrorKind::UnknownKey);
            }
            with_kid
                .find(|e| e.key.algorithm() == alg)
                .ok_or(JwtErrorKind::AlgorithmMismatch)?
        } else {
            let mut matching = entries.iter().filter(|e| e.key.algorithm() == alg);
            match (matching.next(), matching.next()) {
                (Some(only), None) => only,
                _ => return Err(JwtErrorKind::UnknownKey),
            }
        };
        entry.usable(now)
    }

    /// The issuer binding of `key`, a key this keyring selected (compared by identity,
    /// not by material). `None` if it is not one of this keyring's keys.
    pub(crate) fn issuer_of(&self, key: &VerifyingKey) -> Option<KeyIssuer<'_>> {
        let entry = self.inner.entries.iter().find(|e| e.key.is_same(key))?;
        Some(match &entry.issuer {
            Bound::Own => KeyIssuer::Own,
            Bound::Issuer(iss) => KeyIssuer::Issuer(iss),
            Bound::Any => KeyIssuer::Any,
        })
    }

    /// Whether `key` is one of our own keys in this keyring (active or retiring; by
    /// identity, not by material), and so verified a token we minted.
    pub(crate) fn is_own(&self, key: &VerifyingKey) -> bool {
        self.issuer_of(key) == Some(KeyIssuer::Own)
    }

    /// The fast path: the key whose minted header is exactly `header_b64`, if any.
    pub(crate) fn select_minted(
        &self,
        header_b64: &str,
        now: i64,
    ) -> Option<Result<&VerifyingKey, JwtErrorKind>> {
        self.inner
            .entries
            .iter()
            .find(|e| e.minted_header.as_deref() == Some(header_b64))
            .map(|e| e.usable(now))
    }
}

impl Entry {
    fn own(key: &SigningKey) -> Entry {
        Entry {
            key: key.verifying_key().clone(),
            minted_header: Some(minted_header(key)),
            retire_at: None,
            issuer: Bound::Own,
        }
    }

    fn external(key: VerifyingKey, issuer: Bound) -> Entry {
        Entry {
            key,
            minted_header: None,
            retire_at: None,
            issuer,
        }
    }

    fn usable(&self, now: i64) -> Result<&VerifyingKey, JwtErrorKind> {
        if self.retire_at.is_some_and(|at| now >= at) {
            return Err(JwtErrorKind::KeyRetired);
        }
        Ok(&self.key)
    }
}

/// The encoded protected header of tokens minted with `key`.
fn minted_header(key: &SigningKey) -> String {
    // serde_json's map keeps keys sorted, so this encoding is deterministic.
    let header = serde_json::json!({
        "alg": key.algorithm().name(),
        "kid": key.kid(),
        "typ": MINTED_TYP,
    });
    jose::b64::encode(header.to_string().as_bytes())
}

/// The `typ` our minter writes (RFC 9068).
pub(crate) const MINTED_TYP: &str = "at+jwt";

/// Refuses a second key under `key`'s id, unless it is the same key material bound to
/// another algorithm.
fn check_unique(entries: &[Entry], key: &VerifyingKey) -> Result<(), KeyringError> {
    let clash = |e: &Entry| {
        e.key.kid() == key.kid()
            && (e.key.algorithm() == key.algorithm() || !e.key.same_material(key))
    };
    if entries.iter().any(clash) {
        return Err(KeyringError::DuplicateKid(key.kid().to_owned()));
    }
    Ok(())
}

impl Active {
    fn new(key: SigningKey) -> Active {
        let header_b64 = minted_header(&key);
        Active { key, header_b64 }
    }
}

impl fmt::Debug for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Own => f.write_str("own"),
            Bound::Issuer(iss) => fmt::Debug::fmt(iss, f),
            Bound::Any => f.write_str("unbound"),
        }
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("active", &self.signing_key().map(SigningKey::kid))
            .field(
                "keys",
                &self
                    .inner
                    .entries
                    .iter()
                    .map(|e| (e.key.kid(), e.key.algorithm(), e.retire_at, &e.issuer))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A [`Keyring`] that can be replaced while verifiers use it: give it to
/// [`super::Verifier::with_shared_keyring`], then [`SharedKeyring::store`] a rotated
/// keyring or a refreshed remote JWKS and every clone of that verifier uses it from
/// the next verification on.
#[derive(Clone)]
pub struct SharedKeyring {
    inner: Arc<std::sync::RwLock<Keyring>>,
}

impl SharedKeyring {
    /// Starts with `keyring`.
    pub fn new(keyring: Keyring) -> Self {
        SharedKeyring {
            inner: Arc::new(std::sync::RwLock::new(keyring)),
        }
    }

    /// The current keyring (a cheap clone).
    pub fn load(&self) -> Keyring {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces the keyring.
    pub fn store(&self, keyring: Keyring) {
        *self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = keyring;
    }
}

impl fmt::Debug for SharedKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedKeyring").field(&self.load()).finish()
    }
}
