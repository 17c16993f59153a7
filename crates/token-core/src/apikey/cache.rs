//! A sharded read-through cache for key lookups: TTL, a size bound, negative caching
//! of unknown keys, single-flight loads, and invalidation that an in-flight load
//! cannot undo.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::KeyHash;
use super::flight::{Flight, Outcome};
use crate::store::{StoreError, StoreErrorKind};

const SHARDS: usize = 16;

/// Cache settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheConfig {
    /// How long a found key is trusted before the store is asked again (seconds). This
    /// bounds how long a revocation made by *another* process takes to reach this one.
    pub ttl_secs: i64,
    /// How long an unknown key is remembered as unknown (seconds), so a flood of
    /// well-formed random keys cannot hammer the store.
    pub negative_ttl_secs: i64,
    /// The most entries held (found and unknown together).
    pub capacity: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            ttl_secs: 60,
            negative_ttl_secs: 30,
            capacity: 100_000,
        }
    }
}

impl CacheConfig {
    /// Sets the positive TTL.
    #[must_use]
    pub fn ttl_secs(mut self, secs: i64) -> Self {
        self.ttl_secs = secs;
        self
    }

    /// Sets the negative TTL.
    #[must_use]
    pub fn negative_ttl_secs(mut self, secs: i64) -> Self {
        self.negative_ttl_secs = secs;
        self
    }

    /// Sets the capacity.
    #[must_use]
    pub fn capacity(mut self, entries: usize) -> Self {
        self.capacity = entries;
        self
    }
}

type Loaded<T> = Result<Option<T>, StoreError>;

/// A synchronous cache probe's answer.
pub(crate) enum Fresh<T> {
    /// Cached and fresh.
    Found(T),
    /// Cached as unknown, and fresh.
    Unknown,
    /// Not cached, or stale.
    Miss,
}

#[derive(Debug)]
pub(crate) struct Cache<T> {
    config: CacheConfig,
    shards: Box<[Mutex<Shard<T>>]>,
}

#[derive(Debug)]
struct Shard<T> {
    slots: HashMap<KeyHash, Slot<T>, Keyed>,
    inflight: HashMap<KeyHash, Arc<Flight<Loaded<T>>>, Keyed>,
    /// Bumped by every invalidation: a load that started before may not fill the cache.
    epoch: u64,
}

#[derive(Debug)]
struct Slot<T> {
    /// `None` caches "no such key".
    value: Option<T>,
    fresh_until: i64,
}

impl<T: Clone> Cache<T> {
    pub(crate) fn new(config: CacheConfig) -> Self {
        let keyed = Keyed::random();
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    slots: HashMap::with_hasher(keyed),
                    inflight: HashMap::with_hasher(keyed),
                    epoch: 0,
                })
            })
            .collect();
        Cache { config, shards }
    }

    fn shard(&self, hash: &KeyHash) -> MutexGuard<'_, Shard<T>> {
        let i = usize::from(hash.as_bytes()[0]) % SHARDS;
        self.shards[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached answer if it is fresh. Synchronous: hits never build the loading
    /// future.
    pub(crate) fn get_fresh(&self, hash: &KeyHash, now: i64) -> Fresh<T> {
        match self.shard(hash).slots.get(hash) {
            Some(Slot {
                value: Some(v),
                fresh_until,
            }) if *fresh_until > now => Fresh::Found(v.clone()),
            Some(Slot {
                value: None,
                fresh_until,
            }) if *fresh_until > now => Fresh::Unknown,
            _ => Fresh::Miss,
        }
    }

    /// The cached value, loading it with `load` (once, however many ask at the same
    /// time) on a miss. Store errors are returned, not cached.
    pub(crate) async fn get_or_load<F, Fut>(&self, hash: &KeyHash, now: i64, load: F) -> Loaded<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Loaded<T>>,
    {
        let mut load = Some(load);
        loop {
            let (flight, epoch) = {
                let mut shard = self.shard(hash);
                match shard.slots.get(hash) {
                    Some(slot) if slot.fresh_until > now => return Ok(slot.value.clone()),
                    _ => {}
                }
                if let Some(flight) = shard.inflight.get(hash) {
                    (Arc::clone(flight), None)
                } else {
                    let flight = Flight::new();
                    shard.inflight.insert(*hash, Arc::clone(&flight));
                    (flight, Some(shard.epoch))
                }
            };
            let Some(epoch) = epoch else {
                match flight.wait().await {
                    Outcome::Ready(result) => return result,
                    Outcome::Abandoned => continue,
                }
            };
            // A task leads at most once (it returns right after), so `load` is there.
            let Some(load) = load.take() else {
                remove_flight(&mut self.shard(hash), hash, &flight);
                flight.complete(Outcome::Abandoned);
                return Err(StoreError::new(
                    StoreErrorKind::Unavailable,
                    "cache load reused",
                ));
            };
            let mut guard = Leader {
                cache: self,
                hash,
                flight: &flight,
                finished: false,
            };
            let result = load().await;
            {
                let mut shard = self.shard(hash);
                if shard.epoch == epoch
                    && let Ok(found) = &result
                {
                    let slot = match found {
                        Some(v) => Slot {
                            value: Some(v.clone()),
                            fresh_until: now.saturating_add(self.config.ttl_secs),
                        },
                        None => Slot {
                            value: None,
                            fresh_until: now.saturating_add(self.config.negative_ttl_secs),
                        },
                    };
                    self.insert(&mut shard, *hash, slot, now);
                }
                remove_flight(&mut shard, hash, &flight);
            }
            guard.finished = true;
            flight.complete(Outcome::Ready(result.clone()));
            return result;
        }
    }

    fn insert(&self, shard: &mut Shard<T>, key: KeyHash, slot: Slot<T>, now: i64) {
        let cap = (self.config.capacity / SHARDS).max(1);
        if shard.slots.len() >= cap && !shard.slots.contains_key(&key) {
            shard.slots.retain(|_, s| s.fresh_until > now);
            if shard.slots.len() >= cap
                && let Some(victim) = shard.slots.keys().next().copied()
            {
                shard.slots.remove(&victim);
            }
        }
        shard.slots.insert(key, slot);
    }

    /// Forgets `hash` now. A load already in flight will neither fill the cache nor be
    /// joined by later lookups, so a revoked key cannot come back from it.
    pub(crate) fn invalidate(&self, hash: &KeyHash) {
        let mut shard = self.shard(hash);
        shard.slots.remove(hash);
        shard.inflight.remove(hash);
        shard.epoch = shard.epoch.wrapping_add(1);
    }

    /// Entries held (found and unknown).
    pub(crate) fn len(&self) -> usize {
        (0..SHARDS)
            .map(|i| {
                self.shards[i]
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .slots
                    .len()
            })
            .sum()
    }
}

/// A keyed hash for table keys that are already SHA-256 digests: a folded multiply
/// per word under a per-process random key, so nobody can aim keys at one bucket
/// (cheaper than `SipHash`, which the uniform input does not need).
#[derive(Debug, Clone, Copy)]
struct Keyed(u64);

impl Keyed {
    fn random() -> Keyed {
        let mut seed = [0u8; 8];
        if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed).is_err() {
            // No randomness: fall back to something unpredictable enough for bucket choice.
            let stack = 0u8;
            seed = (std::ptr::from_ref(&stack) as usize as u64).to_le_bytes();
        }
        Keyed(u64::from_le_bytes(seed))
    }
}

impl std::hash::BuildHasher for Keyed {
    type Hasher = KeyedHasher;

    fn build_hasher(&self) -> KeyedHasher {
        KeyedHasher(self.0)
    }
}

#[derive(Debug)]
struct KeyedHasher(u64);

fn fold_mul(a: u64, b: u64) -> u64 {
    let wide = u128::from(a) * u128::from(b);
    // Truncations keep each half.
    #[allow(clippy::cast_possible_truncation)]
    let (hi, lo) = ((wide >> 64) as u64, wide as u64);
    hi ^ lo
}

impl std::hash::Hasher for KeyedHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = fold_mul(self.0 ^ u64::from_le_bytes(word), 0x9E37_79B9_7F4A_7C15);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn remove_flight<T>(shard: &mut Shard<T>, hash: &KeyHash, flight: &Arc<Flight<Loaded<T>>>) {
    if shard
        .inflight
        .get(hash)
        .is_some_and(|f| Arc::ptr_eq(f, flight))
    {
        shard.inflight.remove(hash);
    }
}

/// Completes the flight as abandoned if the leader is dropped mid-load.
struct Leader<'a, T: Clone> {
    cache: &'a Cache<T>,
    hash: &'a KeyHash,
    flight: &'a Arc<Flight<Loaded<T>>>,
    finished: bool,
}

impl<T: Clone> Drop for Leader<'_, T> {
    fn drop(&mut self) {
        if !self.finished {
            remove_flight(&mut self.cache.shard(self.hash), self.hash, self.flight);
            self.flight.complete(Outcome::Abandoned);
        }
    }
}
