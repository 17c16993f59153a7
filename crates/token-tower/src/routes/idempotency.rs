//! `Idempotency-Key` on `POST /admin/keys`: a retry with the same key and the same
//! body within the window answers the key the first request minted, without minting
//! another; the same key with another body is refused (422).
//!
//! Records are scoped to the caller (principal kind, id and tenant), so one tenant
//! cannot probe another's keys, and timed by the injected clock. The table is bounded
//! in every part: at most `capacity` records, each caller at most a tenth of them (its
//! own oldest finished record goes first), and when the table is full the caller
//! holding the most records loses its oldest finished one; a record still being
//! answered is never evicted (a retry would mint twice), only forgotten once its
//! window is over. Each holds a SHA-256 fingerprint of the canonical body and the
//! minted key's id, never a secret.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use token_core::apikey::KeyHasher;
use token_core::backend::KeyHash;

/// How long a record answers retries: 24 hours.
pub(crate) const WINDOW_SECS: i64 = 86_400;

/// How many records are kept by default.
pub(crate) const DEFAULT_CAPACITY: usize = 10_000;

/// The share of the table one caller may hold: `capacity / CALLER_SHARE` (at least 1).
pub(crate) const CALLER_SHARE: usize = 10;

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
    /// Unique to this record: a ticket touches only the record it was given for.
    seq: u64,
    state: State,
}

/// What one caller holds.
#[derive(Debug, Default)]
struct Share {
    /// Its records, pending ones included.
    held: usize,
    /// Its finished records by age (sequence numbers): the only ones eviction takes.
    done: BTreeSet<u64>,
}

#[derive(Debug, Default)]
struct Table {
    entries: HashMap<Slot, Entry>,
    /// Every record held, by age (sequence number): exactly the entries, no more.
    by_age: BTreeMap<u64, Slot>,
    callers: HashMap<String, Share>,
    next_seq: u64,
}

/// The idempotency records of one router.
#[derive(Debug)]
pub(crate) struct Idempotency {
    table: Mutex<Table>,
    capacity: usize,
    per_caller: usize,
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
    /// No room without evicting a request still being answered: too many first
    /// requests in flight (the caller's share, or the whole table).
    Busy,
}

/// The right to answer a first request; dropped without [`Ticket::done`] (the
/// creation failed, or the request was cancelled), the record is removed so that a
/// retry can try again. It touches only its own record, never one made later for
/// the same key.
#[derive(Debug)]
pub(crate) struct Ticket {
    store: Arc<Idempotency>,
    slot: Option<Slot>,
    seq: u64,
}

impl Ticket {
    /// The first request minted `key_id`.
    pub(crate) fn done(mut self, key_id: &str) {
        if let Some(slot) = self.slot.take() {
            self.store.lock().finish(&slot, self.seq, key_id);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            let mut t = self.store.lock();
            if t.entries
                .get(&slot)
                .is_some_and(|e| e.seq == self.seq && matches!(e.state, State::Pending))
            {
                t.remove(&slot);
            }
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
    /// Room for `capacity` records (at least one), each caller at most
    /// `capacity / CALLER_SHARE` (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Idempotency {
            table: Mutex::new(Table::default()),
            capacity,
            per_caller: (capacity / CALLER_SHARE).max(1),
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
        let held = t.callers.get(&slot.0).map_or(0, |s| s.held);
        if held >= self.per_caller && !t.evict_oldest_of(&slot.0) {
            return Claim::Busy;
        }
        if t.entries.len() >= self.capacity && !t.evict_from_largest() {
            return Claim::Busy;
        }
        let seq = t.next_seq;
        t.next_seq += 1;
        t.by_age.insert(seq, slot.clone());
        t.callers.entry(slot.0.clone()).or_default().held += 1;
        t.entries.insert(
            slot.clone(),
            Entry {
                fingerprint,
                at: now,
                seq,
                state: State::Pending,
            },
        );
        Claim::New(Ticket {
            store: Arc::clone(self),
            slot: Some(slot),
            seq,
        })
    }

    /// Whether a finished record of `key` for `scope` is held (for tests; claims nothing).
    #[cfg(test)]
    fn holds(&self, scope: &str, key: &str) -> bool {
        let slot = (scope.to_owned(), key.to_owned());
        self.lock()
            .entries
            .get(&slot)
            .is_some_and(|e| matches!(e.state, State::Done(_)))
    }

    /// How many records are held, and how many entries the age index has (for tests).
    #[cfg(test)]
    fn len(&self) -> (usize, usize) {
        let t = self.lock();
        (t.entries.len(), t.by_age.len())
    }
}

impl Table {
    /// Forgets records older than the window (pending ones too: past the window a
    /// retry is a new request anyway).
    fn expire(&mut self, now: i64) {
        while let Some((&seq, slot)) = self.by_age.first_key_value() {
            match self.entries.get(slot) {
                Some(e) if now.saturating_sub(e.at) < WINDOW_SECS => break,
                Some(_) => {
                    let slot = slot.clone();
                    self.remove(&slot);
                }
                None => {
                    self.by_age.remove(&seq);
                }
            }
        }
    }

    /// Marks the record `seq` of `slot` done, if it is still there and pending.
    fn finish(&mut self, slot: &Slot, seq: u64, key_id: &str) {
        let Some(entry) = self.entries.get_mut(slot) else {
            return;
        };
        if entry.seq != seq || !matches!(entry.state, State::Pending) {
            return;
        }
        entry.state = State::Done(key_id.to_owned());
        self.callers
            .entry(slot.0.clone())
            .or_default()
            .done
            .insert(seq);
    }

    /// Removes the record of `slot`, wherever it is indexed.
    fn remove(&mut self, slot: &Slot) {
        let Some(entry) = self.entries.remove(slot) else {
            return;
        };
        self.by_age.remove(&entry.seq);
        if let Some(share) = self.callers.get_mut(&slot.0) {
            share.held = share.held.saturating_sub(1);
            share.done.remove(&entry.seq);
            if share.held == 0 {
                self.callers.remove(&slot.0);
            }
        }
    }

    /// Evicts `scope`'s oldest finished record; `false` if it has none.
    fn evict_oldest_of(&mut self, scope: &str) -> bool {
        let oldest = self
            .callers
            .get(scope)
            .and_then(|s| s.done.first().copied());
        match oldest.and_then(|seq| self.by_age.get(&seq).cloned()) {
            Some(slot) => {
                self.remove(&slot);
                true
            }
            None => false,
        }
    }

    /// Evicts the oldest finished record of the caller holding the most records
    /// (among those with a finished one); `false` if no record is finished.
    fn evict_from_largest(&mut self) -> bool {
        let largest = self
            .callers
            .iter()
            .filter(|(_, s)| !s.done.is_empty())
            .max_by_key(|(_, s)| s.held)
            .map(|(scope, _)| scope.clone());
        largest.is_some_and(|scope| self.evict_oldest_of(&scope))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(store: &Arc<Idempotency>, scope: &str, key: &str, body: &str, now: i64) -> Claim {
        store.claim(scope.to_owned(), key, fingerprint(body), now)
    }

    fn new(c: Claim) -> Ticket {
        match c {
            Claim::New(t) => t,
            other => panic!("not a first use: {other:?}"),
        }
    }

    #[test]
    fn retries_replay_mismatches_are_refused_and_records_expire() {
        let store = Arc::new(Idempotency::new(10));
        let ticket = new(claim(&store, "a", "k", "{}", 0));
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
        assert!(valid_key(b"abc-123"));
        assert!(!valid_key(b""));
        assert!(!valid_key(b"a b"));
        assert!(!valid_key(&[b'a'; 256]));
    }

    #[test]
    fn failed_first_requests_leave_nothing_behind_not_even_in_the_age_index() {
        let store = Arc::new(Idempotency::new(3));
        for i in 0..1_000 {
            drop(claim(&store, "a", &format!("k{i}"), "{}", i));
        }
        assert_eq!(store.len(), (0, 0), "every slot freed, the index too");
        new(claim(&store, "a", "k0", "{}", 1_000)).done("x");
        for i in 0..10 {
            if let Claim::New(t) = claim(&store, &format!("c{i}"), "k", "{}", 1_001) {
                t.done("y");
            }
        }
        let (entries, indexed) = store.len();
        assert!(entries <= 3);
        assert_eq!(entries, indexed);
    }

    #[test]
    fn a_record_still_being_answered_is_never_evicted() {
        // One record per caller (a tenth of 10), ten in all.
        let store = Arc::new(Idempotency::new(10));
        let first = new(claim(&store, "a", "mint", "{}", 0));
        // The caller's share is full of a pending record: no room, and it stays.
        assert!(matches!(claim(&store, "a", "other", "{}", 1), Claim::Busy));
        let mut others = Vec::new();
        for i in 0..9 {
            others.push(new(claim(&store, &format!("c{i}"), "k", "{}", 2)));
        }
        // The table is full of pending records: a newcomer waits, nobody is evicted.
        assert!(matches!(claim(&store, "z", "k", "{}", 3), Claim::Busy));
        assert!(matches!(
            claim(&store, "a", "mint", "{}", 4),
            Claim::InFlight
        ));
        first.done("key_1");
        assert!(
            matches!(claim(&store, "a", "mint", "{}", 5), Claim::Replay(_)),
            "the retry answers, no second mint"
        );
        drop(others);
    }

    #[test]
    fn one_caller_evicts_only_its_own_records_within_its_share() {
        let store = Arc::new(Idempotency::new(100));
        new(claim(&store, "victim", "mine", "{}", 0)).done("key_v");
        // A flood from one caller: it keeps at most its share, its oldest going first.
        for i in 0..10_000 {
            new(claim(&store, "flood", &format!("k{i}"), "{}", 1)).done("key_f");
        }
        assert!(
            store.holds("victim", "mine"),
            "another caller's record stays"
        );
        assert_eq!(
            store.len(),
            (1 + 100 / CALLER_SHARE, 1 + 100 / CALLER_SHARE)
        );
        assert!(store.holds("flood", "k9999"));
        assert!(!store.holds("flood", "k0"));
        // When the whole table is full, the caller holding the most pays.
        let store = Arc::new(Idempotency::new(20));
        for i in 0..2 {
            new(claim(&store, "big", &format!("k{i}"), "{}", 0)).done("b");
        }
        for i in 0..18 {
            new(claim(&store, &format!("small{i}"), "k", "{}", 0)).done("s");
        }
        new(claim(&store, "newcomer", "k", "{}", 1)).done("n");
        assert!(
            !store.holds("big", "k0"),
            "the largest holder's oldest went"
        );
        assert!(store.holds("big", "k1") && store.holds("newcomer", "k"));
        assert!((0..18).all(|i| store.holds(&format!("small{i}"), "k")));
    }

    #[test]
    fn a_stale_ticket_touches_only_its_own_record() {
        let store = Arc::new(Idempotency::new(10));
        let stale = new(claim(&store, "a", "k", "{}", 0));
        // The window passes while the first request hangs; a new first use of the key.
        let fresh = new(claim(&store, "a", "k", "{}", WINDOW_SECS));
        drop(stale);
        assert!(
            matches!(
                claim(&store, "a", "k", "{}", WINDOW_SECS + 1),
                Claim::InFlight
            ),
            "the stale ticket's drop left the new record alone"
        );
        let store = Arc::new(Idempotency::new(10));
        let stale = new(claim(&store, "b", "k", "{}", 0));
        let newer = new(claim(&store, "b", "k", "{}", WINDOW_SECS));
        stale.done("key_old");
        assert!(matches!(
            claim(&store, "b", "k", "{}", WINDOW_SECS + 1),
            Claim::InFlight
        ));
        newer.done("key_new");
        drop(fresh);
        assert!(matches!(
            claim(&store, "b", "k", "{}", WINDOW_SECS + 2),
            Claim::Replay(id) if id == "key_new"
        ));
    }
}
