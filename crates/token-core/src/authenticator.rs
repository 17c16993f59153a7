//! `Authenticator`: one entry point from a raw credential to a `Principal`.

use std::fmt;

use std::sync::Arc;

use crate::apikey::{
    ApiKeyError, ApiKeyErrorKind, ApiKeys, Charge, Checked, KeyRef, KeyStore, MemoryKeyStore,
};
use crate::jwt::{JwtErrorKind, Verified, Verifier};
use crate::principal::{Principal, PrincipalKind};

/// The longest credential looked at, in bytes (JWTs are refused past their own,
/// configurable limit first).
pub const MAX_CREDENTIAL_LEN: usize = 16 * 1024;

/// The kinds of credential an [`Authenticator`] can accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialKind {
    /// An API key (recognised by an accepted prefix).
    ApiKey,
    /// A JWT access token (recognised by its three-part shape).
    Jwt,
}

/// A refused credential, with a stable reason code shared by every kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct AuthError {
    kind: AuthErrorKind,
    key: Option<Arc<KeyRef>>,
}

/// The kinds of [`AuthError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// Neither an API key nor a JWT (or longer than [`MAX_CREDENTIAL_LEN`]).
    #[error("credential not recognised")]
    Malformed,
    /// A kind of credential this service does not accept.
    #[error("this kind of credential is not accepted here")]
    NotAccepted(CredentialKind),
    /// The API key was refused.
    #[error("{0}")]
    ApiKey(ApiKeyErrorKind),
    /// The JWT was refused.
    #[error("{0}")]
    Jwt(JwtErrorKind),
}

impl AuthError {
    /// What went wrong.
    pub fn kind(&self) -> &AuthErrorKind {
        &self.kind
    }

    /// The API key refused, when it exists (revoked, rotated, expired, out of
    /// credits): its id and display hint, never the key.
    pub fn key(&self) -> Option<&KeyRef> {
        self.key.as_deref()
    }

    /// The stable reason code (the API-key and JWT codes, plus `credential_malformed`
    /// and `credential_not_accepted`).
    pub fn code(&self) -> &'static str {
        match &self.kind {
            AuthErrorKind::Malformed => "credential_malformed",
            AuthErrorKind::NotAccepted(_) => "credential_not_accepted",
            AuthErrorKind::ApiKey(k) => k.code(),
            AuthErrorKind::Jwt(k) => k.code(),
        }
    }

    /// Whether a backend failed (map to 503, not 401).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self.kind,
            AuthErrorKind::ApiKey(ApiKeyErrorKind::StoreUnavailable)
        )
    }
}

impl From<AuthErrorKind> for AuthError {
    fn from(kind: AuthErrorKind) -> Self {
        AuthError { kind, key: None }
    }
}

impl From<ApiKeyError> for AuthError {
    fn from(e: ApiKeyError) -> Self {
        AuthError {
            kind: AuthErrorKind::ApiKey(e.kind()),
            key: e.key().cloned(),
        }
    }
}

/// Turns a raw credential into a [`Principal`]: API keys by prefix, JWTs by shape.
/// Which kinds are accepted is configuration: a kind not configured is refused.
pub struct Authenticator<S = MemoryKeyStore> {
    api_keys: Option<ApiKeys<S>>,
    jwt: Option<Verifier>,
}

impl<S> Clone for Authenticator<S> {
    fn clone(&self) -> Self {
        Authenticator {
            api_keys: self.api_keys.clone(),
            jwt: self.jwt.clone(),
        }
    }
}

impl<S: KeyStore> Default for Authenticator<S> {
    fn default() -> Self {
        Authenticator {
            api_keys: None,
            jwt: None,
        }
    }
}

/// An authenticator that accepts these API keys (and nothing else yet).
impl<S: KeyStore> From<ApiKeys<S>> for Authenticator<S> {
    fn from(keys: ApiKeys<S>) -> Self {
        Authenticator::new().api_keys(keys)
    }
}

impl<S: KeyStore> Authenticator<S> {
    /// Accepts nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts API keys.
    #[must_use]
    pub fn api_keys(mut self, keys: ApiKeys<S>) -> Self {
        self.api_keys = Some(keys);
        self
    }

    /// Accepts JWT access tokens.
    #[must_use]
    pub fn jwt(mut self, verifier: Verifier) -> Self {
        self.jwt = Some(verifier);
        self
    }

    /// The API keys, if accepted.
    pub fn api_key_service(&self) -> Option<&ApiKeys<S>> {
        self.api_keys.as_ref()
    }

    /// The JWT verifier, if accepted.
    pub fn verifier(&self) -> Option<&Verifier> {
        self.jwt.as_ref()
    }

    /// Says what kind of credential `raw` is, cheaply and without any lookup.
    pub fn recognize(&self, raw: &str) -> Result<CredentialKind, AuthError> {
        if raw.is_empty() || raw.len() > MAX_CREDENTIAL_LEN {
            return Err(AuthErrorKind::Malformed.into());
        }
        if let Some(keys) = &self.api_keys
            && keys.format().claims(raw)
        {
            return Ok(CredentialKind::ApiKey);
        }
        if looks_like_jwt(raw) {
            return if self.jwt.is_some() {
                Ok(CredentialKind::Jwt)
            } else {
                Err(AuthErrorKind::NotAccepted(CredentialKind::Jwt).into())
            };
        }
        if crate::apikey::check(raw).is_ok() {
            // A real-looking key with a prefix this service does not accept.
            return Err(match &self.api_keys {
                Some(_) => AuthErrorKind::ApiKey(ApiKeyErrorKind::Format(
                    crate::apikey::FormatError::UnknownPrefix,
                )),
                None => AuthErrorKind::NotAccepted(CredentialKind::ApiKey),
            }
            .into());
        }
        Err(AuthErrorKind::Malformed.into())
    }

    /// Authenticates a raw credential (the value after `Bearer `, or the API-key
    /// header's value) and takes a metered key's use: [`Authenticator::check`], then
    /// [`Authenticator::charge`]. For callers with no checks of their own afterwards.
    pub async fn authenticate(&self, raw: &str) -> Result<Principal, AuthError> {
        let (principal, charge) = self.check(raw).await?.into_parts();
        if let Some(charge) = charge {
            self.charge(charge).await?;
        }
        Ok(principal)
    }

    /// [`Authenticator::authenticate`] without a future when no I/O is needed: JWTs
    /// (verification is pure computation) and unmetered API keys answered by the
    /// cache. `None` means "call `authenticate`".
    pub fn authenticate_now(&self, raw: &str) -> Option<Result<Principal, AuthError>> {
        match self.check_now(raw)? {
            Ok(checked) if checked.charge().is_some() => None,
            answer => Some(answer.map(|c| c.into_parts().0)),
        }
    }

    /// Checks a raw credential without taking anything: a metered API key comes back
    /// with the [`Charge`] it owes. Middleware runs its own checks (network, policy,
    /// rate limit) next and calls [`Authenticator::charge`] last, so a request that any
    /// check refuses costs no credit.
    pub async fn check(&self, raw: &str) -> Result<Checked, AuthError> {
        match (self.recognize(raw)?, &self.api_keys, &self.jwt) {
            (CredentialKind::ApiKey, Some(keys), _) => {
                keys.check(raw).await.map_err(AuthError::from)
            }
            (CredentialKind::Jwt, _, Some(verifier)) => {
                verify_jwt(verifier, raw).map(Checked::free)
            }
            (kind, _, _) => Err(AuthErrorKind::NotAccepted(kind).into()),
        }
    }

    /// [`Authenticator::check`] without a future when no I/O is needed: JWTs and API
    /// keys answered by the cache, metered ones included (their charge is owed, not
    /// taken). `None` means "call `check`". Middleware uses it to keep the hot path
    /// free of boxed futures.
    pub fn check_now(&self, raw: &str) -> Option<Result<Checked, AuthError>> {
        let kind = match self.recognize(raw) {
            Ok(kind) => kind,
            Err(e) => return Some(Err(e)),
        };
        match (kind, &self.api_keys, &self.jwt) {
            (CredentialKind::ApiKey, Some(keys), _) => {
                keys.check_cached(raw).map(|r| r.map_err(AuthError::from))
            }
            (CredentialKind::Jwt, _, Some(verifier)) => {
                Some(verify_jwt(verifier, raw).map(Checked::free))
            }
            (kind, _, _) => Some(Err(AuthErrorKind::NotAccepted(kind).into())),
        }
    }

    /// Takes the use a metered key owes ([`ApiKeys::charge`]): `usage_exceeded`
    /// (naming the key) when no credit is left, `store_unavailable` when the store
    /// fails.
    pub async fn charge(&self, charge: Charge) -> Result<(), AuthError> {
        let Some(keys) = &self.api_keys else {
            // Only API keys owe charges; one from elsewhere is refused, never waved.
            return Err(AuthErrorKind::NotAccepted(CredentialKind::ApiKey).into());
        };
        keys.charge(charge)
            .await
            .map(|_| ())
            .map_err(AuthError::from)
    }
}

fn verify_jwt(verifier: &Verifier, raw: &str) -> Result<Principal, AuthError> {
    verifier
        .verify_principal(raw, principal_from_jwt)
        .map_err(|e| AuthErrorKind::Jwt(e.kind().clone()).into())
}

/// Three base64url parts separated by dots, the first starting `eyJ` (`{"`) and the
/// second non-empty. One pass with one table lookup per byte: this runs on every
/// JWT-shaped request.
fn looks_like_jwt(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    if !bytes.starts_with(b"eyJ") {
        return false;
    }
    let mut dots = [0usize; 2];
    let mut seen = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'.' {
            let Some(slot) = dots.get_mut(seen) else {
                return false;
            };
            *slot = i;
            seen += 1;
        } else if !BASE64URL[usize::from(b)] {
            return false;
        }
    }
    seen == 2 && dots[1] > dots[0] + 1
}

/// The bytes of a compact JWS's parts: base64url (the dots are counted apart).
static BASE64URL: [bool; 256] = {
    let mut table = [false; 256];
    let mut c: u8 = 0;
    loop {
        table[c as usize] = c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
        if c == u8::MAX {
            break table;
        }
        c += 1;
    }
};

/// The principal a verified token names. A token without `sub` (or with an empty one)
/// names nobody and is refused (`missing_sub`), never turned into principal `""`.
fn principal_from_jwt(v: Verified) -> Result<Principal, JwtErrorKind> {
    let c = v.claims;
    let sub = c
        .sub
        .filter(|s| !s.is_empty())
        .ok_or(JwtErrorKind::MissingSubject)?;
    // A client-credentials token is issued to the client itself.
    let kind = if c.client_id.as_deref() == Some(sub.as_str()) {
        PrincipalKind::Client
    } else {
        PrincipalKind::AccessToken
    };
    Ok(Principal::builder(&sub, kind, c.scope)
        .tenant(c.tenant)
        .key_id(Some(v.key.kid().to_owned()))
        .client_id(c.client_id)
        .expires_at(Some(c.exp))
        .build())
}

impl<S> fmt::Debug for Authenticator<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("api_keys", &self.api_keys.is_some())
            .field("jwt", &self.jwt.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The shape rule, written the obvious way.
    fn reference(raw: &str) -> bool {
        let parts: Vec<&str> = raw.split('.').collect();
        parts.len() == 3
            && parts[0].starts_with("eyJ")
            && !parts[1].is_empty()
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    }

    #[test]
    fn jwt_shapes() {
        for (raw, want) in [
            ("eyJa.b.c", true),
            ("eyJa.b.", true),
            ("eyJa..c", false),
            ("eyJa.b", false),
            ("eyJa.b.c.d", false),
            ("eyJ+.b.c", false),
            ("eyJa.b.c=", false),
            ("eyI.b.c", false),
            ("", false),
            ("tk_live_abc", false),
        ] {
            assert_eq!(looks_like_jwt(raw), want, "{raw}");
            assert_eq!(reference(raw), want, "{raw}");
        }
    }

    proptest! {
        #[test]
        fn the_one_pass_check_agrees_with_the_rule(
            body in "[a-zA-Z0-9._+/= -]{0,40}",
            prefixed in any::<bool>(),
        ) {
            let raw = if prefixed { format!("eyJ{body}") } else { body };
            prop_assert_eq!(looks_like_jwt(&raw), reference(&raw));
        }
    }
}
