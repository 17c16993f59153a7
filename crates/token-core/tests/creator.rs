//! Keys that create keys: a created key never exceeds its creator (scopes, lifetime,
//! networks, metering, rate-limit override), updates only shorten, and a creator's
//! revocation takes its offspring with it.

use std::sync::Arc;

use token_core::apikey::admin::KeyUpdate;
use token_core::apikey::{
    ApiKeyError, ApiKeyErrorKind, ApiKeys, CreatorLimit, Credits, KeyFormat, KeyStatus, NewKey,
};
use token_core::backend::MemoryKeyStore;
use token_core::{ManualClock, Principal, PrincipalKind};

const NOW: i64 = 1_800_000_000;

fn keys() -> (ApiKeys<MemoryKeyStore>, ManualClock) {
    let clock = ManualClock::new(NOW);
    let keys = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .clock(Arc::new(clock.clone()))
        .build();
    (keys, clock)
}

fn kind<T: std::fmt::Debug>(r: Result<T, ApiKeyError>) -> ApiKeyErrorKind {
    r.unwrap_err().kind()
}

fn admin(scopes: &str) -> token_core::PrincipalBuilder {
    Principal::builder(
        "admin-1",
        PrincipalKind::AccessToken,
        scopes.parse().unwrap(),
    )
}

fn spec(scopes: &str) -> NewKey {
    NewKey::new("child", scopes.parse().unwrap())
}

#[tokio::test]
async fn a_created_key_never_outlives_its_creator() {
    let (keys, _) = keys();
    // A 15-minute admin token.
    let creator = admin("admin:keys read:x")
        .expires_at(Some(NOW + 900))
        .build();
    let (_, inherited) = keys.mint_for(&creator, spec("read:x")).await.unwrap();
    assert_eq!(
        inherited.expires_at,
        Some(NOW + 900),
        "no ttl: dies with it"
    );
    assert_eq!(inherited.owner.as_deref(), Some("admin-1"));
    let (_, shorter) = keys
        .mint_for(&creator, spec("read:x").ttl_secs(60))
        .await
        .unwrap();
    assert_eq!(shorter.expires_at, Some(NOW + 60));
    assert_eq!(
        kind(keys.mint_for(&creator, spec("read:x").ttl_secs(901)).await),
        ApiKeyErrorKind::ExceedsCreator(CreatorLimit::Lifetime)
    );
    let e = keys
        .mint_for(&creator, spec("read:x").ttl_secs(86_400))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "outlives_creator");
    assert!(e.to_string().contains("outlive its creator"), "{e}");
    let expired = admin("read:x").expires_at(Some(NOW)).build();
    assert_eq!(
        kind(keys.mint_for(&expired, spec("read:x")).await),
        ApiKeyErrorKind::ExceedsCreator(CreatorLimit::Lifetime)
    );
    assert_eq!(
        kind(keys.mint_for(&creator, spec("admin:*")).await),
        ApiKeyErrorKind::WouldWiden
    );
}

#[tokio::test]
async fn networks_stay_within_the_creators() {
    let (keys, _) = keys();
    let internal = admin("read:x")
        .networks(vec!["10.0.0.0/8".parse().unwrap()])
        .build();
    let (_, inherited) = keys.mint_for(&internal, spec("read:x")).await.unwrap();
    assert_eq!(inherited.networks, internal.networks());
    let (_, narrower) = keys
        .mint_for(
            &internal,
            spec("read:x").networks(vec!["10.1.0.0/16".parse().unwrap()]),
        )
        .await
        .unwrap();
    assert_eq!(narrower.networks[0].to_string(), "10.1.0.0/16");
    for outside in ["0.0.0.0/0", "11.0.0.0/8", "10.0.0.0/7", "::/0"] {
        assert_eq!(
            kind(
                keys.mint_for(
                    &internal,
                    spec("read:x").networks(vec![outside.parse().unwrap()])
                )
                .await
            ),
            ApiKeyErrorKind::ExceedsCreator(CreatorLimit::Networks),
            "{outside}"
        );
    }
    let anywhere = admin("read:x").build();
    let (_, free) = keys.mint_for(&anywhere, spec("read:x")).await.unwrap();
    assert!(free.networks.is_empty() && free.expires_at.is_none());
}

#[tokio::test]
async fn a_created_key_is_no_less_limited() {
    let (keys, _) = keys();
    let (metered_secret, _) = keys
        .mint(spec("admin:keys read:x").credits(Credits::fixed(10)))
        .await
        .unwrap();
    let metered = keys.verify(metered_secret.expose_secret()).await.unwrap();
    assert!(metered.is_metered());
    assert_eq!(
        kind(keys.mint_for(&metered, spec("read:x")).await),
        ApiKeyErrorKind::ExceedsCreator(CreatorLimit::Metering)
    );
    // Its successor holds no credits of its own but draws from the same balance: it is
    // just as metered.
    let (successor_secret, successor_record) = keys.rotate(metered.id(), 3600).await.unwrap();
    assert!(successor_record.credits.is_none() && successor_record.is_metered());
    let successor = keys.verify(successor_secret.expose_secret()).await.unwrap();
    assert!(successor.is_metered());
    assert_eq!(
        kind(keys.mint_for(&successor, spec("read:x")).await),
        ApiKeyErrorKind::ExceedsCreator(CreatorLimit::Metering)
    );
    let limited = admin("read:x").rate_limit(Some("10/minute".into())).build();
    let (_, inherited) = keys.mint_for(&limited, spec("read:x")).await.unwrap();
    assert_eq!(inherited.rate_limit.as_deref(), Some("10/minute"));
    assert_eq!(
        kind(
            keys.mint_for(&limited, spec("read:x").rate_limit("1000/second"))
                .await
        ),
        ApiKeyErrorKind::ExceedsCreator(CreatorLimit::RateLimit)
    );
    let default_limits = admin("read:x").build();
    assert_eq!(
        kind(
            keys.mint_for(&default_limits, spec("read:x").rate_limit("1000/second"))
                .await
        ),
        ApiKeyErrorKind::ExceedsCreator(CreatorLimit::RateLimit)
    );
}

#[tokio::test]
async fn updates_shorten_and_only_the_explicit_call_extends() {
    let (keys, _) = keys();
    let (_, record) = keys.mint(spec("read:x").ttl_secs(600)).await.unwrap();
    let later = KeyUpdate::new().expires_at(Some(NOW + 601));
    assert_eq!(
        kind(keys.update(&record.id, later).await),
        ApiKeyErrorKind::WouldExtend
    );
    let never = KeyUpdate::new().expires_at(None);
    assert_eq!(
        kind(keys.update(&record.id, never).await).code(),
        "expiry_extension"
    );
    let sooner = keys
        .update(&record.id, KeyUpdate::new().expires_at(Some(NOW + 60)))
        .await
        .unwrap();
    assert_eq!(sooner.expires_at, Some(NOW + 60));
    let (_, forever) = keys.mint(spec("read:x")).await.unwrap();
    let bounded = keys
        .update(&forever.id, KeyUpdate::new().expires_at(Some(NOW + 5)))
        .await
        .unwrap();
    assert_eq!(bounded.expires_at, Some(NOW + 5), "a first expiry shortens");
    let extended = keys.extend_expiry(&record.id, None).await.unwrap();
    assert_eq!(extended.expires_at, None);
}

#[tokio::test]
async fn a_creators_revocation_takes_its_offspring_with_it() {
    let (keys, _) = keys();
    let (root_secret, root) = keys.mint(spec("admin:keys read:x")).await.unwrap();
    let root_p = keys.verify(root_secret.expose_secret()).await.unwrap();
    let (child_secret, child) = keys
        .mint_for(&root_p, spec("admin:keys read:x"))
        .await
        .unwrap();
    assert_eq!(child.owner.as_deref(), Some(root.id.as_str()));
    let child_p = keys.verify(child_secret.expose_secret()).await.unwrap();
    let (_, grandchild) = keys.mint_for(&child_p, spec("read:x")).await.unwrap();
    // The child was rotated: its successor carries on, and so do its offspring's links.
    let (successor_secret, successor) = keys.rotate(&child.id, 3600).await.unwrap();
    let (_, unrelated) = keys.mint(spec("read:x")).await.unwrap();

    let (revoked, offspring) = keys.revoke_cascading(&root.id, "leaked").await.unwrap();
    assert!(matches!(revoked.status, KeyStatus::Revoked { .. }));
    let mut ids: Vec<_> = offspring.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    let mut expected = vec![
        child.id.clone(),
        successor.id.clone(),
        grandchild.id.clone(),
    ];
    expected.sort();
    assert_eq!(ids, expected);
    for id in &expected {
        assert!(matches!(
            keys.get(id).await.unwrap().status,
            KeyStatus::Revoked { .. }
        ));
    }
    assert_eq!(
        keys.verify(successor_secret.expose_secret())
            .await
            .unwrap_err()
            .code(),
        "key_revoked"
    );
    assert_eq!(
        keys.get(&unrelated.id).await.unwrap().status,
        KeyStatus::Active
    );
}

/// A clock that moves one second on every reading: time passes between any two
/// steps of a call, as it does on a busy server.
#[derive(Debug)]
struct Ticking(std::sync::atomic::AtomicI64);

impl token_core::Clock for Ticking {
    fn unix_nanos(&self) -> i64 {
        self.0
            .fetch_add(1_000_000_000, std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_created_key_ends_exactly_when_asked_or_with_its_creator_however_slow_the_call() {
    let clock = Arc::new(Ticking(std::sync::atomic::AtomicI64::new(
        NOW * 1_000_000_000,
    )));
    let keys = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .clock(clock)
        .build();
    let creator = admin("read:x").expires_at(Some(NOW + 100)).build();
    let inherited = keys.mint_for(&creator, spec("read:x")).await.unwrap().1;
    assert_eq!(
        inherited.expires_at,
        Some(NOW + 100),
        "never past the creator"
    );
    let asked = keys
        .mint_for(&creator, spec("read:x").expires_at(NOW + 90))
        .await
        .unwrap()
        .1;
    assert_eq!(
        asked.expires_at,
        Some(NOW + 90),
        "never past the expiry asked for"
    );
    let ttl = keys
        .mint_for(&creator, spec("read:x").ttl_secs(60))
        .await
        .unwrap()
        .1;
    let ends = ttl.expires_at.unwrap();
    assert!(
        ends <= ttl.created_at + 60,
        "a ttl counts from no later than minting"
    );
    // A creator whose life was extended past ten years hands its expiry on: no
    // `ttl` refusal for a ttl nobody sent.
    let (long_keys, _) = keys_at(NOW);
    let long_lived = admin("read:x")
        .expires_at(Some(NOW + 20 * 365 * 86_400))
        .build();
    let child = long_keys
        .mint_for(&long_lived, spec("read:x"))
        .await
        .unwrap()
        .1;
    assert_eq!(child.expires_at, Some(NOW + 20 * 365 * 86_400));
}

fn keys_at(now: i64) -> (ApiKeys<MemoryKeyStore>, ManualClock) {
    let clock = ManualClock::new(now);
    let keys = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .clock(Arc::new(clock.clone()))
        .build();
    (keys, clock)
}
