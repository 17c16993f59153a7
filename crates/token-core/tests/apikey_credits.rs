//! Usage credits: checking a key takes nothing, the charge takes exactly one, and a
//! key and its rotation successors draw from one balance.

use std::sync::Arc;

use token_core::apikey::{ApiKeyErrorKind, ApiKeys, Credits, KeyFormat, NewKey};
use token_core::backend::{CreditOutcome, MemoryKeyStore};
use token_core::{Authenticator, ManualClock};

const NOW: i64 = 1_800_000_000;

fn keys() -> (ApiKeys<MemoryKeyStore>, ManualClock) {
    let clock = ManualClock::new(NOW);
    let keys = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .clock(Arc::new(clock.clone()))
        .build();
    (keys, clock)
}

async fn remaining(keys: &ApiKeys<MemoryKeyStore>, id: &str) -> u64 {
    keys.get(id).await.unwrap().credits.unwrap().remaining
}

#[tokio::test]
async fn a_check_takes_nothing_and_its_charge_takes_exactly_one() {
    let (keys, _) = keys();
    let (secret, record) = keys
        .mint(NewKey::new("m", "a".parse().unwrap()).credits(Credits::fixed(2)))
        .await
        .unwrap();
    let raw = secret.expose_secret();
    assert!(keys.check_cached(raw).is_none(), "cold: the store answers");
    let checked = keys.check(raw).await.unwrap();
    assert_eq!(checked.principal().id(), record.id);
    assert_eq!(checked.charge().unwrap().key_id(), record.id);
    // Warm: the cache answers a metered key too, with its charge owed.
    for _ in 0..5 {
        let warm = keys.check_cached(raw).unwrap().unwrap();
        assert!(warm.charge().is_some());
    }
    assert!(
        keys.verify_cached(raw).is_none(),
        "verify must take the credit: only the store can"
    );
    assert_eq!(remaining(&keys, &record.id).await, 2, "checks took nothing");

    let (_, charge) = checked.into_parts();
    assert_eq!(
        keys.charge(charge.unwrap()).await.unwrap(),
        CreditOutcome::Consumed { remaining: 1 }
    );
    assert_eq!(remaining(&keys, &record.id).await, 1);
    keys.verify(raw).await.unwrap();
    let (_, charge) = keys.check(raw).await.unwrap().into_parts();
    let err = keys.charge(charge.unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ApiKeyErrorKind::UsageExceeded);
    assert_eq!(
        err.key().unwrap().id,
        record.id,
        "the refusal names the key"
    );
    assert_eq!(err.key().unwrap().hint, record.hint);

    // An unmetered key owes nothing, and the warm path answers it outright.
    let (free, _) = keys
        .mint(NewKey::new("f", "a".parse().unwrap()))
        .await
        .unwrap();
    assert!(
        keys.check(free.expose_secret())
            .await
            .unwrap()
            .charge()
            .is_none()
    );
    assert!(keys.verify_cached(free.expose_secret()).unwrap().is_ok());
}

#[tokio::test]
async fn the_authenticator_checks_then_charges() {
    let (keys, _) = keys();
    let (secret, record) = keys
        .mint(NewKey::new("m", "a".parse().unwrap()).credits(Credits::fixed(1)))
        .await
        .unwrap();
    let auth = Authenticator::new().api_keys(keys.clone());
    let raw = secret.expose_secret();
    let checked = auth.check(raw).await.unwrap();
    assert!(auth.check_now(raw).unwrap().unwrap().charge().is_some());
    assert!(auth.authenticate_now(raw).is_none());
    assert_eq!(remaining(&keys, &record.id).await, 1);
    auth.charge(checked.into_parts().1.unwrap()).await.unwrap();
    assert_eq!(remaining(&keys, &record.id).await, 0);
    let (_, charge) = auth.check(raw).await.unwrap().into_parts();
    let err = auth.charge(charge.unwrap()).await.unwrap_err();
    assert_eq!(
        (err.code(), err.key().map(|k| k.id.as_str())),
        ("usage_exceeded", Some(record.id.as_str()))
    );
    assert_eq!(
        auth.authenticate(raw).await.unwrap_err().code(),
        "usage_exceeded"
    );
}

#[tokio::test]
async fn rotations_share_one_balance_through_every_grace_period() {
    const N: u64 = 5;
    const K: usize = 3;
    let (keys, _) = keys();
    let (first, record) = keys
        .mint(NewKey::new("m", "a".parse().unwrap()).credits(Credits::fixed(N)))
        .await
        .unwrap();
    let mut secrets = vec![first];
    let mut id = record.id.clone();
    for _ in 0..K {
        let (secret, next) = keys.rotate(&id, 86_400).await.unwrap();
        assert!(next.is_metered(), "a successor is metered");
        assert_eq!(next.credits, None, "it holds no balance of its own");
        assert_eq!(next.balance_id(), Some(record.id.as_str()));
        secrets.push(secret);
        id = next.id;
    }
    // Every key of the line works (within grace) and all draw from one balance: N
    // uses in all, not (K + 1) * N.
    let mut admitted = 0;
    for round in 0..N {
        for secret in &secrets {
            if keys.verify(secret.expose_secret()).await.is_ok() {
                admitted += 1;
            }
        }
        assert!(admitted > round, "some use passes while credits are left");
    }
    assert_eq!(admitted, N);
    for secret in &secrets {
        assert_eq!(
            keys.verify(secret.expose_secret())
                .await
                .unwrap_err()
                .code(),
            "usage_exceeded"
        );
    }
    assert_eq!(remaining(&keys, &record.id).await, 0);
}
