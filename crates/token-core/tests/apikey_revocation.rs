//! Revocation always wins: a store whose compare-and-swap always conflicts (a busy
//! metered key bumps the version on every use) cannot keep a key from being revoked;
//! and a store whose writes fail is not retried.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use token_core::ManualClock;
use token_core::apikey::admin::KeyUpdate;
use token_core::apikey::{
    ApiKeyErrorKind, ApiKeys, Credits, KeyFormat, KeyRecord, KeyStatus, NewKey,
};
use token_core::backend::KeyHash;
use token_core::backend::{CreditOutcome, KeyStore, MemoryKeyStore};
use token_core::backend::{StoreError, StoreErrorKind};

const NOW: i64 = 1_800_000_000;

/// What a store's compare-and-swap writes do.
#[derive(Debug, Default, Clone, Copy)]
enum Writes {
    /// Every write loses to a credit use that slipped in between.
    #[default]
    LoseTheRace,
    /// Every write fails: the backend is down for writes.
    Fail,
}

/// A store whose writes never succeed, in one of two ways.
#[derive(Debug, Default)]
struct AlwaysConflicting {
    inner: MemoryKeyStore,
    updates: AtomicUsize,
    writes: Writes,
}

impl KeyStore for AlwaysConflicting {
    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError> {
        self.inner.insert(record).await
    }
    async fn find_by_hash(&self, hash: &KeyHash) -> Result<Option<KeyRecord>, StoreError> {
        self.inner.find_by_hash(hash).await
    }
    async fn get(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.inner.get(id).await
    }
    async fn update(&self, record: KeyRecord) -> Result<(), StoreError> {
        self.updates.fetch_add(1, Ordering::SeqCst);
        if let Writes::Fail = self.writes {
            return Err(StoreError::new(StoreErrorKind::Unavailable, "disk full"));
        }
        // A use of the key wins the race every time.
        self.inner.consume_credit(&record.id, NOW).await?;
        self.inner.update(record).await
    }
    async fn revoke(&self, id: &str, at: i64, reason: &str) -> Result<KeyRecord, StoreError> {
        self.inner.revoke(id, at, reason).await
    }
    async fn list(&self, tenant: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
        self.inner.list(tenant).await
    }
    async fn list_page(
        &self,
        filter: &token_core::apikey::admin::KeyFilter,
        after: Option<&token_core::apikey::admin::PageCursor>,
        limit: usize,
    ) -> Result<token_core::apikey::admin::KeyPage, StoreError> {
        self.inner.list_page(filter, after, limit).await
    }
    async fn touch(&self, id: &str, at: i64) -> Result<(), StoreError> {
        self.inner.touch(id, at).await
    }
    async fn consume_credit(&self, id: &str, now: i64) -> Result<CreditOutcome, StoreError> {
        self.inner.consume_credit(id, now).await
    }
}

fn keys(clock: &ManualClock) -> ApiKeys<AlwaysConflicting> {
    ApiKeys::builder(
        AlwaysConflicting::default(),
        KeyFormat::new("tk_live").unwrap(),
    )
    .clock(Arc::new(clock.clone()))
    .build()
}

#[tokio::test]
async fn revocation_wins_against_a_store_that_always_conflicts() {
    let clock = ManualClock::new(NOW);
    let keys = keys(&clock);
    let (secret, record) = keys
        .mint(NewKey::new("busy", "a".parse().unwrap()).credits(Credits::fixed(1_000)))
        .await
        .unwrap();
    keys.verify(secret.expose_secret()).await.unwrap();
    // The store really does starve compare-and-swap writers...
    let renamed = keys
        .update(&record.id, KeyUpdate::new().name("renamed"))
        .await
        .unwrap_err();
    assert_eq!(renamed.kind(), ApiKeyErrorKind::StoreUnavailable);
    assert!(
        keys.store().updates.load(Ordering::SeqCst) > 1,
        "it retried"
    );
    // ...but not revocation.
    let revoked = keys.revoke(&record.id, "leaked").await.unwrap();
    assert!(matches!(
        revoked.status,
        KeyStatus::Revoked { at: NOW, ref reason } if reason == "leaked"
    ));
    assert_eq!(
        keys.verify(secret.expose_secret())
            .await
            .unwrap_err()
            .code(),
        "key_revoked",
        "refused at once in this process"
    );
    assert!(matches!(
        keys.get(&record.id).await.unwrap().status,
        KeyStatus::Revoked { .. }
    ));
}

#[tokio::test]
async fn the_first_revocation_stands_and_unknown_ids_are_not_found() {
    let clock = ManualClock::new(NOW);
    let keys = keys(&clock);
    let (_, record) = keys
        .mint(NewKey::new("k", "a".parse().unwrap()))
        .await
        .unwrap();
    keys.revoke(&record.id, "leaked").await.unwrap();
    clock.advance_secs(60);
    let again = keys.revoke(&record.id, "cleanup").await.unwrap();
    assert!(matches!(
        again.status,
        KeyStatus::Revoked { at: NOW, ref reason } if reason == "leaked"
    ));
    assert_eq!(
        keys.revoke("key_missing", "x").await.unwrap_err().kind(),
        ApiKeyErrorKind::NotFound
    );
}

#[tokio::test]
async fn a_revocation_between_read_and_write_is_never_overwritten() {
    // A compare-and-swap writer that read the key before the revocation must re-read:
    // the unconditional revoke bumps the version.
    let store = MemoryKeyStore::new();
    let keys = ApiKeys::new(store, KeyFormat::new("tk_live").unwrap());
    let (_, record) = keys
        .mint(NewKey::new("k", "a".parse().unwrap()))
        .await
        .unwrap();
    let stale = keys.get(&record.id).await.unwrap();
    keys.revoke(&record.id, "leaked").await.unwrap();
    let err = keys.store().update(stale).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict);
    assert!(matches!(
        keys.get(&record.id).await.unwrap().status,
        KeyStatus::Revoked { .. }
    ));
}

#[tokio::test]
async fn a_failing_store_is_written_once_and_its_error_kept() {
    let clock = ManualClock::new(NOW);
    let store = AlwaysConflicting {
        writes: Writes::Fail,
        ..AlwaysConflicting::default()
    };
    let keys = ApiKeys::builder(store, KeyFormat::new("tk_live").unwrap())
        .clock(Arc::new(clock.clone()))
        .build();
    let (_, record) = keys
        .mint(NewKey::new("k", "a".parse().unwrap()))
        .await
        .unwrap();
    let err = keys
        .update(&record.id, KeyUpdate::new().name("renamed"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ApiKeyErrorKind::StoreUnavailable);
    // Only a lost compare-and-swap is retried; an outage is not hammered.
    assert_eq!(keys.store().updates.load(Ordering::SeqCst), 1);
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "store unavailable: disk full"
    );
}
