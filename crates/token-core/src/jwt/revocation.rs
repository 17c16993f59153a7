//! Revoked token ids.

use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;

/// Where revoked `jti`s are recorded. `is_revoked` is on the verification hot path and
/// must not do I/O: a distributed backend keeps a local view that it updates in the
/// background (the Redis broadcast, for example).
pub trait RevocationStore: Send + Sync + fmt::Debug {
    /// Records that `jti` is revoked. `expires_at` is when the token would have expired
    /// anyway; after it the entry may be forgotten.
    fn revoke(&self, jti: &str, expires_at: i64);

    /// Whether `jti` is revoked at `now`.
    fn is_revoked(&self, jti: &str, now: i64) -> bool;
}

/// An in-memory [`RevocationStore`] that forgets entries once their token would have
/// expired anyway, so it holds at most the revoked tokens still alive.
#[derive(Debug, Default)]
pub struct MemoryRevocationStore {
    inner: RwLock<Revoked>,
}

#[derive(Debug, Default)]
struct Revoked {
    entries: HashMap<String, i64>,
    /// Prune when the map grows past this; doubles with the live size.
    prune_at: usize,
    latest_now: i64,
}

impl MemoryRevocationStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of entries held.
    pub fn len(&self) -> usize {
        self.inner.read().map_or(0, |r| r.entries.len())
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every entry whose token has expired by `now`.
    pub fn prune(&self, now: i64) {
        if let Ok(mut r) = self.inner.write() {
            r.entries.retain(|_, exp| *exp > now);
            r.prune_at = (r.entries.len() * 2).max(64);
        }
    }
}

impl RevocationStore for MemoryRevocationStore {
    fn revoke(&self, jti: &str, expires_at: i64) {
        // A poisoned lock means a panic elsewhere; recover the data rather than lose a
        // revocation.
        let mut r = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        r.entries.insert(jti.to_owned(), expires_at);
        if r.entries.len() > r.prune_at {
            let now = r.latest_now;
            r.entries.retain(|_, exp| *exp > now);
            r.prune_at = (r.entries.len() * 2).max(64);
        }
    }

    fn is_revoked(&self, jti: &str, now: i64) -> bool {
        let r = self
            .inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let revoked = r.entries.get(jti).is_some_and(|exp| *exp > now);
        let stale = now > r.latest_now;
        drop(r);
        if stale {
            let mut w = self
                .inner
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            w.latest_now = w.latest_now.max(now);
        }
        revoked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revokes_and_prunes_expired_entries() {
        let s = MemoryRevocationStore::new();
        s.revoke("a", 100);
        assert!(s.is_revoked("a", 50));
        assert!(!s.is_revoked("b", 50));
        // Past its expiry the token is dead anyway.
        assert!(!s.is_revoked("a", 100));
        s.prune(100);
        assert!(s.is_empty());
        // Growth triggers pruning of dead entries on insert.
        s.is_revoked("x", 1_000);
        for i in 0..200 {
            s.revoke(&format!("old{i}"), 10);
        }
        assert!(s.len() < 100, "{}", s.len());
    }
}
