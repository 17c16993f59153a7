//! Verification: the key decides the algorithm, then one typed pass over the claims.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::cache::{Entry, TokenCache};
use super::claims::{self, AccessClaims, NoExtra};
use super::header::Header;
use super::keyring::{KeyIssuer, MINTED_TYP, SharedKeyring};
use super::{JwtError, JwtErrorKind, Keyring, RevocationStore};
use crate::clock::{Clock, SystemClock};
use crate::jose::{Algorithm, KeyIdentity, VerifyingKey, b64};
use crate::principal::Principal;

/// The longest leeway that may be configured: 5 minutes.
pub const MAX_LEEWAY_SECS: i64 = 300;

/// What a verifier checks besides the signature. Build with [`Validation::builder`].
///
/// Defaults: `exp` required, 30 s leeway, tokens of at most 8 KiB, lifetime at most
/// 24 hours, tenant claim `tid`, `typ` not required. The issuer and the audience must
/// each be set, or waived with a loudly named `dangerous_*` call.
#[derive(Debug, Clone)]
pub struct Validation {
    issuer: Option<String>,
    audience: Option<String>,
    typ: Option<String>,
    leeway: i64,
    max_lifetime: Option<i64>,
    algorithms: Option<Vec<Algorithm>>,
    max_token_len: usize,
    tenant_claim: String,
}

/// Builds a [`Validation`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ValidationBuilder {
    v: Validation,
    issuer_chosen: bool,
    audience_chosen: bool,
}

/// A [`Validation`] that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// Neither `issuer` nor `dangerous_any_issuer` was called.
    #[error("set the expected issuer, or call dangerous_any_issuer()")]
    IssuerUnset,
    /// Neither `audience` nor `dangerous_any_audience` was called.
    #[error("set the expected audience, or call dangerous_any_audience()")]
    AudienceUnset,
    /// Leeway above [`MAX_LEEWAY_SECS`] or negative.
    #[error("leeway must be between 0 and {MAX_LEEWAY_SECS} seconds")]
    Leeway,
    /// The tenant claim name is empty or a registered claim name.
    #[error("the tenant claim must be a non-empty, unregistered claim name")]
    TenantClaim,
}

impl Validation {
    /// Starts a validation.
    pub fn builder() -> ValidationBuilder {
        ValidationBuilder {
            v: Validation {
                issuer: None,
                audience: None,
                typ: None,
                leeway: 30,
                max_lifetime: Some(24 * 3600),
                algorithms: None,
                max_token_len: 8 * 1024,
                tenant_claim: "tid".to_owned(),
            },
            issuer_chosen: false,
            audience_chosen: false,
        }
    }

    /// The usual validation for RFC 9068 access tokens: this issuer and audience, and
    /// `typ: at+jwt`.
    pub fn access_tokens(issuer: &str, audience: &str) -> Validation {
        Validation {
            issuer: Some(issuer.to_owned()),
            audience: Some(audience.to_owned()),
            typ: Some("at+jwt".to_owned()),
            ..Validation::builder().v
        }
    }

    /// The name of the tenant claim.
    pub fn tenant_claim(&self) -> &str {
        &self.tenant_claim
    }

    /// The largest token accepted, in bytes.
    pub fn max_token_len(&self) -> usize {
        self.max_token_len
    }
}

impl ValidationBuilder {
    /// The required `iss`, compared exactly.
    pub fn issuer(mut self, issuer: &str) -> Self {
        self.v.issuer = Some(issuer.to_owned());
        self.issuer_chosen = true;
        self
    }

    /// Accepts any issuer that the verifying key is bound to: another issuer's key still
    /// verifies only tokens carrying that issuer's `iss` (see
    /// [`Keyring::with_verifying_key`]), but our own keys are then bound to no particular
    /// issuer. For verifiers of several issuers' tokens, and inspection tools.
    pub fn dangerous_any_issuer(mut self) -> Self {
        self.v.issuer = None;
        self.issuer_chosen = true;
        self
    }

    /// The audience that `aud` must contain.
    pub fn audience(mut self, audience: &str) -> Self {
        self.v.audience = Some(audience.to_owned());
        self.audience_chosen = true;
        self
    }

    /// Accepts any audience (RFC 8725 §3.9 warns against this).
    pub fn dangerous_any_audience(mut self) -> Self {
        self.v.audience = None;
        self.audience_chosen = true;
        self
    }

    /// Requires `typ` (compared case-insensitively; `application/` optional).
    pub fn typ(mut self, typ: &str) -> Self {
        self.v.typ = Some(typ.to_owned());
        self
    }

    /// Clock-skew allowance, at most [`MAX_LEEWAY_SECS`].
    pub fn leeway_secs(mut self, secs: i64) -> Self {
        self.v.leeway = secs;
        self
    }

    /// The longest allowed `exp - iat` (or `exp - now` without `iat`); `None` for no cap.
    pub fn max_lifetime_secs(mut self, secs: Option<i64>) -> Self {
        self.v.max_lifetime = secs;
        self
    }

    /// Restricts the algorithms accepted (the keys' own algorithms still decide).
    pub fn algorithms(mut self, algs: &[Algorithm]) -> Self {
        self.v.algorithms = Some(algs.to_vec());
        self
    }

    /// The largest token accepted, in bytes (default 8 KiB).
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.v.max_token_len = bytes;
        self
    }

    /// The claim that carries the tenant (default `tid`).
    pub fn tenant_claim(mut self, name: &str) -> Self {
        name.clone_into(&mut self.v.tenant_claim);
        self
    }

    /// Checks the configuration.
    pub fn build(self) -> Result<Validation, ValidationError> {
        if !self.issuer_chosen {
            return Err(ValidationError::IssuerUnset);
        }
        if !self.audience_chosen {
            return Err(ValidationError::AudienceUnset);
        }
        if !(0..=MAX_LEEWAY_SECS).contains(&self.v.leeway) {
            return Err(ValidationError::Leeway);
        }
        let claim = self.v.tenant_claim.as_str();
        if claim.is_empty() || claims::REGISTERED.contains(&claim) {
            return Err(ValidationError::TenantClaim);
        }
        Ok(self.v)
    }
}

/// A verified token: its claims and the key that signed it. Only a [`Verifier`] makes
/// one, so [`super::Minter::downscope`] can trust which key verified it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Verified<E = NoExtra> {
    /// The claims.
    pub claims: AccessClaims<E>,
    /// The key that verified the signature (see its `kid()` and `algorithm()`).
    pub key: VerifyingKey,
}

/// Verifies tokens against a keyring. Does no I/O.
///
/// ```
/// use token_core::jose::{Algorithm, SigningKey};
/// use token_core::jwt::{AccessTokenRequest, Keyring, Minter, Validation, Verifier};
///
/// let keyring = Keyring::new(SigningKey::generate(Algorithm::EdDSA)?);
/// let minter = Minter::new(keyring.clone(), "https://issuer.example");
/// let token = minter.mint(&AccessTokenRequest::new("user-1", "api").scope("read:reports".parse()?))?;
///
/// let verifier = Verifier::new(keyring, Validation::access_tokens("https://issuer.example", "api"));
/// let verified = verifier.verify(&token)?;
/// assert_eq!(verified.claims.sub.as_deref(), Some("user-1"));
/// assert!(verifier.verify(&token.replace('.', "x")).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    keyring: Keyring,
    shared: Option<SharedKeyring>,
    cache: Option<Arc<TokenCache>>,
    validation: Validation,
    clock: Arc<dyn Clock>,
    revocation: Option<Arc<dyn RevocationStore>>,
}

impl Verifier {
    /// A verifier using the system clock and no revocation store.
    pub fn new(keyring: Keyring, validation: Validation) -> Verifier {
        Verifier {
            keyring,
            shared: None,
            cache: None,
            validation,
            clock: Arc::new(SystemClock),
            revocation: None,
        }
    }

    /// Uses another clock (a [`crate::ManualClock`] in tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The revocation store, if any: revoke a token's `(iss, jti)` here and this
    /// verifier refuses it from the next call on.
    pub fn revocation_store(&self) -> Option<&Arc<dyn RevocationStore>> {
        self.revocation.as_ref()
    }

    /// Checks each token's `(iss, jti)` against a revocation store; tokens without `iss`
    /// or `jti` are then refused, since they could never be revoked.
    #[must_use]
    pub fn with_revocation(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.revocation = Some(store);
        self
    }

    /// Uses another keyring (after a rotation).
    #[must_use]
    pub fn with_keyring(mut self, keyring: Keyring) -> Self {
        self.keyring = keyring;
        self.shared = None;
        self
    }

    /// Verifies with whatever keyring `shared` holds at each call, so keys can be
    /// replaced while this verifier (and its clones) are in use: a remote issuer's
    /// refreshed JWKS, an in-process rotation. Costs a read lock and a reference
    /// count per verification.
    #[must_use]
    pub fn with_shared_keyring(mut self, shared: SharedKeyring) -> Self {
        self.keyring = shared.load();
        self.shared = Some(shared);
        self
    }

    /// Remembers up to `capacity` verified tokens (by SHA-256, never their text), so
    /// a token presented again costs a hash and a lookup instead of a signature check
    /// and a parse, in [`crate::Authenticator`]. A remembered token is accepted only if
    /// the very key that verified it is still the one selected for its header now, and
    /// its claims pass every check again at the current time (expiry, not-before,
    /// issuer, audience, lifetime, revocation); otherwise it is verified in full. At most
    /// `capacity` tokens, rounded up to a multiple of 16, are held; each holds its
    /// decoded claims and the principal made from them (about twice the claims: under
    /// 2 KiB for typical tokens, more for tokens with hundreds of scopes).
    #[must_use]
    pub fn with_cache(mut self, capacity: usize) -> Self {
        self.cache = (capacity > 0).then(|| Arc::new(TokenCache::new(capacity)));
        self
    }

    /// How many verified tokens are remembered (0 without a cache).
    pub fn cached_tokens(&self) -> usize {
        self.cache.as_ref().map_or(0, |c| c.len())
    }

    /// How many verifications the cache answered (0 without a cache).
    pub fn cache_hits(&self) -> u64 {
        self.cache.as_ref().map_or(0, |c| c.hits())
    }

    /// Verifies `token` into a [`Principal`] (made by `make`, which may still refuse
    /// it), through the cache when there is one: a hit returns the remembered principal
    /// without verifying again, under the conditions of [`Verifier::with_cache`]. The
    /// cache holds what `make` built first (never a refusal), so every caller must pass
    /// the same `make` (the authenticator's).
    pub(crate) fn verify_principal(
        &self,
        token: &str,
        make: impl FnOnce(Verified) -> Result<Principal, JwtErrorKind>,
    ) -> Result<Principal, JwtError> {
        let now = self.clock.now();
        let Some(cache) = self
            .cache
            .as_ref()
            .filter(|_| token.len() <= self.validation.max_token_len)
        else {
            return Ok(make(self.verify_at(token, now)?)?);
        };
        let digest = TokenCache::digest(token);
        if let Some(hit) = cache.get(&digest) {
            if self.still_verifies(&hit, token, now) {
                cache.count_hit();
                return Ok(hit.principal.clone());
            }
            cache.remove(&digest);
        }
        let verified: Verified = self.verify_at(token, now)?;
        let (claims, key) = (verified.claims.clone(), KeyIdentity::of(&verified.key));
        let principal = make(verified)?;
        let entry = Entry {
            claims,
            key,
            principal: principal.clone(),
        };
        cache.insert(digest, entry, now);
        Ok(principal)
    }

    /// Whether a remembered token would verify now: the header selects the very same
    /// key (the same selection code as a full verification), and the claims pass.
    fn still_verifies(&self, hit: &Entry, token: &str, now: i64) -> bool {
        let keyring = self.current_keyring();
        let header_b64 = token.split('.').next().unwrap_or_default();
        select_key(&keyring, header_b64, now).is_ok_and(|(k, _)| {
            hit.key.is(k)
                && keyring
                    .issuer_of(k)
                    .is_some_and(|bound| self.check_claims(&hit.claims, bound, now).is_ok())
        })
    }

    /// The keyring (its current content, for a shared keyring).
    pub fn keyring(&self) -> Keyring {
        self.current_keyring().into_owned()
    }

    /// The keyring to verify with now: ours, or the shared one's current content.
    fn current_keyring(&self) -> Cow<'_, Keyring> {
        match &self.shared {
            Some(shared) => Cow::Owned(shared.load()),
            None => Cow::Borrowed(&self.keyring),
        }
    }

    /// The validation settings.
    pub fn validation(&self) -> &Validation {
        &self.validation
    }

    /// Verifies a compact JWS access token; members beyond the RFC 9068 claims are
    /// ignored.
    pub fn verify(&self, token: &str) -> Result<Verified, JwtError> {
        self.verify_at(token, self.clock.now())
    }

    /// Verifies a token and parses its other members into `E`, in the same pass.
    pub fn verify_as<E: DeserializeOwned + 'static>(
        &self,
        token: &str,
    ) -> Result<Verified<E>, JwtError> {
        self.verify_at(token, self.clock.now())
    }

    fn verify_at<E: DeserializeOwned + 'static>(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Verified<E>, JwtError> {
        let v = &self.validation;
        if token.len() > v.max_token_len {
            return Err(JwtErrorKind::TooLarge {
                max: v.max_token_len,
            }
            .into());
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtErrorKind::Malformed("not three dot-separated parts").into());
        };
        let keyring = self.current_keyring();
        let (key, typ) = select_key(&keyring, header_b64, now)?;
        let bound = keyring.issuer_of(key).ok_or(JwtErrorKind::UnknownKey)?;
        let alg = key.algorithm();
        if v.algorithms
            .as_ref()
            .is_some_and(|allowed| !allowed.contains(&alg))
        {
            return Err(JwtErrorKind::AlgorithmNotAllowed.into());
        }
        let signature =
            b64::decode(sig_b64).ok_or(JwtErrorKind::Malformed("signature is not base64url"))?;
        let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
        if !key.verify(signed.as_bytes(), &signature) {
            return Err(JwtErrorKind::BadSignature.into());
        }
        // Only now, with the signature checked, is the payload parsed.
        if let Some(want) = &v.typ {
            let got = typ.as_deref().ok_or(JwtErrorKind::WrongType)?;
            if !media_type_eq(got, want) {
                return Err(JwtErrorKind::WrongType.into());
            }
        }
        let payload =
            b64::decode(payload_b64).ok_or(JwtErrorKind::Malformed("payload is not base64url"))?;
        let claims = claims::parse::<E>(&payload, &v.tenant_claim)?;
        self.check_claims(&claims, bound, now)?;
        Ok(Verified {
            key: key.clone(),
            claims,
        })
    }
}

/// The key a token's header selects, and the header's `typ`: our own minted header
/// byte for byte (its meaning known without decoding), or the general path.
fn select_key<'k>(
    keyring: &'k Keyring,
    header_b64: &str,
    now: i64,
) -> Result<(&'k VerifyingKey, Option<Cow<'static, str>>), JwtErrorKind> {
    match keyring.select_minted(header_b64, now) {
        Some(key) => Ok((key?, Some(Cow::Borrowed(MINTED_TYP)))),
        None => decode_header(keyring, header_b64, now),
    }
}

/// The general path: decode and parse the header, refuse `none`, select the key.
fn decode_header<'k>(
    keyring: &'k Keyring,
    header_b64: &str,
    now: i64,
) -> Result<(&'k VerifyingKey, Option<Cow<'static, str>>), JwtErrorKind> {
    {
        let header_json =
            b64::decode(header_b64).ok_or(JwtErrorKind::Malformed("header is not base64url"))?;
        let header = Header::parse(&header_json)?;
        let alg_name = header
            .alg
            .as_deref()
            .ok_or(JwtErrorKind::MissingClaim("alg"))?;
        if alg_name.eq_ignore_ascii_case("none") {
            return Err(JwtErrorKind::AlgorithmNone);
        }
        let alg = Algorithm::from_name(alg_name).ok_or(JwtErrorKind::UnsupportedAlgorithm)?;
        let key = keyring.select(header.kid.as_deref(), alg, now)?;
        Ok((key, header.typ.map(|t| Cow::Owned(t.into_owned()))))
    }
}

impl Verifier {
    fn check_claims<E>(
        &self,
        c: &AccessClaims<E>,
        bound: KeyIssuer<'_>,
        now: i64,
    ) -> Result<(), JwtErrorKind> {
        let v = &self.validation;
        let leeway = v.leeway;
        // RFC 7519 §4.1.4: valid only *before* exp.
        if now >= c.exp.saturating_add(leeway) {
            return Err(JwtErrorKind::Expired);
        }
        if c.nbf.is_some_and(|nbf| now < nbf.saturating_sub(leeway)) {
            return Err(JwtErrorKind::NotYetValid);
        }
        if c.iat.is_some_and(|iat| iat > now.saturating_add(leeway)) {
            return Err(JwtErrorKind::IssuedInFuture);
        }
        if let Some(max) = v.max_lifetime {
            let start = c.iat.unwrap_or(now);
            if c.exp.saturating_sub(start) > max {
                return Err(JwtErrorKind::LifetimeTooLong);
            }
        }
        if let Some(iss) = &v.issuer
            && c.iss.as_deref() != Some(iss)
        {
            return Err(JwtErrorKind::WrongIssuer);
        }
        // RFC 8725 §3.8: the key must belong to the issuer the token names, so another
        // issuer's key can never speak for us (nor for a third issuer).
        if let KeyIssuer::Issuer(bound) = bound
            && c.iss.as_deref() != Some(bound)
        {
            return Err(JwtErrorKind::KeyIssuerMismatch);
        }
        if let Some(aud) = &v.audience
            && !c.aud.iter().any(|a| a == aud)
        {
            return Err(JwtErrorKind::WrongAudience);
        }
        if let Some(store) = &self.revocation {
            let jti = c.jti.as_deref().ok_or(JwtErrorKind::MissingClaim("jti"))?;
            // Revocations are per issuer: one issuer's jti never names another's token.
            let iss = c.iss.as_deref().ok_or(JwtErrorKind::MissingClaim("iss"))?;
            // A token stays acceptable until exp + leeway, so its revocation must too.
            if store.is_revoked(iss, jti, now.saturating_sub(leeway)) {
                return Err(JwtErrorKind::Revoked);
            }
        }
        Ok(())
    }
}

/// RFC 7515 §4.1.9: media types compare case-insensitively, and `application/` may be
/// left out.
fn media_type_eq(a: &str, b: &str) -> bool {
    fn strip(s: &str) -> &str {
        let prefix = "application/";
        match s.get(..prefix.len()) {
            Some(p) if p.eq_ignore_ascii_case(prefix) => &s[prefix.len()..],
            _ => s,
        }
    }
    strip(a).eq_ignore_ascii_case(strip(b))
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("keyring", &self.keyring)
            .field("validation", &self.validation)
            .field("revocation", &self.revocation.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::media_type_eq;

    #[test]
    fn typ_comparison() {
        assert!(media_type_eq("at+jwt", "at+JWT"));
        assert!(media_type_eq("application/at+jwt", "at+jwt"));
        assert!(media_type_eq("Application/AT+JWT", "at+jwt"));
        assert!(!media_type_eq("jwt", "at+jwt"));
        assert!(!media_type_eq("application/", "at+jwt"));
        // Only `application/` is optional: another twelve-byte prefix is not.
        assert!(!media_type_eq("example.com/at+jwt", "at+jwt"));
        assert!(!media_type_eq("at+jwt", "applicationXat+jwt"));
    }
}
