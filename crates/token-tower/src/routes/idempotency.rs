//! `Idempotency-Key` on `POST /admin/keys`: a retry with the same key and the same
//! body within the window answers the key the first request minted, without minting
//! another; the same key with another body is refused (422).
//!
//! Records are scoped to the caller (principal kind, id and tenant), so one tenant
//! cannot probe another's keys; bounded in number (the oldest goes first when full);
//! and timed by the injected clock. Each holds a SHA-256 fingerprint of the canonical
//! body and the minted key's id, never a secret.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use token_core::apikey::KeyHasher;
use token_core::backend::KeyHash;

/// How long a record answers retries: 24 hours.
pub(crate) const WINDOW_SECS: i64 = 86_400;

/// How many records are kept by default.
pub(crate) const DEFAULT_CAPACITY: usize = 10_000;

/// The longest `Idempotency-Key`, in bytes.
pub(crate) const MAX_KEY_LEN: usize = 255;

/// Whose retry, and which key: (caller scope, idempotency key).
type Slot = (String, String);

#[derive(Debug)]
enum State {
    /// The first request is still minting.
    Pending,
    /// The first request minted this key.
    Done(String),
}

#[derive(Debug)]
struct Entry {
    fingerprint: KeyHash,
    at: i64,
    state: State,
}

#[derive(Debug, Default)]
struct Table {
    entries: HashMap<Slot, Entry>,
    /// Slots by age, oldest first (may name slots since removed or renewed).
    order: VecDeque<(Slot, i64)>,
}

/// The idempotency records of one router.
#[derive(Debug)]
pub(crate) struct Idempotency {
    table: Mutex<Table>,
    capacity: usize,
}

/// What a request with an `Idempotency-Key` should do.
#[derive(Debug)]
pub(crate) enum Claim {
    /// Mint, then [`Ticket::done`].
    New(Ticket),
    /// A retry: answer this key, mint nothing.
    Replay(String),
    /// The key was used with another body.
    Mismatch,
    /// The first request with this key is still being answered.
    InFlight,
}

/// The right to answer a first request; dropped without [`Ticket::done`] (the
/// creation failed, or the request was cancelled), the record is removed so that a
/// retry can try again.
#[derive(Debug)]
pub(crate) struct Ticket {
    store: Arc<Idempotency>,
    slot: Option<Slot>,
}

impl Ticket {
    /// The first request minted `key_id`.
    pub(crate) fn done(mut self, key_id: &str) {
        if let Some(slot) = self.slot.take()
            && let Some(entry) = self.store.lock().entries.get_mut(&slot)
        {
            entry.state = State::Done(key_id.to_owned());
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            self.store.lock().entries.remove(&slot);
        }
    }
}

/// The fingerprint of a canonical body.
pub(crate) fn fingerprint(canonical_body: &str) -> KeyHash {
    KeyHasher::sha256().hash(canonical_body)
}

/// Whether `key` may be an `Idempotency-Key`: 1 to [`MAX_KEY_LEN`] visible ASCII
/// characters.
pub(crate) fn valid_key(key: &[u8]) -> bool {
    (1..=MAX_KEY_LEN).contains(&key.len()) && key.iter().all(|b| (0x21..=0x7e).contains(b))
}

impl Idempotency {
    /// Room for `capacity` records (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Idempotency {
            table: Mutex::new(Table::default()),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Claims `key` for `scope` with a body of `fingerprint` at `now`.
    pub(crate) fn claim(
        self: &Arc<Self>,
        scope: String,
        key: &str,
        fingerprint: KeyHash,
        now: i64,
    ) -> Claim {
        let slot = (scope, key.to_owned());
        let mut t = self.lock();
        t.expire(now);
        if let Some(entry) = t.entries.get(&slot) {
            return if entry.fingerprint == fingerprint {
                match &entry.state {
                    State::Pending => Claim::InFlight,
                    State::Done(id) => Claim::Replay(id.clone()),
                }
            } else {
                Claim::Mismatch
            };
        }
        while t.entries.len() >= self.capacity {
            let Some((old, at)) = t.order.pop_front() else {
                break;
            };
            t.remove_if_at(&old, at);
        }
        t.order.push_back((slot.clone(), now));
        t.entries.insert(
            slot.clone(),
            Entry {
                fingerprint,
                at: now,
                state: State::Pending,
            },
        );
        Claim::New(Ticket {
            store: Arc::clone(self),
            slot: Some(slot),
        })
    }

    /// How many records are held (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

impl Table {
    /// Forgets records older than the window.
    fn expire(&mut self, now: i64) {
        while let Some((_, at)) = self.order.front() {
            if now.saturating_sub(*at) < WINDOW_SECS {
                break;
            }
            if let Some((slot, at)) = self.order.pop_front() {
                self.remove_if_at(&slot, at);
            }
        }
    }

    /// Removes `slot` if its record is the one made at `at` (not a newer one).
    fn remove_if_at(&mut self, slot: &Slot, at: i64) {
        if self.entries.get(slot).is_some_and(|e| e.at == at) {
            self.entries.remove(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(store: &Arc<Idempotency>, scope: &str, key: &str, body: &str, now: i64) -> Claim {
        store.claim(scope.to_owned(), key, fingerprint(body), now)
    }

    #[test]
    fn retries_replay_mismatches_are_refused_and_records_expire() {
        let store = Arc::new(Idempotency::new(10));
        let Claim::New(ticket) = claim(&store, "a", "k", "{}", 0) else {
            panic!("first use")
        };
        assert!(matches!(claim(&store, "a", "k", "{}", 1), Claim::InFlight));
        ticket.done("key_1");
        assert!(matches!(claim(&store, "a", "k", "{}", 2), Claim::Replay(id) if id == "key_1"));
        assert!(matches!(
            claim(&store, "a", "k", "{\"x\":1}", 3),
            Claim::Mismatch
        ));
        // Another caller's key of the same name is its own.
        assert!(matches!(claim(&store, "b", "k", "{}", 4), Claim::New(_)));
        // After the window, a new first use.
        assert!(matches!(
            claim(&store, "a", "k", "{\"x\":1}", WINDOW_SECS),
            Claim::New(_)
        ));
    }

    #[test]
    fn a_failed_first_request_frees_the_key_and_the_table_is_bounded() {
        let store = Arc::new(Idempotency::new(3));
        drop(claim(&store, "a", "k", "{}", 0));
        let Claim::New(again) = claim(&store, "a", "k", "{}", 1) else {
            panic!("the failed first use left no record")
        };
        again.done("x");
        for i in 0..10 {
            if let Claim::New(t) = claim(&store, "a", &format!("k{i}"), "{}", 2) {
                t.done("y");
            }
        }
        assert!(store.len() <= 3);
        assert!(valid_key(b"abc-123"));
        assert!(!valid_key(b""));
        assert!(!valid_key(b"a b"));
        assert!(!valid_key(&[b'a'; 256]));
    }
}
