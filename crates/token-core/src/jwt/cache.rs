//! A cache of verified tokens, so a client presenting the same token again costs a
//! hash and a lookup instead of a signature check and a JSON parse.
//!
//! A hit never decides anything the full verification would not: it only stands in
//! for success, and only when the token's bytes are identical (SHA-256), the very key
//! that verified it is still the one the keyring selects for it now (present, not
//! retired, not replaced), and the claims pass every time, issuer, audience and
//! revocation check again at `now`. Anything else falls through to the full
//! verification, which gives the exact refusal.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use ring::digest;

use super::claims::AccessClaims;
use crate::jose::KeyIdentity;
use crate::principal::Principal;

const SHARDS: usize = 16;

/// One verified token.
pub(crate) struct Entry {
    pub(crate) claims: AccessClaims,
    /// The key that verified it, held weakly: a key rotated out (an HMAC secret
    /// included) is freed, not kept alive by the cache.
    pub(crate) key: KeyIdentity,
    pub(crate) principal: Principal,
}

/// One shard: entries by the SHA-256 of the token.
type Shard = Mutex<HashMap<[u8; 32], Arc<Entry>>>;

/// Verified tokens by the SHA-256 of their text (the text itself is never kept).
///
/// Not keyed by the verifier's `Validation`: that is fixed at `Verifier::new` and
/// shared by every clone holding this cache. A setter that changed it on a clone would
/// have to give that clone a new cache.
pub(crate) struct TokenCache {
    shards: Box<[Shard]>,
    per_shard: usize,
    hits: std::sync::atomic::AtomicU64,
}

impl TokenCache {
    pub(crate) fn new(capacity: usize) -> Self {
        TokenCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            hits: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub(crate) fn digest(token: &str) -> [u8; 32] {
        let mut out = [0; 32];
        out.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
        out
    }

    fn shard(&self, key: &[u8; 32]) -> &Shard {
        &self.shards[usize::from(key[0]) % SHARDS]
    }

    pub(crate) fn get(&self, key: &[u8; 32]) -> Option<Arc<Entry>> {
        self.shard(key)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// Remembers an entry. A full shard first drops what expired by `now`, then, if
    /// still full, everything: memory stays bounded, and a miss only costs a verify.
    pub(crate) fn insert(&self, key: [u8; 32], entry: Entry, now: i64) {
        let mut shard = self
            .shard(&key)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if shard.len() >= self.per_shard && !shard.contains_key(&key) {
            shard.retain(|_, e| e.claims.exp > now);
            if shard.len() >= self.per_shard {
                shard.clear();
            }
        }
        shard.insert(key, Arc::new(entry));
    }

    pub(crate) fn remove(&self, key: &[u8; 32]) {
        self.shard(key)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    pub(crate) fn count_hit(&self) {
        self.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn hits(&self) -> u64 {
        self.hits.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}
