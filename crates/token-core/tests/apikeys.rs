//! API keys end to end: minting, verification, every refusal, revocation racing
//! verification, single-flight, credits, and secrets never shown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use token_core::apikey::admin::KeyUpdate;
use token_core::apikey::format::FormatError;
use token_core::apikey::{
    ApiKeyErrorKind, ApiKeys, CacheConfig, Credits, KeyFormat, KeyHasher, KeyRecord, KeyStatus,
    NewKey, RefillPeriod,
};
use token_core::backend::KeyHash;
use token_core::backend::StoreError;
use token_core::backend::{CreditOutcome, KeyStore, MemoryKeyStore};
use token_core::{ManualClock, PrincipalKind};
use tokio::sync::Semaphore;

const NOW: i64 = 1_800_000_000;

/// A store that counts lookups by hash and can hold them at a gate.
#[derive(Debug, Default)]
struct Instrumented {
    inner: MemoryKeyStore,
    finds: AtomicUsize,
    gate: Option<Semaphore>,
    /// Held after the read: the record is read, but not yet returned.
    after_read: Option<Semaphore>,
    /// When set, the next `get` waits at `get_gate` after reading.
    hold_next_get: AtomicBool,
    get_gate: Option<Semaphore>,
}

/// Waits for a permit of `gate`, if there is one.
async fn pass(gate: Option<&Semaphore>) -> Result<(), StoreError> {
    if let Some(gate) = gate {
        let _permit = gate.acquire().await.map_err(|_| {
            StoreError::new(token_core::backend::StoreErrorKind::Unavailable, "closed")
        })?;
    }
    Ok(())
}

impl KeyStore for Instrumented {
    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError> {
        self.inner.insert(record).await
    }
    async fn find_by_hash(&self, hash: &KeyHash) -> Result<Option<KeyRecord>, StoreError> {
        self.finds.fetch_add(1, Ordering::SeqCst);
        pass(self.gate.as_ref()).await?;
        // Yield around the read so that lookups overlap revocations in the race test:
        // a record read before a revocation must not be cached or shared after it.
        tokio::task::yield_now().await;
        let found = self.inner.find_by_hash(hash).await;
        pass(self.after_read.as_ref()).await?;
        tokio::task::yield_now().await;
        found
    }
    async fn get(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        let found = self.inner.get(id).await;
        // Optionally hold one reader between its read and whatever it writes next.
        if self.hold_next_get.swap(false, Ordering::SeqCst) {
            pass(self.get_gate.as_ref()).await?;
        }
        found
    }
    async fn update(&self, record: KeyRecord) -> Result<(), StoreError> {
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

fn service(store: Instrumented, clock: &ManualClock) -> ApiKeys<Instrumented> {
    ApiKeys::builder(
        store,
        KeyFormat::new("tk_live").unwrap().accept("tk_old").unwrap(),
    )
    .clock(Arc::new(clock.clone()))
    .build()
}

fn keys() -> (ApiKeys<Instrumented>, ManualClock) {
    let clock = ManualClock::new(NOW);
    (service(Instrumented::default(), &clock), clock)
}

/// Mints a key named `k` with scope `a`.
async fn mint_one<S: KeyStore>(keys: &ApiKeys<S>) -> (token_core::apikey::ApiKeySecret, KeyRecord) {
    keys.mint(NewKey::new("k", "a".parse().unwrap()))
        .await
        .unwrap()
}

fn code<T: std::fmt::Debug>(r: Result<T, token_core::apikey::ApiKeyError>) -> &'static str {
    r.unwrap_err().code()
}

#[tokio::test]
async fn mint_then_verify_gives_the_principal() {
    let (keys, _) = keys();
    let spec = NewKey::new("dashboard", "read:reports read:usage".parse().unwrap())
        .owner("analytics-app")
        .tenant("acme")
        .networks(vec!["10.0.0.0/8".parse().unwrap()])
        .rate_limit("100/minute")
        .metadata("team", "growth");
    let (secret, record) = keys.mint(spec).await.unwrap();
    assert!(secret.expose_secret().starts_with("tk_live_"));
    assert_eq!(record.hint, format!("{}…", &secret.expose_secret()[..12]));
    let p = keys.verify(secret.expose_secret()).await.unwrap();
    assert_eq!(p.id(), record.id);
    assert_eq!(p.kind(), PrincipalKind::ApiKey);
    assert_eq!(p.tenant(), Some("acme"));
    assert_eq!(p.scopes().to_string(), "read:reports read:usage");
    assert_eq!(p.key_id(), Some(record.id.as_str()));
    assert_eq!(p.display_hint(), Some(record.hint.as_str()));
    assert_eq!(p.rate_limit(), Some("100/minute"));
    assert!(p.allows_ip("10.2.3.4".parse().unwrap()));
    assert!(!p.allows_ip("192.0.2.1".parse().unwrap()));
    assert_eq!(p.metadata()["team"], "growth");
    assert_eq!(keys.get(&record.id).await.unwrap().last_used_at, Some(NOW));
}

#[tokio::test]
async fn last_used_is_written_on_misses_only() {
    let (keys, clock) = keys();
    let (secret, record) = mint_one(&keys).await;
    assert_eq!(keys.get(&record.id).await.unwrap().last_used_at, None);
    keys.verify(secret.expose_secret()).await.unwrap();
    clock.advance_secs(10);
    keys.verify(secret.expose_secret()).await.unwrap();
    assert_eq!(
        keys.get(&record.id).await.unwrap().last_used_at,
        Some(NOW),
        "a warm hit writes nothing"
    );
    clock.advance_secs(60);
    keys.verify(secret.expose_secret()).await.unwrap();
    assert_eq!(
        keys.get(&record.id).await.unwrap().last_used_at,
        Some(NOW + 70)
    );
}

#[tokio::test]
async fn format_problems_are_refused_without_a_lookup() {
    let (keys, _) = keys();
    let (secret, _) = mint_one(&keys).await;
    let text = secret.expose_secret();
    let mut typo = text.to_owned();
    typo.replace_range(10..11, if &text[10..11] == "x" { "y" } else { "x" });
    assert_eq!(code(keys.verify(&typo).await), "key_checksum");
    assert_eq!(code(keys.verify("tk_live_nope").await), "key_malformed");
    let other = KeyFormat::new("tk_test").unwrap().generate().unwrap();
    assert_eq!(code(keys.verify(other.expose_secret()).await), "key_prefix");
    assert_eq!(
        keys.store().finds.load(Ordering::SeqCst),
        0,
        "no lookup for any of these"
    );
    // A key with an older accepted prefix is looked up.
    let old = KeyFormat::new("tk_old").unwrap().generate().unwrap();
    assert_eq!(code(keys.verify(old.expose_secret()).await), "key_unknown");
}

#[tokio::test]
async fn unknown_keys_are_negatively_cached() {
    let (keys, clock) = keys();
    let random = KeyFormat::new("tk_live").unwrap().generate().unwrap();
    for _ in 0..50 {
        assert_eq!(
            code(keys.verify(random.expose_secret()).await),
            "key_unknown"
        );
    }
    assert_eq!(keys.store().finds.load(Ordering::SeqCst), 1);
    clock.advance_secs(31);
    assert_eq!(
        code(keys.verify(random.expose_secret()).await),
        "key_unknown"
    );
    assert_eq!(
        keys.store().finds.load(Ordering::SeqCst),
        2,
        "negative entries expire"
    );
    // A flood of distinct random keys never grows the cache past its bound.
    let bounded = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .cache(CacheConfig::default().capacity(64))
        .build();
    for _ in 0..1_000 {
        let k = bounded.format().generate().unwrap();
        assert!(bounded.verify(k.expose_secret()).await.is_err());
    }
    assert!(
        bounded.cached_entries() <= 64,
        "{}",
        bounded.cached_entries()
    );
}

#[tokio::test]
async fn expiry_revocation_and_rotation() {
    let (keys, clock) = keys();
    let (short, _) = keys
        .mint(NewKey::new("short", "a".parse().unwrap()).ttl_secs(60))
        .await
        .unwrap();
    assert!(keys.verify(short.expose_secret()).await.is_ok());
    clock.advance_secs(60);
    assert_eq!(
        code(keys.verify(short.expose_secret()).await),
        "key_expired"
    );

    let (secret, record) = keys
        .mint(NewKey::new("r", "a".parse().unwrap()))
        .await
        .unwrap();
    assert!(keys.verify(secret.expose_secret()).await.is_ok());
    keys.revoke(&record.id, "leaked in a log").await.unwrap();
    assert_eq!(
        code(keys.verify(secret.expose_secret()).await),
        "key_revoked"
    );

    let (old, old_record) = keys
        .mint(NewKey::new("rot", "a b".parse().unwrap()).tenant("acme"))
        .await
        .unwrap();
    let (new, new_record) = keys.rotate(&old_record.id, 3600).await.unwrap();
    assert_eq!(new_record.scopes, old_record.scopes);
    assert_eq!(new_record.tenant, old_record.tenant);
    assert!(
        keys.verify(old.expose_secret()).await.is_ok(),
        "within grace"
    );
    assert!(keys.verify(new.expose_secret()).await.is_ok());
    clock.advance_secs(3600);
    assert_eq!(code(keys.verify(old.expose_secret()).await), "key_rotated");
    assert!(keys.verify(new.expose_secret()).await.is_ok());
    assert_eq!(
        code(keys.rotate(&old_record.id, 10).await),
        "invalid_request"
    );
    assert_eq!(code(keys.revoke("key_missing", "x").await), "key_not_found");
}

#[tokio::test]
async fn updates_narrow_and_widening_is_explicit() {
    let (keys, _) = keys();
    let (secret, record) = keys
        .mint(NewKey::new("k", "read:* write:x".parse().unwrap()))
        .await
        .unwrap();
    let narrowed = keys
        .update(
            &record.id,
            KeyUpdate::new()
                .name("renamed")
                .scopes("read:reports".parse().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(narrowed.name, "renamed");
    assert_eq!(
        keys.verify(secret.expose_secret())
            .await
            .unwrap()
            .scopes()
            .to_string(),
        "read:reports"
    );
    let err = keys
        .update(
            &record.id,
            KeyUpdate::new().scopes("read:*".parse().unwrap()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ApiKeyErrorKind::WouldWiden);
    keys.widen_scopes(&record.id, &"admin:keys".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        keys.verify(secret.expose_secret())
            .await
            .unwrap()
            .scopes()
            .to_string(),
        "admin:keys read:reports"
    );
    keys.update(&record.id, KeyUpdate::new().expires_at(Some(NOW)))
        .await
        .unwrap();
    assert_eq!(
        code(keys.verify(secret.expose_secret()).await),
        "key_expired"
    );
    let big = (0..65).fold(NewKey::new("m", "a".parse().unwrap()), |k, i| {
        k.metadata(&format!("k{i}"), "v")
    });
    assert_eq!(code(keys.mint(big).await), "invalid_request");
}

#[tokio::test]
async fn credits_are_consumed_then_exhausted_then_refilled() {
    let (keys, clock) = keys();
    let (fixed, _) = keys
        .mint(NewKey::new("f", "a".parse().unwrap()).credits(Credits::fixed(2)))
        .await
        .unwrap();
    assert!(keys.verify(fixed.expose_secret()).await.is_ok());
    assert!(keys.verify(fixed.expose_secret()).await.is_ok());
    let err = keys.verify(fixed.expose_secret()).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.code()),
        (ApiKeyErrorKind::UsageExceeded, "usage_exceeded")
    );

    let daily = Credits::refilling(1, RefillPeriod::Daily, NOW);
    let (metered, _) = keys
        .mint(NewKey::new("d", "a".parse().unwrap()).credits(daily))
        .await
        .unwrap();
    assert!(keys.verify(metered.expose_secret()).await.is_ok());
    assert_eq!(
        code(keys.verify(metered.expose_secret()).await),
        "usage_exceeded"
    );
    clock.advance_secs(86_400);
    assert!(
        keys.verify(metered.expose_secret()).await.is_ok(),
        "refilled at the next UTC midnight"
    );
}

/// A service over a store whose lookups wait at `gate` (before the read) or
/// `after_read`, with one minted key.
async fn gated(gate: bool, after_read: bool) -> (ApiKeys<Instrumented>, Arc<String>, KeyRecord) {
    let clock = ManualClock::new(NOW);
    let store = Instrumented {
        gate: gate.then(|| Semaphore::new(0)),
        after_read: after_read.then(|| Semaphore::new(0)),
        ..Instrumented::default()
    };
    let keys = service(store, &clock);
    let (secret, record) = mint_one(&keys).await;
    (keys, Arc::new(secret.expose_secret().to_owned()), record)
}

/// Verifies `secret` in a new task; the reason code on refusal.
fn spawn_verify(
    keys: &ApiKeys<Instrumented>,
    secret: &Arc<String>,
) -> tokio::task::JoinHandle<Result<(), &'static str>> {
    let (keys, secret) = (keys.clone(), Arc::clone(secret));
    tokio::spawn(async move { keys.verify(&secret).await.map(|_| ()).map_err(|e| e.code()) })
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_misses_make_one_store_call() {
    let (keys, secret, _) = gated(true, false).await;
    let tasks: Vec<_> = (0..32).map(|_| spawn_verify(&keys, &secret)).collect();
    // Let every task run up to its await point: one leader at the gate, the rest waiting.
    for _ in 0..64 {
        tokio::task::yield_now().await;
    }
    assert_eq!(keys.store().finds.load(Ordering::SeqCst), 1);
    keys.store().gate.as_ref().unwrap().add_permits(100);
    for t in tasks {
        assert!(t.await.unwrap().is_ok());
    }
    assert_eq!(
        keys.store().finds.load(Ordering::SeqCst),
        1,
        "one store call for 32 misses"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_cancelled_leader_does_not_strand_the_waiters() {
    let (keys, secret, _) = gated(true, false).await;
    let leader = spawn_verify(&keys, &secret);
    tokio::task::yield_now().await;
    let waiter = spawn_verify(&keys, &secret);
    tokio::task::yield_now().await;
    leader.abort();
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
    keys.store().gate.as_ref().unwrap().add_permits(100);
    assert!(
        waiter.await.unwrap().is_ok(),
        "the waiter loaded again after the leader was dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_never_verifies_after_revoke_returns() {
    for round in 0..20 {
        let clock = ManualClock::new(NOW);
        // TTL 0: every verification loads, so loads are in flight while revoking.
        let keys = ApiKeys::builder(Instrumented::default(), KeyFormat::new("tk_live").unwrap())
            .clock(Arc::new(clock.clone()))
            .cache(CacheConfig::default().ttl_secs(if round % 2 == 0 { 0 } else { 60 }))
            .build();
        let (secret, record) = mint_one(&keys).await;
        let secret = Arc::new(secret.expose_secret().to_owned());
        let revoked = Arc::new(AtomicBool::new(false));
        let violations = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (keys, secret, revoked, violations) = (
                    keys.clone(),
                    Arc::clone(&secret),
                    Arc::clone(&revoked),
                    Arc::clone(&violations),
                );
                tokio::spawn(async move {
                    for _ in 0..200 {
                        let started_after = revoked.load(Ordering::SeqCst);
                        let ok = keys.verify(&secret).await.is_ok();
                        if started_after && ok {
                            violations.fetch_add(1, Ordering::SeqCst);
                        }
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        tokio::task::yield_now().await;
        keys.revoke(&record.id, "race").await.unwrap();
        revoked.store(true, Ordering::SeqCst);
        for w in workers {
            w.await.unwrap();
        }
        assert_eq!(violations.load(Ordering::SeqCst), 0, "round {round}");
        assert_eq!(code(keys.verify(&secret).await), "key_revoked");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_lookup_in_flight_during_revoke_cannot_bring_the_key_back() {
    // Deterministic interleaving: A reads the active record, then revoke completes,
    // then B starts, then A's load finishes. B and every later lookup must refuse.
    let (keys, secret, record) = gated(false, true).await;
    let a = spawn_verify(&keys, &secret);
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        keys.store().finds.load(Ordering::SeqCst),
        1,
        "A has read the active record"
    );
    keys.revoke(&record.id, "leaked").await.unwrap();
    let b = spawn_verify(&keys, &secret);
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
    keys.store().after_read.as_ref().unwrap().add_permits(100);
    assert_eq!(a.await.unwrap(), Ok(()), "A started before revoke returned");
    assert_eq!(
        b.await.unwrap(),
        Err("key_revoked"),
        "B must not share A's stale load"
    );
    assert_eq!(
        code(keys.verify(&secret).await),
        "key_revoked",
        "A's load must not fill the cache"
    );
}

#[tokio::test]
async fn a_stale_write_is_refused_by_the_store() {
    let store = MemoryKeyStore::new();
    let keys = ApiKeys::new(store, KeyFormat::new("tk_live").unwrap());
    let (_, record) = mint_one(&keys).await;
    let stale = keys.get(&record.id).await.unwrap();
    keys.revoke(&record.id, "leak").await.unwrap();
    let err = keys.store().update(stale).await.unwrap_err();
    assert_eq!(err.kind(), token_core::backend::StoreErrorKind::Conflict);
    assert!(matches!(
        keys.get(&record.id).await.unwrap().status,
        KeyStatus::Revoked { .. }
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn a_change_racing_a_revocation_never_undoes_it_or_refunds_credits() {
    // Deterministic interleaving: an update reads the record and stalls; meanwhile a
    // credit is taken and the key is revoked; then the update writes. It must not put
    // back the old status or the old credit count.
    let clock = ManualClock::new(NOW);
    let store = Instrumented {
        hold_next_get: AtomicBool::new(false),
        get_gate: Some(Semaphore::new(0)),
        ..Instrumented::default()
    };
    let keys = service(store, &clock);
    let spec = NewKey::new("k", "a".parse().unwrap()).credits(Credits::fixed(10));
    let (secret, record) = keys.mint(spec).await.unwrap();
    keys.store().hold_next_get.store(true, Ordering::SeqCst);
    let update = {
        let (keys, id) = (keys.clone(), record.id.clone());
        tokio::spawn(async move { keys.update(&id, KeyUpdate::new().name("renamed")).await })
    };
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
    assert!(
        keys.verify(secret.expose_secret()).await.is_ok(),
        "takes one credit"
    );
    keys.revoke(&record.id, "leak").await.unwrap();
    keys.store().get_gate.as_ref().unwrap().add_permits(10);
    let renamed = update.await.unwrap().unwrap();
    assert_eq!(renamed.name, "renamed");
    let now = keys.get(&record.id).await.unwrap();
    assert!(
        matches!(now.status, KeyStatus::Revoked { .. }),
        "{:?}",
        now.status
    );
    assert_eq!(
        now.credits.unwrap().remaining,
        9,
        "the credit taken meanwhile stays taken"
    );
    assert_eq!(now.name, "renamed");
}

#[tokio::test]
async fn pepper_changes_the_stored_hash() {
    let peppered = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .hasher(KeyHasher::with_pepper(&[42u8; 32]).unwrap())
        .build();
    let (secret, record) = mint_one(&peppered).await;
    assert!(peppered.verify(secret.expose_secret()).await.is_ok());
    assert_ne!(
        record.hash,
        KeyHasher::sha256().hash(secret.expose_secret())
    );
}

#[tokio::test]
async fn no_secret_in_debug_errors_or_records() {
    let (keys, _) = keys();
    let (secret, record) = mint_one(&keys).await;
    let text = secret.expose_secret().to_owned();
    let random_part = &text["tk_live_".len()..];
    let principal = keys.verify(&text).await.unwrap();
    // Another last character (never the same one: that would be the key itself).
    let last = if text.ends_with('x') { 'y' } else { 'x' };
    let err = keys
        .verify(&format!("{}{last}", &text[..text.len() - 1]))
        .await
        .unwrap_err();
    let shown = [
        format!("{secret:?}"),
        format!("{secret}"),
        format!("{record:?}"),
        serde_json::to_string(&record).unwrap(),
        format!("{principal:?}"),
        format!("{err:?}"),
        err.to_string(),
        format!("{keys:?}"),
        format!("{:?}", FormatError::BadChecksum),
    ];
    for s in shown {
        assert!(!s.contains(random_part), "{s}");
        assert!(!s.contains(&random_part[4..14]), "{s}");
    }
}

#[tokio::test]
async fn the_synchronous_warm_path_answers_only_from_the_cache() {
    let (keys, clock) = keys();
    let (secret, record) = mint_one(&keys).await;
    let raw = secret.expose_secret();
    assert!(
        keys.verify_cached(raw).is_none(),
        "cold: only verify can answer"
    );
    assert_eq!(
        keys.verify_cached("tk_live_nope").map(code),
        Some("key_malformed"),
        "format problems need no cache"
    );
    keys.verify(raw).await.unwrap();
    let finds = keys.store().finds.load(Ordering::SeqCst);
    let warm = keys.verify_cached(raw).unwrap().unwrap();
    assert_eq!(warm.id(), record.id);
    assert_eq!(
        keys.store().finds.load(Ordering::SeqCst),
        finds,
        "no store call"
    );

    clock.advance_secs(1);
    keys.revoke(&record.id, "leaked").await.unwrap();
    assert!(
        keys.verify_cached(raw).is_none(),
        "revocation invalidates the entry"
    );
    assert_eq!(code(keys.verify(raw).await), "key_revoked");
    assert_eq!(keys.verify_cached(raw).map(code), Some("key_revoked"));

    let (metered, _) = keys
        .mint(NewKey::new("m", "a".parse().unwrap()).credits(Credits::fixed(5)))
        .await
        .unwrap();
    keys.verify(metered.expose_secret()).await.unwrap();
    assert!(
        keys.verify_cached(metered.expose_secret()).is_none(),
        "metered keys take their credit from the store"
    );
}

#[tokio::test]
async fn the_warm_path_refuses_malformed_keys_as_verify_does_cold_or_warm() {
    let (keys, _) = keys();
    let (secret, _) = mint_one(&keys).await;
    let raw = secret.expose_secret().to_owned();
    let last = raw.chars().last().unwrap();
    let bad_checksum = format!(
        "{}{}",
        &raw[..raw.len() - 1],
        if last == 'a' { 'b' } else { 'a' }
    );
    let other_prefix = raw.replacen("tk_live", "tk_test", 1);
    let cases = [
        "tk_live_nope".to_owned(),
        bad_checksum,
        other_prefix,
        format!("{raw}{}", "x".repeat(100)),
        "x".repeat(4096),
        String::new(),
    ];
    for warm in [false, true] {
        if warm {
            keys.verify(&raw).await.unwrap();
        }
        for bad in &cases {
            let cold = code(keys.verify(bad).await);
            assert_eq!(
                keys.verify_cached(bad).map(code),
                Some(cold),
                "warm={warm} {bad:.20}"
            );
        }
    }
    // A well-formed key nobody minted: the store answers once, then the cache does.
    let stranger = token_core::apikey::KeyFormat::new("tk_live")
        .unwrap()
        .generate()
        .unwrap()
        .expose_secret()
        .to_owned();
    assert!(keys.verify_cached(&stranger).is_none());
    assert_eq!(code(keys.verify(&stranger).await), "key_unknown");
    assert_eq!(keys.verify_cached(&stranger).map(code), Some("key_unknown"));
}

#[tokio::test]
async fn lookup_checks_status_without_taking_credits() {
    let (keys, clock) = keys();
    let (secret, record) = keys
        .mint(NewKey::new("m", "a".parse().unwrap()).credits(Credits::fixed(1)))
        .await
        .unwrap();
    for _ in 0..3 {
        let found = keys.lookup(secret.expose_secret()).await.unwrap();
        assert_eq!(found.id, record.id);
    }
    assert!(
        keys.verify(secret.expose_secret()).await.is_ok(),
        "the credit is still there"
    );
    assert_eq!(keys.cached_entries(), 1, "only verify filled the cache");
    assert_eq!(code(keys.lookup("tk_live_garbage").await), "key_malformed");
    clock.advance_secs(1);
    keys.revoke(&record.id, "x").await.unwrap();
    assert_eq!(
        code(keys.lookup(secret.expose_secret()).await),
        "key_revoked"
    );
}
