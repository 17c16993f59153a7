//! Writes to a key's record (updates and the version they return) and
//! the cached verification path at the edges of the key format.

use std::sync::Arc;

use token_core::ManualClock;
use token_core::apikey::admin::KeyUpdate;
use token_core::apikey::{ApiKeys, KeyFormat, NewKey};
use token_core::backend::{KeyStore, MemoryKeyStore};

const NOW: i64 = 1_800_000_000;

fn keys_on<S: KeyStore>(store: S, prefix: &str, clock: &ManualClock) -> ApiKeys<S> {
    ApiKeys::builder(store, KeyFormat::new(prefix).unwrap())
        .clock(Arc::new(clock.clone()))
        .build()
}

#[tokio::test]
async fn an_update_returns_the_version_the_store_holds() {
    let clock = ManualClock::new(NOW);
    let keys = keys_on(MemoryKeyStore::new(), "tk_live", &clock);
    let (_, record) = keys
        .mint(NewKey::new("k", "a b".parse().unwrap()).ttl_secs(3_600))
        .await
        .unwrap();
    let first = keys
        .update(&record.id, KeyUpdate::new().name("one"))
        .await
        .unwrap();
    let second = keys
        .update(&record.id, KeyUpdate::new().name("two"))
        .await
        .unwrap();
    let stored = keys.get(&record.id).await.unwrap();
    assert_eq!(second.version, stored.version);
    assert_eq!(first.version + 1, second.version);
    assert!(first.version > record.version);

    // Setting the expiry it already has shortens nothing and extends nothing.
    let same = keys
        .update(&record.id, KeyUpdate::new().expires_at(stored.expires_at))
        .await
        .unwrap();
    assert_eq!(same.expires_at, Some(NOW + 3_600));
}

#[tokio::test]
async fn keys_with_the_longest_prefix_verify_on_the_cached_path_too() {
    let clock = ManualClock::new(NOW);
    let prefix = "a".repeat(token_core::limits::MAX_PREFIX_LEN);
    let keys = keys_on(MemoryKeyStore::new(), &prefix, &clock);
    assert_eq!(keys.cached_entries(), 0);
    let (secret, record) = keys
        .mint(NewKey::new("long", "a".parse().unwrap()))
        .await
        .unwrap();
    let key = secret.expose_secret();
    assert_eq!(keys.verify(key).await.unwrap().id(), record.id);
    // The second look is answered by the cache, without the store.
    let cached = keys.verify_cached(key).expect("cached").unwrap();
    assert_eq!(cached.id(), record.id);
    assert_eq!(keys.cached_entries(), 1);

    // One byte longer than any key is refused before it is hashed.
    let longer = format!("{key}a");
    assert_eq!(
        keys.verify_cached(&longer).unwrap().unwrap_err().code(),
        "key_malformed"
    );
}

#[tokio::test]
async fn the_service_shows_its_format_but_no_secret_in_debug() {
    let clock = ManualClock::new(NOW);
    let builder = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_dbg").unwrap());
    let shown = format!("{builder:?}");
    assert!(shown.starts_with("ApiKeysBuilder"), "{shown}");
    assert!(shown.contains("tk_dbg"), "{shown}");
    let keys = builder.clock(Arc::new(clock)).build();
    let (secret, _) = keys
        .mint(NewKey::new("k", "a".parse().unwrap()))
        .await
        .unwrap();
    keys.verify(secret.expose_secret()).await.unwrap();
    let shown = format!("{keys:?}");
    assert!(shown.starts_with("ApiKeys"), "{shown}");
    assert!(shown.contains("tk_dbg"), "{shown}");
    assert!(!shown.contains(&secret.expose_secret()[7..]), "{shown}");
}

#[tokio::test]
async fn key_ids_are_key_and_twenty_base62_characters() {
    let clock = ManualClock::new(NOW);
    let keys = keys_on(MemoryKeyStore::new(), "tk_live", &clock);
    let (_, a) = keys
        .mint(NewKey::new("k", "a".parse().unwrap()))
        .await
        .unwrap();
    let (_, b) = keys
        .mint(NewKey::new("k", "a".parse().unwrap()))
        .await
        .unwrap();
    for id in [&a.id, &b.id] {
        let random = id.strip_prefix("key_").unwrap();
        assert_eq!(random.len(), 20);
        assert!(random.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
    }
    assert_ne!(a.id, b.id);
}
