//! Refresh-token storage: the record of a token, the store trait and its in-memory
//! implementation (re-exported from [`crate::backend`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};
use token_scopes::ScopeSet;

use crate::apikey::KeyHash;
use crate::limits::PRUNE_INTERVAL_SECS;
use crate::store::{StoreError, StoreErrorKind};

/// What a refresh token stands for, and its state. Holds its hash, never the token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefreshRecord {
    /// Hash of the token.
    pub hash: KeyHash,
    /// The family: every token descended from one grant.
    pub family: String,
    /// The user (or client) the grant is for.
    pub subject: String,
    /// The client the token was issued to; only it may redeem it.
    pub client_id: String,
    /// Scopes the grant carries.
    pub scope: ScopeSet,
    /// Tenant.
    pub tenant: Option<String>,
    /// When this token was issued.
    pub issued_at: i64,
    /// When the family expires (rotation does not extend it).
    pub expires_at: i64,
    /// Whether it was redeemed.
    pub used: bool,
}

/// Storage for refresh tokens. A store may forget a family's tokens (used or not) and
/// its revocation once the family has expired: nothing of an expired family can be
/// redeemed, and a forgotten token is refused as invalid.
pub trait RefreshStore: Send + Sync + 'static {
    /// Stores a new token.
    fn insert(&self, record: RefreshRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The token with this hash.
    fn find(
        &self,
        hash: &KeyHash,
    ) -> impl Future<Output = Result<Option<RefreshRecord>, StoreError>> + Send;
    /// Atomically marks the token used; `true` only for the first caller.
    fn mark_used(&self, hash: &KeyHash) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Revokes every token of a family.
    fn revoke_family(&self, family: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Whether a family was revoked.
    fn is_family_revoked(
        &self,
        family: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// An in-memory [`RefreshStore`]. It forgets expired families (their tokens, used or
/// not, and their revocation) by itself: storing a token sweeps at most once per
/// [`PRUNE_INTERVAL_SECS`], taking the new token's `issued_at` as the time (so the
/// store needs no clock of its own and always agrees with the issuer's injected
/// one); [`MemoryRefreshStore::prune`] sweeps at a time you give. Used tokens and
/// revocations are kept until their family expires, so reuse detection and revocation
/// hold for the family's whole life.
#[derive(Debug, Default)]
pub struct MemoryRefreshStore {
    inner: RwLock<RefreshTables>,
}

#[derive(Debug, Default)]
struct RefreshTables {
    tokens: HashMap<[u8; 32], RefreshRecord>,
    families: HashMap<String, Family>,
    /// The time of the next sweep.
    next_prune_at: i64,
}

/// What the store knows of a family: when it ends, and whether it was revoked.
#[derive(Debug, Clone, Copy)]
struct Family {
    expires_at: i64,
    revoked: bool,
}

impl MemoryRefreshStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets every family expired at `now` (seconds since the epoch, from the
    /// issuer's clock): its tokens and its revocation. Returns how many tokens were
    /// forgotten.
    pub fn prune(&self, now: i64) -> usize {
        self.write().prune(now)
    }

    /// Tokens held (used or not).
    pub fn len(&self) -> usize {
        self.read().tokens.len()
    }

    /// Whether no token is held.
    pub fn is_empty(&self) -> bool {
        self.read().tokens.is_empty()
    }

    /// Revoked families remembered (until they expire).
    pub fn revoked_families(&self) -> usize {
        self.read().families.values().filter(|f| f.revoked).count()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, RefreshTables> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, RefreshTables> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl RefreshTables {
    fn prune(&mut self, now: i64) -> usize {
        let before = self.tokens.len();
        self.tokens.retain(|_, r| r.expires_at > now);
        self.families.retain(|_, f| f.expires_at > now);
        self.next_prune_at = now.saturating_add(PRUNE_INTERVAL_SECS);
        before - self.tokens.len()
    }
}

impl RefreshStore for MemoryRefreshStore {
    async fn insert(&self, record: RefreshRecord) -> Result<(), StoreError> {
        let now = record.issued_at;
        let mut g = self.write();
        if now >= g.next_prune_at {
            g.prune(now);
        }
        if g.tokens.contains_key(record.hash.as_bytes()) {
            return Err(StoreError::new(
                StoreErrorKind::Conflict,
                "refresh token exists",
            ));
        }
        let family = g.families.entry(record.family.clone()).or_insert(Family {
            expires_at: record.expires_at,
            revoked: false,
        });
        family.expires_at = family.expires_at.max(record.expires_at);
        g.tokens.insert(*record.hash.as_bytes(), record);
        Ok(())
    }

    async fn find(&self, hash: &KeyHash) -> Result<Option<RefreshRecord>, StoreError> {
        Ok(self.read().tokens.get(hash.as_bytes()).cloned())
    }

    async fn mark_used(&self, hash: &KeyHash) -> Result<bool, StoreError> {
        match self.write().tokens.get_mut(hash.as_bytes()) {
            Some(r) if !r.used => {
                r.used = true;
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Err(StoreError::new(
                StoreErrorKind::NotFound,
                "no such refresh token",
            )),
        }
    }

    /// A family with no token held (never issued, or expired and forgotten) has
    /// nothing left to revoke.
    async fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        if let Some(f) = self.write().families.get_mut(family) {
            f.revoked = true;
        }
        Ok(())
    }

    async fn is_family_revoked(&self, family: &str) -> Result<bool, StoreError> {
        Ok(self.read().families.get(family).is_some_and(|f| f.revoked))
    }
}
