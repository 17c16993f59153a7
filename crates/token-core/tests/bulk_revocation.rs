//! Bulk revocation when the store misbehaves: a failure midway leaves an honest
//! outcome (what was revoked is refused at once and reported), and a wider key that
//! appears between the check and the write is never revoked by a lesser operator.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use token_core::apikey::admin::{BulkSelector, KeyFilter, KeyPage, Operator, PageCursor};
use token_core::apikey::{ApiKeyErrorKind, ApiKeys, KeyFormat, KeyRecord, KeyStatus, NewKey};
use token_core::backend::{
    CreditOutcome, KeyHash, KeyStore, MemoryKeyStore, StoreError, StoreErrorKind,
};
use token_core::{ManualClock, Principal, PrincipalKind};
use token_scopes::Scope;

const NOW: i64 = 1_800_000_000;

/// A store with the trait's default `revoke_matching` (page by page) that can fail
/// its `fail_at`-th `revoke` (counting from 1; 0: never), and can slip a record in
/// right after answering the first page (a key minted between check and write).
#[derive(Debug, Default)]
struct Flaky {
    inner: MemoryKeyStore,
    revokes: AtomicUsize,
    fail_at: AtomicUsize,
    slip_in: Mutex<Option<KeyRecord>>,
}

impl KeyStore for Flaky {
    async fn insert(&self, r: KeyRecord) -> Result<(), StoreError> {
        self.inner.insert(r).await
    }
    async fn find_by_hash(&self, h: &KeyHash) -> Result<Option<KeyRecord>, StoreError> {
        self.inner.find_by_hash(h).await
    }
    async fn get(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.inner.get(id).await
    }
    async fn update(&self, r: KeyRecord) -> Result<(), StoreError> {
        self.inner.update(r).await
    }
    async fn revoke(&self, id: &str, at: i64, why: &str) -> Result<KeyRecord, StoreError> {
        let n = self.revokes.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.fail_at.load(Ordering::SeqCst) {
            return Err(StoreError::new(StoreErrorKind::Unavailable, "down"));
        }
        self.inner.revoke(id, at, why).await
    }
    async fn list(&self, tenant: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
        self.inner.list(tenant).await
    }
    async fn list_page(
        &self,
        filter: &KeyFilter,
        after: Option<&PageCursor>,
        limit: usize,
    ) -> Result<KeyPage, StoreError> {
        let page = self.inner.list_page(filter, after, limit).await;
        let slipped = self.slip_in.lock().unwrap().take();
        if let Some(record) = slipped {
            self.inner.insert(record).await?;
        }
        page
    }
    async fn touch(&self, id: &str, at: i64) -> Result<(), StoreError> {
        self.inner.touch(id, at).await
    }
    async fn consume_credit(&self, id: &str, now: i64) -> Result<CreditOutcome, StoreError> {
        self.inner.consume_credit(id, now).await
    }
}

fn keys(store: Flaky) -> (ApiKeys<Flaky>, ManualClock) {
    let clock = ManualClock::new(NOW);
    let keys = ApiKeys::builder(store, KeyFormat::new("tk_live").unwrap())
        .clock(Arc::new(clock.clone()))
        .build();
    (keys, clock)
}

fn admin() -> Principal {
    Principal::builder(
        "op",
        PrincipalKind::AccessToken,
        "admin:keys read:r".parse().unwrap(),
    )
    .tenant(Some("a".to_owned()))
    .build()
}

fn cross() -> Scope {
    Scope::new("admin:tenants").unwrap()
}

async fn owned(keys: &ApiKeys<Flaky>, owner: &str, scopes: &str) -> (String, String) {
    let spec = NewKey::new("k", scopes.parse().unwrap())
        .owner(owner)
        .tenant("a");
    let (secret, record) = keys.mint(spec).await.unwrap();
    (secret.expose_secret().to_owned(), record.id)
}

#[tokio::test]
async fn a_store_failing_midway_leaves_what_it_revoked_refused_and_reported() {
    let (keys, clock) = keys(Flaky::default());
    let mut minted = Vec::new();
    for _ in 0..5 {
        // One second apart: the walk takes them in this order.
        clock.advance_secs(1);
        minted.push(owned(&keys, "app", "read:r").await);
    }
    // A child of the first key: the cascade must reach it on the retry.
    let first = Principal::builder(
        &minted[0].1,
        PrincipalKind::ApiKey,
        "read:r".parse().unwrap(),
    )
    .tenant(Some("a".to_owned()))
    .build();
    let (child, _) = keys
        .mint_for(&first, NewKey::new("child", "read:r".parse().unwrap()))
        .await
        .unwrap();
    // Warm the cache: a revoked key must not be served from it.
    for (secret, _) in &minted {
        keys.verify(secret).await.unwrap();
    }
    keys.store().fail_at.store(3, Ordering::SeqCst);
    let (x, op) = (cross(), admin());
    let selector = BulkSelector::Owner("app".into());
    let e = keys
        .revoke_matching_as(Operator::new(&op, &x), &selector, "offboarded")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ApiKeyErrorKind::StoreUnavailable);
    let done: Vec<&str> = e.done().revoked.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        done,
        [&minted[0].1, &minted[1].1],
        "two revoked before the third write failed"
    );
    assert!(e.to_string().contains("after revoking 2 keys"), "{e}");
    for (secret, id) in &minted {
        let answer = keys.verify(secret).await;
        if done.contains(&id.as_str()) {
            assert_eq!(answer.unwrap_err().code(), "key_revoked", "{id}");
        } else {
            answer.unwrap();
        }
    }
    // The retry revokes the rest, and the cascade reaches the offspring of keys the
    // first call revoked.
    keys.store().fail_at.store(0, Ordering::SeqCst);
    let rest = keys
        .revoke_matching_as(Operator::new(&op, &x), &selector, "offboarded")
        .await
        .unwrap();
    assert_eq!(rest.revoked.len(), 3);
    assert_eq!(rest.offspring.len(), 1);
    for (secret, _) in &minted {
        assert_eq!(keys.verify(secret).await.unwrap_err().code(), "key_revoked");
    }
    assert_eq!(
        keys.verify(child.expose_secret()).await.unwrap_err().code(),
        "key_revoked"
    );
}

#[tokio::test]
async fn a_wider_key_minted_between_the_check_and_the_write_is_not_revoked() {
    let (keys, _) = keys(Flaky::default());
    let narrow = [
        owned(&keys, "app", "read:r").await,
        owned(&keys, "app", "read:r").await,
    ];
    // A key the operator does not cover, minted elsewhere and slipped into the store
    // once the first page of the check has been read.
    let elsewhere = ApiKeys::new(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap());
    let (wider_secret, wider) = elsewhere
        .mint(
            NewKey::new("wider", "read:r admin:keys write:w".parse().unwrap())
                .owner("app")
                .tenant("a"),
        )
        .await
        .unwrap();
    *keys.store().slip_in.lock().unwrap() = Some(wider.clone());
    let (x, op) = (cross(), admin());
    let done = keys
        .revoke_matching_as(
            Operator::new(&op, &x),
            &BulkSelector::Owner("app".into()),
            "offboarded",
        )
        .await
        .unwrap();
    assert_eq!(done.count(), 2, "exactly the keys checked");
    for (secret, _) in &narrow {
        assert_eq!(keys.verify(secret).await.unwrap_err().code(), "key_revoked");
    }
    let kept = keys.get(&wider.id).await.unwrap();
    assert_eq!(kept.status, KeyStatus::Active);
    keys.verify(wider_secret.expose_secret()).await.unwrap();
    // Asked again, the wider key is seen and nothing is revoked.
    assert_eq!(
        keys.revoke_matching_as(
            Operator::new(&op, &x),
            &BulkSelector::Owner("app".into()),
            "again",
        )
        .await
        .unwrap_err()
        .kind(),
        ApiKeyErrorKind::WouldWiden
    );
}

#[tokio::test]
async fn the_memory_store_judges_the_cover_in_its_one_write() {
    let keys = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .clock(Arc::new(ManualClock::new(NOW)))
        .build();
    let (x, op) = (cross(), admin());
    let cover = Operator::new(&op, &x).cover();
    for scopes in ["read:r", "read:r admin:keys", "read:r write:w"] {
        keys.mint(NewKey::new("k", scopes.parse().unwrap()).owner("app"))
            .await
            .unwrap();
    }
    let filter = KeyFilter::new().owner("app");
    let refused = keys
        .store()
        .revoke_matching(&filter, &cover, NOW, "x")
        .await;
    assert!(refused.revoked.is_empty());
    assert!(matches!(
        refused.stopped,
        Some(token_core::backend::BulkStop::Uncovered)
    ));
    let left = keys.store().list_page(&filter, None, 10).await.unwrap();
    assert!(left.records.iter().all(|r| r.status == KeyStatus::Active));
    // Without the uncovered key (revoked one by one), the rest go in one write.
    let wide = left
        .records
        .iter()
        .find(|r| r.scopes.to_string().contains("write:w"))
        .unwrap();
    keys.revoke(&wide.id, "by hand").await.unwrap();
    let done = keys
        .store()
        .revoke_matching(&filter, &cover, NOW, "x")
        .await;
    assert!(done.stopped.is_none());
    assert_eq!(done.revoked.len(), 2);
}
