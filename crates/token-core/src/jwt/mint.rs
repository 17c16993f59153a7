//! Minting RFC 9068 access tokens with the keyring's active key.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use token_scopes::ScopeSet;

use super::claims::{AccessClaims, ClaimsOut, ClaimsView, NoExtra, REGISTERED, extra_members};
use super::{Keyring, MintError, Verified};
use crate::clock::{Clock, SystemClock};
use crate::jose::b64;

/// The default and maximum access-token lifetime: 15 minutes.
pub const DEFAULT_MAX_TTL_SECS: i64 = 15 * 60;

/// What to put in a new access token. `iss`, `iat`, `exp` and `jti` are filled in by
/// the [`Minter`].
#[derive(Debug, Clone)]
#[must_use]
pub struct AccessTokenRequest<E = NoExtra> {
    sub: String,
    audience: Vec<String>,
    scope: ScopeSet,
    client_id: Option<String>,
    tenant: Option<String>,
    ttl: Option<i64>,
    jti: Option<String>,
    extra: E,
}

impl AccessTokenRequest<NoExtra> {
    /// A token for `sub`, for the audience `aud`.
    pub fn new(sub: &str, aud: &str) -> Self {
        AccessTokenRequest {
            sub: sub.to_owned(),
            audience: vec![aud.to_owned()],
            scope: ScopeSet::new(),
            client_id: None,
            tenant: None,
            ttl: None,
            jti: None,
            extra: NoExtra,
        }
    }
}

impl<E> AccessTokenRequest<E> {
    /// Adds an audience.
    pub fn audience(mut self, aud: &str) -> Self {
        self.audience.push(aud.to_owned());
        self
    }

    /// The granted scopes.
    pub fn scope(mut self, scope: ScopeSet) -> Self {
        self.scope = scope;
        self
    }

    /// The OAuth client the token is issued to.
    pub fn client_id(mut self, client_id: &str) -> Self {
        self.client_id = Some(client_id.to_owned());
        self
    }

    /// The tenant.
    pub fn tenant(mut self, tenant: &str) -> Self {
        self.tenant = Some(tenant.to_owned());
        self
    }

    /// The lifetime in seconds; at most the minter's cap (default 15 minutes).
    pub fn ttl_secs(mut self, secs: i64) -> Self {
        self.ttl = Some(secs);
        self
    }

    /// A fixed token id (default: 128 random bits).
    pub fn jti(mut self, jti: &str) -> Self {
        self.jti = Some(jti.to_owned());
        self
    }

    /// The caller's own claims: a type that serializes to a JSON object whose names
    /// are not registered claims.
    pub fn extra<F>(self, extra: F) -> AccessTokenRequest<F> {
        AccessTokenRequest {
            sub: self.sub,
            audience: self.audience,
            scope: self.scope,
            client_id: self.client_id,
            tenant: self.tenant,
            ttl: self.ttl,
            jti: self.jti,
            extra,
        }
    }
}

/// Mints access tokens with a keyring's active key.
#[derive(Clone)]
pub struct Minter {
    keyring: Keyring,
    issuer: String,
    max_ttl: i64,
    tenant_claim: String,
    clock: Arc<dyn Clock>,
}

impl Minter {
    /// A minter for `issuer` with a 15-minute lifetime cap and tenant claim `tid`.
    pub fn new(keyring: Keyring, issuer: &str) -> Minter {
        Minter {
            keyring,
            issuer: issuer.to_owned(),
            max_ttl: DEFAULT_MAX_TTL_SECS,
            tenant_claim: "tid".to_owned(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Sets the lifetime cap (and the default lifetime), in seconds.
    #[must_use]
    pub fn max_ttl_secs(mut self, secs: i64) -> Self {
        self.max_ttl = secs;
        self
    }

    /// Names the tenant claim.
    #[must_use]
    pub fn tenant_claim(mut self, name: &str) -> Self {
        name.clone_into(&mut self.tenant_claim);
        self
    }

    /// Uses another clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses another keyring (after a rotation).
    #[must_use]
    pub fn with_keyring(mut self, keyring: Keyring) -> Self {
        self.keyring = keyring;
        self
    }

    /// Mints a signed access token (`typ: at+jwt`).
    pub fn mint<E: Serialize + 'static>(
        &self,
        req: &AccessTokenRequest<E>,
    ) -> Result<String, MintError> {
        let ttl = req.ttl.unwrap_or(self.max_ttl);
        if ttl <= 0 || ttl > self.max_ttl {
            return Err(MintError::Lifetime {
                max_secs: self.max_ttl,
            });
        }
        let now = self.clock.now();
        let jti = match &req.jti {
            Some(j) => j.clone(),
            None => random_id()?,
        };
        let claims = ClaimsView {
            iss: Some(&self.issuer),
            sub: Some(&req.sub),
            aud: &req.audience,
            exp: now.saturating_add(ttl),
            nbf: None,
            iat: Some(now),
            jti: Some(&jti),
            client_id: req.client_id.as_deref(),
            scope: &req.scope,
            tenant: req.tenant.as_deref(),
        };
        let extra = extra_members(&req.extra).map_err(MintError::ExtraClaims)?;
        if let Some(map) = &extra
            && let Some(clash) = map
                .keys()
                .find(|k| REGISTERED.contains(&k.as_str()) || **k == self.tenant_claim)
        {
            return Err(MintError::ExtraClaims(format!(
                "`{clash}` is a registered claim"
            )));
        }
        self.sign(&ClaimsOut {
            claims,
            tenant_claim: &self.tenant_claim,
            extra: extra.as_ref(),
        })
    }

    /// Mints a token for a subset of a verified parent token's scopes and audiences
    /// (RFC 8693 in spirit), never outliving it. Asking for more is an error, and so is
    /// a parent this minter did not issue ([`MintError::ForeignParent`]): one whose
    /// `iss` is not ours, or that was verified by a key that is not one of this
    /// minter's keyring's own keys (a partner's key, even if the token claims our
    /// `iss`). The child is not tied to the parent's `jti`: revoking the parent does
    /// not revoke children (they expire no later than it).
    pub fn downscope<E>(
        &self,
        parent: &Verified<E>,
        scope: &ScopeSet,
        audience: Option<&str>,
        ttl_secs: Option<i64>,
    ) -> Result<String, MintError> {
        // Only our own tokens may be narrowed and re-signed: signed by one of our own
        // keys *and* naming us. A token from another issuer the keyring trusts must never
        // come out carrying our `iss` and our signature.
        if !self.keyring.is_own(&parent.key) {
            return Err(MintError::ForeignParent);
        }
        let parent = &parent.claims;
        if parent.iss.as_deref() != Some(self.issuer.as_str()) {
            return Err(MintError::ForeignParent);
        }
        if !scope.is_subset(&parent.scope) {
            return Err(MintError::ScopeEscalation);
        }
        let aud = match audience {
            Some(a) if parent.aud.iter().any(|p| p == a) => vec![a.to_owned()],
            Some(_) => return Err(MintError::AudienceEscalation),
            None => parent.aud.clone(),
        };
        let now = self.clock.now();
        let ttl = ttl_secs.unwrap_or(self.max_ttl);
        if ttl <= 0 || ttl > self.max_ttl {
            return Err(MintError::Lifetime {
                max_secs: self.max_ttl,
            });
        }
        let claims = AccessClaims {
            iss: Some(self.issuer.clone()),
            sub: parent.sub.clone(),
            aud,
            exp: now.saturating_add(ttl).min(parent.exp),
            nbf: None,
            iat: Some(now),
            jti: Some(random_id()?),
            client_id: parent.client_id.clone(),
            scope: scope.clone(),
            tenant: parent.tenant.clone(),
            extra: (),
        };
        self.sign(&ClaimsOut {
            claims: claims.view(),
            tenant_claim: &self.tenant_claim,
            extra: None,
        })
    }

    fn sign<C: Serialize>(&self, claims: &C) -> Result<String, MintError> {
        let active = self.keyring.active().ok_or(MintError::NoSigningKey)?;
        let payload =
            serde_json::to_vec(claims).map_err(|e| MintError::ExtraClaims(e.to_string()))?;
        let mut token =
            String::with_capacity(active.header_b64.len() + payload.len() * 4 / 3 + 140);
        token.push_str(&active.header_b64);
        token.push('.');
        b64::encode_into(&payload, &mut token);
        let signature = active.key.sign(token.as_bytes())?;
        token.push('.');
        b64::encode_into(&signature, &mut token);
        Ok(token)
    }
}

/// A token id: 128 bits from the system's secure random generator, base64url (22
/// characters). Unique with overwhelming probability across processes and restarts,
/// and reveals nothing (no process prefix, no counter: how many tokens were minted
/// stays private).
fn random_id() -> Result<String, MintError> {
    let mut id = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id)
        .map_err(|_| MintError::Key(crate::jose::KeyError::Rng))?;
    Ok(b64::encode(&id))
}

impl fmt::Debug for Minter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Minter")
            .field("issuer", &self.issuer)
            .field("max_ttl", &self.max_ttl)
            .field("tenant_claim", &self.tenant_claim)
            .finish_non_exhaustive()
    }
}
