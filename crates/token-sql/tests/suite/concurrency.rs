//! What must hold when many tasks (on SQL: many connections) race: credits never
//! overspent, one winner per refresh token, revocation never undone by a lookup.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;
use token_core::apikey::{ApiKeys, KeyFormat, NewKey};
use token_core::backend::{CreditOutcome, KeyStore, RefreshStore};

use super::{hash, key, refresh};
use crate::common::Backend;

/// 16 tasks spending from a balance of 100 admit exactly 100.
pub async fn sixteen_spenders_admit_exactly_the_balance<B: Backend>(b: Arc<B>) {
    let store = b.keys();
    let credits = json!({"credits": {"remaining": 100, "refill": null}});
    store
        .insert(key("key_shared", 1, 1, credits))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut taken = 0u32;
                loop {
                    match store.consume_credit("key_shared", 10).await.unwrap() {
                        CreditOutcome::Consumed { .. } => taken += 1,
                        CreditOutcome::Exhausted => return taken,
                        other => panic!("{other:?}"),
                    }
                }
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    assert_eq!(total, 100);
    let left = store
        .get("key_shared")
        .await
        .unwrap()
        .unwrap()
        .credits
        .unwrap();
    assert_eq!(left.remaining, 0);
}

/// 8 tasks redeeming one refresh token: exactly one wins.
pub async fn eight_redeemers_one_winner<B: Backend>(b: Arc<B>) {
    let store = b.refresh();
    store
        .insert(refresh(1, "fam_race", 100, 10_000))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.mark_used(&hash(1)).await.unwrap() })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        winners += u32::from(task.await.unwrap());
    }
    assert_eq!(winners, 1);
}

/// Verifications racing a revocation: once `revoke` has returned, no verification
/// that starts afterwards accepts the key, whatever lookups were in flight.
pub async fn revoke_racing_verify_never_lets_the_key_back<B: Backend>(b: Arc<B>) {
    let keys = ApiKeys::new(b.keys(), KeyFormat::new("tk_test").unwrap());
    // A fresh key each round, so that each round races a cold cache.
    for _ in 0..20 {
        let (secret, record) = keys
            .mint(NewKey::new("raced", "read:reports".parse().unwrap()))
            .await
            .unwrap();
        let revoked = Arc::new(AtomicBool::new(false));
        verify_while_revoking(&keys, secret.expose_secret(), &record.id, &revoked).await;
    }
}

async fn verify_while_revoking<S: KeyStore>(
    keys: &ApiKeys<S>,
    secret: &str,
    id: &str,
    revoked: &Arc<AtomicBool>,
) {
    let verifiers: Vec<_> = (0..4)
        .map(|_| {
            let keys = keys.clone();
            let secret = secret.to_owned();
            let revoked = revoked.clone();
            tokio::spawn(async move {
                for _ in 0..50 {
                    let after = revoked.load(Ordering::Acquire);
                    let accepted = keys.verify(&secret).await.is_ok();
                    assert!(
                        !(after && accepted),
                        "a key revoked before the lookup was accepted"
                    );
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    tokio::task::yield_now().await;
    keys.revoke(id, "raced").await.unwrap();
    revoked.store(true, Ordering::Release);
    for verifier in verifiers {
        verifier.await.unwrap();
    }
    assert!(keys.verify(secret).await.is_err());
}
