//! Paged listings under concurrent change: walking every page while keys are minted
//! and revoked never repeats a key and never skips one that matched throughout.

use std::collections::HashSet;
use std::sync::Arc;

use proptest::prelude::*;
use token_core::ManualClock;
use token_core::apikey::admin::{KeyFilter, PageCursor, StatusFilter};
use token_core::apikey::{ApiKeys, KeyFormat, KeyRecord, NewKey};
use token_core::backend::KeyHash;
use token_core::backend::{CreditOutcome, KeyStore, MemoryKeyStore, StoreError};

const NOW: i64 = 1_800_000_000;

/// Something that happens between two pages.
#[derive(Debug, Clone)]
enum Change {
    /// Mint a key, of owner `o` or not, the clock moving on by 0 or more seconds.
    Mint { owned: bool, tick: i64 },
    /// Revoke the n-th key minted so far (modulo their count).
    Revoke(usize),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (any::<bool>(), 0..3_i64).prop_map(|(owned, tick)| Change::Mint { owned, tick }),
        any::<usize>().prop_map(Change::Revoke),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

async fn mint(keys: &ApiKeys<MemoryKeyStore>, owned: bool, i: usize) -> String {
    let mut spec = NewKey::new(&format!("k{i}"), "read:x".parse().unwrap());
    if owned {
        spec = spec.owner("o");
    }
    keys.mint(spec).await.unwrap().1.id
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn walking_pages_under_change_never_repeats_or_skips(
        initial in proptest::collection::vec((any::<bool>(), 0..2_i64), 0..40),
        limit in 1..8_usize,
        changes in proptest::collection::vec(proptest::collection::vec(change(), 0..4), 0..40),
        by_owner in any::<bool>(),
        active_only in any::<bool>(),
    ) {
        runtime().block_on(async {
            let clock = ManualClock::new(NOW);
            let keys = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
                .clock(Arc::new(clock.clone()))
                .build();
            let mut minted = Vec::new();
            let mut owned = HashSet::new();
            for (i, (is_owned, tick)) in initial.iter().enumerate() {
                clock.advance_secs(*tick);
                let id = mint(&keys, *is_owned, i).await;
                if *is_owned {
                    owned.insert(id.clone());
                }
                minted.push(id);
            }
            let before: Vec<String> = minted.clone();
            let mut revoked = HashSet::new();
            let mut filter = KeyFilter::new();
            if by_owner {
                filter = filter.owner("o");
            }
            if active_only {
                filter = filter.status(StatusFilter::Active);
            }
            let mut seen = Vec::new();
            let mut cursor: Option<PageCursor> = None;
            let mut round = 0;
            loop {
                let page = keys.store().list_page(&filter, cursor.as_ref(), limit).await.unwrap();
                prop_assert!(page.records.len() <= limit);
                for r in &page.records {
                    prop_assert!(filter.matches(r), "a page holds only matching keys");
                    seen.push(r.id.clone());
                }
                for c in changes.get(round).into_iter().flatten() {
                    match c {
                        Change::Mint { owned: o, tick } => {
                            clock.advance_secs(*tick);
                            let id = mint(&keys, *o, minted.len()).await;
                            if *o {
                                owned.insert(id.clone());
                            }
                            minted.push(id);
                        }
                        Change::Revoke(n) if !minted.is_empty() => {
                            let id = &minted[n % minted.len()];
                            keys.revoke(id, "test").await.unwrap();
                            revoked.insert(id.clone());
                        }
                        Change::Revoke(_) => {}
                    }
                }
                round += 1;
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            let unique: HashSet<_> = seen.iter().collect();
            prop_assert_eq!(unique.len(), seen.len(), "a key was listed twice");
            for id in &before {
                let matched_throughout = (!by_owner || owned.contains(id))
                    && (!active_only || !revoked.contains(id));
                if matched_throughout {
                    prop_assert!(unique.contains(id), "{} was skipped", id);
                }
            }
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn pages_follow_creation_order_and_the_last_page_has_no_cursor() {
    let clock = ManualClock::new(NOW);
    let keys = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .clock(Arc::new(clock.clone()))
        .build();
    let mut ids = Vec::new();
    for i in 0..5 {
        clock.advance_secs(1);
        ids.push(mint(&keys, false, i).await);
    }
    let filter = KeyFilter::new();
    let first = keys.store().list_page(&filter, None, 2).await.unwrap();
    assert_eq!(
        first.records.iter().map(|r| &r.id).collect::<Vec<_>>(),
        [&ids[0], &ids[1]]
    );
    let cursor: PageCursor = first.next.unwrap().encode().parse().unwrap();
    let second = keys
        .store()
        .list_page(&filter, Some(&cursor), 3)
        .await
        .unwrap();
    assert_eq!(second.records.len(), 3);
    assert!(second.next.is_none(), "exactly the rest: no further page");
    let named = KeyFilter::new().name_prefix("k3");
    let only = keys.store().list_page(&named, None, 50).await.unwrap();
    assert_eq!(only.records.len(), 1);
    assert_eq!(only.records[0].id, ids[3]);
}

/// A store that implements only what the trait requires, so `revoke_matching` is the
/// trait's default (page by page), as a new backend's would be at first. It counts
/// the pages asked for.
#[derive(Debug, Default)]
struct Minimal(MemoryKeyStore, std::sync::atomic::AtomicUsize);

impl KeyStore for Minimal {
    async fn insert(&self, r: KeyRecord) -> Result<(), StoreError> {
        self.0.insert(r).await
    }
    async fn find_by_hash(&self, h: &KeyHash) -> Result<Option<KeyRecord>, StoreError> {
        self.0.find_by_hash(h).await
    }
    async fn get(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.0.get(id).await
    }
    async fn update(&self, r: KeyRecord) -> Result<(), StoreError> {
        self.0.update(r).await
    }
    async fn revoke(&self, id: &str, at: i64, why: &str) -> Result<KeyRecord, StoreError> {
        self.0.revoke(id, at, why).await
    }
    async fn list(&self, tenant: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
        self.0.list(tenant).await
    }
    async fn list_page(
        &self,
        filter: &KeyFilter,
        after: Option<&PageCursor>,
        limit: usize,
    ) -> Result<token_core::apikey::admin::KeyPage, StoreError> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.list_page(filter, after, limit).await
    }
    async fn touch(&self, id: &str, at: i64) -> Result<(), StoreError> {
        self.0.touch(id, at).await
    }
    async fn consume_credit(&self, id: &str, now: i64) -> Result<CreditOutcome, StoreError> {
        self.0.consume_credit(id, now).await
    }
}

#[tokio::test]
async fn the_default_bulk_revocation_and_the_memory_stores_agree() {
    let clock = ManualClock::new(NOW);
    let minimal = ApiKeys::builder(Minimal::default(), KeyFormat::new("tk_live").unwrap())
        .clock(Arc::new(clock.clone()))
        .build();
    let memory = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .clock(Arc::new(clock.clone()))
        .build();
    let mut revoked_counts = Vec::new();
    // 1,100 keys of owner `o` among 1,650: three pages of the default's
    // `MAX_PAGE_LIMIT` (500).
    for i in 0..1_650 {
        let spec = NewKey::new(&format!("k{i}"), "read:x".parse().unwrap()).owner(if i % 3 == 0 {
            "p"
        } else {
            "o"
        });
        minimal.mint(spec.clone()).await.unwrap();
        memory.mint(spec).await.unwrap();
    }
    let filter = KeyFilter::new().owner("o");
    let cover = token_core::backend::ScopeCover::new(
        "read:*".parse().unwrap(),
        token_scopes::Scope::new("admin:tenants").unwrap(),
    );
    let all = minimal.list(None).await.unwrap();
    let first = all
        .iter()
        .find(|r| r.owner.as_deref() == Some("o"))
        .unwrap()
        .id
        .clone();
    minimal.revoke(&first, "earlier").await.unwrap();
    let pages_before = minimal.store().1.load(std::sync::atomic::Ordering::SeqCst);
    for outcome in [
        minimal
            .store()
            .revoke_matching(&filter, &cover, NOW, "bulk")
            .await,
        memory
            .store()
            .revoke_matching(&filter, &cover, NOW, "bulk")
            .await,
    ] {
        assert!(outcome.stopped.is_none());
        assert!(
            outcome
                .revoked
                .iter()
                .all(|r| r.owner.as_deref() == Some("o"))
        );
        revoked_counts.push(outcome.revoked.len());
    }
    let pages = minimal.store().1.load(std::sync::atomic::Ordering::SeqCst) - pages_before;
    assert_eq!(pages, 3, "the default walked every page of the filter");
    // The one already revoked keeps its first revocation and is not counted again.
    assert_eq!(revoked_counts, [1_099, 1_100]);
    let left = minimal
        .store()
        .list_page(&filter.clone().status(StatusFilter::Active), None, 500)
        .await
        .unwrap();
    assert!(left.records.is_empty());
    let kept = minimal.get(&first).await.unwrap();
    assert!(
        matches!(kept.status, token_core::apikey::KeyStatus::Revoked { ref reason, .. } if reason == "earlier")
    );
}
