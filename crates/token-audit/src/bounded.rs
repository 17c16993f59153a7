//! A map of fixed capacity that evicts the least recently touched entries.

use std::collections::HashMap;
use std::hash::Hash;

/// At most `capacity` entries; when full, the older half (by last touch) is evicted in
/// one pass, so each insertion costs amortised O(log n).
#[derive(Debug)]
pub(crate) struct BoundedMap<K, V> {
    map: HashMap<K, (V, i64)>,
    capacity: usize,
}

impl<K: Hash + Eq + Clone, V> BoundedMap<K, V> {
    pub(crate) fn new(capacity: usize) -> Self {
        BoundedMap {
            map: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// The entry for `key`, created with `make` if absent, touched at `now`.
    pub(crate) fn entry(&mut self, key: &K, now: i64, make: impl FnOnce() -> V) -> &mut V {
        if !self.map.contains_key(key) && self.map.len() >= self.capacity {
            self.evict_older_half();
        }
        let slot = self.map.entry(key.clone()).or_insert_with(|| (make(), now));
        slot.1 = slot.1.max(now);
        &mut slot.0
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|(v, _)| v)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    fn evict_older_half(&mut self) {
        let mut touches: Vec<i64> = self.map.values().map(|(_, t)| *t).collect();
        let mid = touches.len() / 2;
        let (_, median, _) = touches.select_nth_unstable(mid);
        let median = *median;
        // Everything touched at or before the median goes (ties included), so at
        // least half the entries are freed.
        self.map.retain(|_, (_, t)| *t > median);
    }
}

#[cfg(test)]
mod tests {
    use super::BoundedMap;

    #[test]
    fn never_exceeds_capacity_and_keeps_recent_entries() {
        let mut m = BoundedMap::new(100);
        for i in 0..10_000i64 {
            *m.entry(&i, i, || 0) += 1;
            assert!(m.len() <= 100);
        }
        assert!(m.get(&9_999).is_some());
        assert!(m.get(&0).is_none());
        // Same touch time for everything: still bounded.
        let mut m = BoundedMap::new(10);
        for i in 0..1000 {
            m.entry(&i, 5, || ());
        }
        assert!(m.len() <= 10);
    }
}
