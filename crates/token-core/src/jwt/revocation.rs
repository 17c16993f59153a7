//! Revoked token ids, per issuer.

use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;

/// Where revoked tokens are recorded, by `(iss, jti)`: a `jti` is unique only within
/// its issuer, so one issuer's id never revokes (nor collides with) another issuer's
/// token. `is_revoked` is on the verification hot path and must not do I/O: a
/// distributed backend keeps a local view that it updates in the background (the
/// Redis broadcast, for example).
pub trait RevocationStore: Send + Sync + fmt::Debug {
    /// Records that the token `jti` of issuer `iss` is revoked. `expires_at` is when the
    /// token would have expired anyway; after it the entry may be forgotten.
    fn revoke(&self, iss: &str, jti: &str, expires_at: i64);

    /// Whether the token `jti` of issuer `iss` is revoked at `now`.
    fn is_revoked(&self, iss: &str, jti: &str, now: i64) -> bool;
}

/// An in-memory [`RevocationStore`] that forgets entries once their token would have
/// expired anyway, so it holds at most the revoked tokens still alive.
#[derive(Debug, Default)]
pub struct MemoryRevocationStore {
    inner: RwLock<Revoked>,
}

#[derive(Debug, Default)]
struct Revoked {
    /// `iss` → `jti` → expiry. Nested, so a lookup borrows both without allocating.
    entries: HashMap<String, HashMap<String, i64>>,
    /// The number of `(iss, jti)` entries.
    len: usize,
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
        self.inner.read().map_or(0, |r| r.len)
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every entry whose token has expired by `now`.
    pub fn prune(&self, now: i64) {
        if let Ok(mut r) = self.inner.write() {
            r.prune(now);
        }
    }
}

impl RevocationStore for MemoryRevocationStore {
    fn revoke(&self, iss: &str, jti: &str, expires_at: i64) {
        // A poisoned lock means a panic elsewhere; recover the data rather than lose a
        // revocation.
        let mut r = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let previous = if let Some(ids) = r.entries.get_mut(iss) {
            ids.insert(jti.to_owned(), expires_at)
        } else {
            let ids = HashMap::from([(jti.to_owned(), expires_at)]);
            r.entries.insert(iss.to_owned(), ids);
            None
        };
        if previous.is_none() {
            r.len += 1;
        }
        if r.len > r.prune_at {
            let now = r.latest_now;
            r.prune(now);
        }
    }

    fn is_revoked(&self, iss: &str, jti: &str, now: i64) -> bool {
        let r = self
            .inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let revoked = r
            .entries
            .get(iss)
            .and_then(|ids| ids.get(jti))
            .is_some_and(|exp| *exp > now);
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

impl Revoked {
    /// Forgets what expired by `now`; the next automatic prune waits for twice the
    /// live size.
    fn prune(&mut self, now: i64) {
        self.entries.retain(|_, ids| {
            ids.retain(|_, exp| *exp > now);
            !ids.is_empty()
        });
        self.len = self.entries.values().map(HashMap::len).sum();
        self.prune_at = (self.len * 2).max(64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revokes_and_prunes_expired_entries() {
        let s = MemoryRevocationStore::new();
        s.revoke("iss", "a", 100);
        assert!(s.is_revoked("iss", "a", 50));
        assert!(!s.is_revoked("iss", "b", 50));
        // Past its expiry the token is dead anyway.
        assert!(!s.is_revoked("iss", "a", 100));
        s.prune(100);
        assert!(s.is_empty());
        // Growth triggers pruning of dead entries on insert.
        s.is_revoked("iss", "x", 1_000);
        for i in 0..200 {
            s.revoke(&format!("iss{}", i % 3), &format!("old{i}"), 10);
        }
        assert!(s.len() < 100, "{}", s.len());
    }

    #[test]
    fn one_issuers_jti_never_revokes_anothers() {
        let s = MemoryRevocationStore::new();
        s.revoke("https://a.example", "X", 100);
        assert!(s.is_revoked("https://a.example", "X", 50));
        assert!(!s.is_revoked("https://b.example", "X", 50));
        // Revoking it again for the same issuer is one entry, not two.
        s.revoke("https://a.example", "X", 100);
        assert_eq!(s.len(), 1);
        s.revoke("https://b.example", "X", 100);
        assert_eq!(s.len(), 2);
    }
}
