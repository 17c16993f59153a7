//! `KeyStore`: where key records live. SQL and Redis backends implement the same trait.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::ops::Bound;
use std::sync::RwLock;

use super::bulk::{BulkRevoke, ScopeCover};
use super::page::MAX_PAGE_LIMIT;
use super::{KeyFilter, KeyHash, KeyPage, KeyRecord, KeyStatus, PageCursor};
use crate::store::{StoreError, StoreErrorKind};

/// The outcome of taking one usage credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreditOutcome {
    /// The key is not metered.
    Unlimited,
    /// One credit was taken; this many are left.
    Consumed {
        /// Credits left.
        remaining: u64,
    },
    /// No credit was left (`usage_exceeded`).
    Exhausted,
}

/// Storage for API-key records, looked up by id or by the key's hash. Async so that
/// database backends fit; implementations must make `consume_credit` atomic (apply
/// [`super::Credits::consume`] under a lock, a transaction or a script), and `revoke`
/// unconditional (one write that no concurrent write can make fail).
pub trait KeyStore: Send + Sync + 'static {
    /// Stores a new record; `Conflict` if its id or hash exists.
    fn insert(&self, record: KeyRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The record whose key hashes to `hash`.
    fn find_by_hash(
        &self,
        hash: &KeyHash,
    ) -> impl Future<Output = Result<Option<KeyRecord>, StoreError>> + Send;

    /// The record with this id.
    fn get(&self, id: &str) -> impl Future<Output = Result<Option<KeyRecord>, StoreError>> + Send;

    /// Replaces the record with the same id if the stored version still equals
    /// `record.version` (compare-and-swap), storing it with the version bumped:
    /// `Conflict` when someone wrote in between, `NotFound` if there is no such record.
    /// `consume_credit` and `revoke` bump the version too; `touch` may (a store that
    /// writes `last_used_at` in batches need not, if `update` never moves
    /// `last_used_at` back).
    fn update(&self, record: KeyRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Marks the key revoked (`at`, `reason`) whatever its version, in one atomic
    /// write, bumping the version so that a compare-and-swap writer that read the key
    /// before must re-read it (and sees it revoked). A key already revoked keeps its
    /// first revocation. Returns the record as stored; `NotFound` if there is none.
    /// No conflict is possible: revocation must win against any stream of other
    /// writes (credit uses on a busy leaked key bump the version all the time).
    fn revoke(
        &self,
        id: &str,
        at: i64,
        reason: &str,
    ) -> impl Future<Output = Result<KeyRecord, StoreError>> + Send;

    /// Every record, or those of one tenant.
    fn list(
        &self,
        tenant: Option<&str>,
    ) -> impl Future<Output = Result<Vec<KeyRecord>, StoreError>> + Send;

    /// One page of the records matching `filter`, in `(created_at, id)` order,
    /// starting strictly after `after` (from the first record without one): at most
    /// `limit` records (a `limit` of 0 counts as 1), and the cursor of the next page
    /// when more may follow ([`KeyPage::from_overfetch`] builds it from `limit + 1`
    /// records). Keyset pagination, so that a walk never repeats a record and never
    /// skips one that matched throughout (see [`super::PageCursor`]); a SQL store
    /// answers it from an index on `(created_at, id)`, a memory store without
    /// copying records it does not return.
    fn list_page(
        &self,
        filter: &KeyFilter,
        after: Option<&PageCursor>,
        limit: usize,
    ) -> impl Future<Output = Result<KeyPage, StoreError>> + Send;

    /// Revokes (`at`, `reason`) every record matching `filter` that is not revoked
    /// yet, all or nothing: if one of them is not within `cover` (it holds a scope
    /// the operator lacks), nothing is revoked
    /// ([`BulkStop::Uncovered`](super::BulkStop::Uncovered)). Returns the records
    /// revoked, as stored.
    ///
    /// A store that can should check and revoke in one write (one lock, one
    /// statement), so that a key minted or changed meanwhile is judged by the same
    /// write that revokes it, and no matching key is usable once it returns. In SQL:
    ///
    /// ```sql
    /// UPDATE api_keys k SET status = 'revoked', revoked_at = ?, reason = ?
    ///  WHERE <filter on k> AND k.status <> 'revoked'
    ///    AND NOT EXISTS (SELECT 1 FROM api_keys u JOIN api_key_scopes s ON s.key_id = u.id
    ///                     WHERE <filter on u> AND u.status <> 'revoked'
    ///                       AND NOT <s.scope within the cover>)
    /// RETURNING *
    /// ```
    ///
    /// ([`ScopeCover`] says how its test reads as text matching.)
    ///
    /// The default walks the pages first, checking the cover and collecting the ids,
    /// then revokes exactly those ids one by one ([`KeyStore::revoke`]): a key minted
    /// after the walk is neither checked nor revoked. It is not one write: a store
    /// failure midway leaves the keys before it revoked, and the outcome lists them
    /// ([`BulkStop::Store`](super::BulkStop::Store)); a key whose scopes were
    /// widened (`widen_scopes`) between the walk and its turn is revoked as it was
    /// checked.
    fn revoke_matching(
        &self,
        filter: &KeyFilter,
        cover: &ScopeCover,
        at: i64,
        reason: &str,
    ) -> impl Future<Output = BulkRevoke> + Send {
        async move {
            let mut checked = Vec::new();
            let mut after: Option<PageCursor> = None;
            loop {
                let page = match self.list_page(filter, after.as_ref(), MAX_PAGE_LIMIT).await {
                    Ok(page) => page,
                    Err(e) => return BulkRevoke::failed(Vec::new(), e),
                };
                for record in page.records {
                    if matches!(record.status, KeyStatus::Revoked { .. }) {
                        continue;
                    }
                    if !cover.covers(&record.scopes) {
                        return BulkRevoke::uncovered();
                    }
                    checked.push(record.id);
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            let mut revoked = Vec::with_capacity(checked.len());
            for id in &checked {
                match self.revoke(id, at, reason).await {
                    Ok(record)
                        if matches!(&record.status, KeyStatus::Revoked { at: when, reason: why }
                            if *when == at && why == reason) =>
                    {
                        revoked.push(record);
                    }
                    // Revoked meanwhile by someone else (its first revocation stands),
                    // or gone: not this call's to count.
                    Ok(_) => {}
                    Err(e) if e.kind() == StoreErrorKind::NotFound => {}
                    Err(e) => return BulkRevoke::failed(revoked, e),
                }
            }
            BulkRevoke::done(revoked)
        }
    }

    /// Records that the key was used at `at` (monotonic: an older time is ignored).
    /// Called on cache misses only, so `last_used_at` is accurate to the cache TTL.
    fn touch(&self, id: &str, at: i64) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Atomically applies any due refill and takes one credit.
    fn consume_credit(
        &self,
        id: &str,
        now: i64,
    ) -> impl Future<Output = Result<CreditOutcome, StoreError>> + Send;
}

/// An in-memory [`KeyStore`] for one process and for tests.
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    inner: RwLock<Tables>,
}

#[derive(Debug, Default)]
struct Tables {
    by_id: HashMap<String, KeyRecord>,
    /// Keyed by `KeyHash`, whose equality is constant-time.
    by_hash: HashMap<KeyHash, String>,
    /// Every id in listing order, `(created_at, id)`: pages start anywhere at once.
    order: BTreeSet<(i64, String)>,
}

impl MemoryKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tables> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl KeyStore for MemoryKeyStore {
    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError> {
        let mut t = self.write();
        if t.by_id.contains_key(&record.id) || t.by_hash.contains_key(&record.hash) {
            return Err(StoreError::new(
                StoreErrorKind::Conflict,
                "key id or hash exists",
            ));
        }
        t.by_hash.insert(record.hash, record.id.clone());
        t.order.insert((record.created_at, record.id.clone()));
        t.by_id.insert(record.id.clone(), record);
        Ok(())
    }

    async fn find_by_hash(&self, hash: &KeyHash) -> Result<Option<KeyRecord>, StoreError> {
        let t = self.read();
        Ok(t.by_hash.get(hash).and_then(|id| t.by_id.get(id)).cloned())
    }

    async fn get(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        Ok(self.read().by_id.get(id).cloned())
    }

    async fn update(&self, record: KeyRecord) -> Result<(), StoreError> {
        let mut t = self.write();
        let Some(old) = t.by_id.get(&record.id) else {
            return Err(StoreError::new(
                StoreErrorKind::NotFound,
                "no key with this id",
            ));
        };
        if old.hash != record.hash {
            return Err(StoreError::new(
                StoreErrorKind::Conflict,
                "a key's hash never changes",
            ));
        }
        if old.version != record.version {
            return Err(StoreError::new(
                StoreErrorKind::Conflict,
                "the record changed since it was read",
            ));
        }
        let mut record = record;
        record.version += 1;
        t.by_id.insert(record.id.clone(), record);
        Ok(())
    }

    async fn revoke(&self, id: &str, at: i64, reason: &str) -> Result<KeyRecord, StoreError> {
        let mut t = self.write();
        let record = t
            .by_id
            .get_mut(id)
            .ok_or_else(|| StoreError::new(StoreErrorKind::NotFound, "no key with this id"))?;
        if !matches!(record.status, KeyStatus::Revoked { .. }) {
            record.status = KeyStatus::Revoked {
                at,
                reason: reason.to_owned(),
            };
        }
        record.version += 1;
        Ok(record.clone())
    }

    async fn list(&self, tenant: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
        let mut out: Vec<KeyRecord> = self
            .read()
            .by_id
            .values()
            .filter(|r| tenant.is_none() || r.tenant.as_deref() == tenant)
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    async fn list_page(
        &self,
        filter: &KeyFilter,
        after: Option<&PageCursor>,
        limit: usize,
    ) -> Result<KeyPage, StoreError> {
        let limit = limit.max(1);
        let t = self.read();
        let start = after.map_or(Bound::Unbounded, |c| {
            Bound::Excluded((c.created_at(), c.id().to_owned()))
        });
        let records = t
            .order
            .range((start, Bound::Unbounded))
            .filter_map(|(_, id)| t.by_id.get(id))
            .filter(|r| filter.matches(r))
            .take(limit.saturating_add(1))
            .cloned()
            .collect();
        Ok(KeyPage::from_overfetch(records, limit))
    }

    async fn revoke_matching(
        &self,
        filter: &KeyFilter,
        cover: &ScopeCover,
        at: i64,
        reason: &str,
    ) -> BulkRevoke {
        // One lock: the check and the write see the same records.
        let mut t = self.write();
        let live =
            |r: &KeyRecord| filter.matches(r) && !matches!(r.status, KeyStatus::Revoked { .. });
        if t.by_id
            .values()
            .any(|r| live(r) && !cover.covers(&r.scopes))
        {
            return BulkRevoke::uncovered();
        }
        let mut revoked = Vec::new();
        for record in t.by_id.values_mut().filter(|r| live(r)) {
            record.status = KeyStatus::Revoked {
                at,
                reason: reason.to_owned(),
            };
            record.version += 1;
            revoked.push(record.clone());
        }
        BulkRevoke::done(revoked)
    }

    async fn touch(&self, id: &str, at: i64) -> Result<(), StoreError> {
        if let Some(record) = self.write().by_id.get_mut(id) {
            record.last_used_at = Some(record.last_used_at.map_or(at, |t| t.max(at)));
            record.version += 1;
        }
        Ok(())
    }

    async fn consume_credit(&self, id: &str, now: i64) -> Result<CreditOutcome, StoreError> {
        let mut t = self.write();
        let record = t
            .by_id
            .get_mut(id)
            .ok_or_else(|| StoreError::new(StoreErrorKind::NotFound, "no key with this id"))?;
        record.version += 1;
        Ok(match &mut record.credits {
            None => CreditOutcome::Unlimited,
            Some(credits) => match credits.consume(now) {
                Some(remaining) => CreditOutcome::Consumed { remaining },
                None => CreditOutcome::Exhausted,
            },
        })
    }
}
