//! Refresh tokens: opaque, checksummed, hashed at rest, one-time use, rotated within a
//! family; presenting a used one revokes the family (OAuth 2.0 Security BCP §4.14).

use std::fmt;
use std::sync::Arc;

use token_scopes::ScopeSet;

mod exchange;
pub(crate) mod store;

pub use exchange::{AccessIssue, Refreshed};
pub(crate) use store::{MemoryRefreshStore, RefreshRecord, RefreshStore};

use crate::apikey::{ApiKeySecret, KeyFormat, KeyHash, KeyHasher};
use crate::clock::{Clock, SystemClock};
use crate::limits::DEFAULT_REFRESH_TTL_SECS;
use crate::store::StoreError;

/// A detected reuse: data for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReuseReport {
    /// The family now revoked.
    pub family: String,
    /// Its subject.
    pub subject: String,
    /// Its client.
    pub client_id: String,
}

/// Why a refresh token was refused. The token's own refusals map to `invalid_grant`
/// on the wire, a grant that leaves no scope to `invalid_scope`;
/// [`RefreshError::code`] is the finer reason for audit.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// Malformed, unknown, or issued to another client.
    #[error("invalid refresh token")]
    Invalid,
    /// The family expired.
    #[error("refresh token expired")]
    Expired,
    /// The family was revoked (after a reuse, or by the user).
    #[error("refresh token revoked")]
    Revoked,
    /// A used token was presented again: the family is now revoked.
    #[error("refresh token reused; its family is revoked")]
    Reused(ReuseReport),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The refresh grant asked for no scope the family and the client still hold
    /// (`invalid_scope` on the wire); the token was left unused.
    #[error("no requested scope was granted to this refresh token")]
    ScopeNotGranted,
    /// The access token could not be minted (`server_error` on the wire).
    #[error("the access token could not be issued")]
    Mint,
}

impl RefreshError {
    /// The stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            RefreshError::Invalid => "refresh_token_invalid",
            RefreshError::Expired => "refresh_token_expired",
            RefreshError::Revoked => "refresh_token_revoked",
            RefreshError::Reused(_) => "refresh_token_reused",
            RefreshError::Store(_) => "store_unavailable",
            RefreshError::ScopeNotGranted => "invalid_scope",
            RefreshError::Mint => "server_error",
        }
    }
}

/// What a new refresh family is for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RefreshGrant {
    /// The user.
    pub subject: String,
    /// The client.
    pub client_id: String,
    /// The scopes.
    pub scope: ScopeSet,
    /// The tenant.
    pub tenant: Option<String>,
}

impl RefreshGrant {
    /// A grant for `subject` through `client_id` with `scope`.
    pub fn new(subject: &str, client_id: &str, scope: ScopeSet) -> Self {
        RefreshGrant {
            subject: subject.to_owned(),
            client_id: client_id.to_owned(),
            scope,
            tenant: None,
        }
    }

    /// Sets the tenant.
    #[must_use]
    pub fn tenant(mut self, tenant: &str) -> Self {
        self.tenant = Some(tenant.to_owned());
        self
    }
}

/// Issues and redeems refresh tokens (prefix `tk_rt`).
pub struct RefreshTokens<R> {
    inner: Arc<Inner<R>>,
}

struct Inner<R> {
    store: R,
    format: KeyFormat,
    hasher: KeyHasher,
    ttl_secs: i64,
    clock: Arc<dyn Clock>,
}

impl<R> Clone for RefreshTokens<R> {
    fn clone(&self) -> Self {
        RefreshTokens {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl RefreshTokens<MemoryRefreshStore> {
    /// Refresh tokens kept in memory (lost when the process ends), otherwise as
    /// [`RefreshTokens::new`]. Other stores implement
    /// [`RefreshStore`] (in [`backend`](crate::backend)).
    pub fn in_memory() -> Self {
        Self::new(MemoryRefreshStore::new())
    }
}

impl<R: RefreshStore> RefreshTokens<R> {
    /// Families live 30 days; tokens hashed with SHA-256; the system clock.
    pub fn new(store: R) -> Self {
        Self::with_options(
            store,
            KeyHasher::sha256(),
            DEFAULT_REFRESH_TTL_SECS,
            Arc::new(SystemClock),
        )
    }

    /// Full control: hasher (pepper), family lifetime and clock.
    pub fn with_options(store: R, hasher: KeyHasher, ttl_secs: i64, clock: Arc<dyn Clock>) -> Self {
        RefreshTokens {
            inner: Arc::new(Inner {
                store,
                format: KeyFormat::internal("tk_rt"),
                hasher,
                ttl_secs,
                clock,
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &R {
        &self.inner.store
    }

    /// Starts a family. The token is returned once.
    pub async fn issue(
        &self,
        grant: RefreshGrant,
    ) -> Result<(ApiKeySecret, RefreshRecord), RefreshError> {
        let family = self
            .inner
            .format
            .generate()
            .map_err(|_| RefreshError::Invalid)?;
        let now = self.inner.clock.now();
        let template = RefreshRecord {
            hash: KeyHash::from_bytes([0; 32]),
            family: format!("fam_{}", &family.expose_secret()[6..26]),
            subject: grant.subject,
            client_id: grant.client_id,
            scope: grant.scope,
            tenant: grant.tenant,
            issued_at: now,
            expires_at: now.saturating_add(self.inner.ttl_secs),
            used: false,
        };
        self.store_new(template).await
    }

    async fn store_new(
        &self,
        mut record: RefreshRecord,
    ) -> Result<(ApiKeySecret, RefreshRecord), RefreshError> {
        let secret = self
            .inner
            .format
            .generate()
            .map_err(|_| RefreshError::Invalid)?;
        record.hash = self.inner.hasher.hash(secret.expose_secret());
        record.issued_at = self.inner.clock.now();
        record.used = false;
        self.inner.store.insert(record.clone()).await?;
        Ok((secret, record))
    }

    /// Redeems a token for `client_id`: it becomes used, and a new token of the same
    /// family is returned (mint the access token from the returned record). A token
    /// presented a second time revokes its whole family and reports the reuse.
    pub async fn redeem(
        &self,
        presented: &str,
        client_id: &str,
    ) -> Result<(ApiKeySecret, RefreshRecord), RefreshError> {
        let checked = self
            .redeem_checked(presented, client_id, |_| {
                Ok::<(), std::convert::Infallible>(())
            })
            .await?;
        match checked {
            Ok((secret, record, ())) => Ok((secret, record)),
            Err(never) => match never {},
        }
    }

    /// [`RefreshTokens::redeem`] with a last check of the grant before the token is
    /// used: `check` sees the family's record once the token is known, live and this
    /// client's, and before it is marked used. When `check` refuses (a `scope` the
    /// family never had, a client narrowed since), the answer is `Ok(Err(refusal))`
    /// and the token is left **unused**: it still works, and presenting it again is
    /// no reuse. Validate everything before the token is consumed.
    pub async fn redeem_checked<T, E>(
        &self,
        presented: &str,
        client_id: &str,
        check: impl FnOnce(&RefreshRecord) -> Result<T, E>,
    ) -> Result<Result<(ApiKeySecret, RefreshRecord, T), E>, RefreshError> {
        let (hash, record) = self.live(presented, client_id).await?;
        // A token already used is a replay whatever it asks for: no check can spare
        // it the reuse alarm below.
        let checked = if record.used {
            None
        } else {
            match check(&record) {
                Ok(checked) => Some(checked),
                Err(refusal) => return Ok(Err(refusal)),
            }
        };
        let first_use = self.inner.store.mark_used(&hash).await?;
        let Some(checked) = checked.filter(|_| first_use) else {
            self.inner.store.revoke_family(&record.family).await?;
            return Err(RefreshError::Reused(ReuseReport {
                family: record.family,
                subject: record.subject,
                client_id: record.client_id,
            }));
        };
        let (secret, next) = self.store_new(record).await?;
        Ok(Ok((secret, next, checked)))
    }

    /// The record of a presented token, if it is well formed, known, this client's,
    /// and its family is neither revoked nor expired (whether it was used is the
    /// store's atomic `mark_used` to say).
    async fn live(
        &self,
        presented: &str,
        client_id: &str,
    ) -> Result<(KeyHash, RefreshRecord), RefreshError> {
        self.inner
            .format
            .parse(presented)
            .map_err(|_| RefreshError::Invalid)?;
        let hash = self.inner.hasher.hash(presented);
        let record = self
            .inner
            .store
            .find(&hash)
            .await?
            .ok_or(RefreshError::Invalid)?;
        if record.client_id != client_id {
            return Err(RefreshError::Invalid);
        }
        if self.inner.store.is_family_revoked(&record.family).await? {
            return Err(RefreshError::Revoked);
        }
        if self.inner.clock.now() >= record.expires_at {
            return Err(RefreshError::Expired);
        }
        Ok((hash, record))
    }

    /// Revokes the family of a token. Unknown tokens are not an error.
    pub async fn revoke(&self, presented: &str) -> Result<(), RefreshError> {
        self.revoke_if(presented, |_| true).await.map(|_| ())
    }

    /// RFC 7009 for a client: revokes the token's family only if it was issued to
    /// `client_id`. Returns whether a family was revoked; unknown tokens and other
    /// clients' tokens are `Ok(false)`, so the answer reveals nothing about them.
    pub async fn revoke_for(&self, presented: &str, client_id: &str) -> Result<bool, RefreshError> {
        self.revoke_if(presented, |r| r.client_id == client_id)
            .await
    }

    async fn revoke_if(
        &self,
        presented: &str,
        allowed: impl FnOnce(&RefreshRecord) -> bool,
    ) -> Result<bool, RefreshError> {
        if self.inner.format.parse(presented).is_err() {
            return Ok(false);
        }
        let hash = self.inner.hasher.hash(presented);
        match self.inner.store.find(&hash).await? {
            Some(record) if allowed(&record) => {
                self.inner.store.revoke_family(&record.family).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl<R> fmt::Debug for RefreshTokens<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokens")
            .field("ttl_secs", &self.inner.ttl_secs)
            .finish_non_exhaustive()
    }
}
