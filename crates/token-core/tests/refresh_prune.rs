//! The in-memory refresh store forgets expired families (used tokens and revocations
//! included), and only once they expired: reuse detection holds for a family's life.

use std::sync::Arc;

use token_core::ManualClock;
use token_core::apikey::KeyHasher;
use token_core::backend::MemoryRefreshStore;
use token_core::limits::PRUNE_INTERVAL_SECS;
use token_core::refresh::{RefreshError, RefreshGrant, RefreshTokens};

const NOW: i64 = 1_800_000_000;
const TTL: i64 = 100;

fn grant() -> RefreshGrant {
    RefreshGrant::new("user-1", "app", "read".parse().unwrap())
}

#[tokio::test]
async fn expired_families_are_forgotten_used_tokens_and_revocations_included() {
    let clock = ManualClock::new(NOW);
    let refresh = RefreshTokens::with_options(
        MemoryRefreshStore::new(),
        KeyHasher::sha256(),
        TTL,
        Arc::new(clock.clone()),
    );
    // Family A: redeemed once, then its first token replayed (A is revoked).
    let (a1, _) = refresh.issue(grant()).await.unwrap();
    let (a2, _) = refresh.redeem(a1.expose_secret(), "app").await.unwrap();
    assert!(matches!(
        refresh.redeem(a1.expose_secret(), "app").await,
        Err(RefreshError::Reused(_))
    ));
    // Family B: never redeemed.
    refresh.issue(grant()).await.unwrap();
    // Family C: issued later, outlives A and B.
    clock.advance_secs(TTL - 10);
    let (c1, _) = refresh.issue(grant()).await.unwrap();
    let store = refresh.store();
    assert_eq!((store.len(), store.revoked_families()), (4, 1));

    // Just before A expires nothing is forgotten: the replay is still refused.
    clock.set(NOW + TTL - 1);
    assert_eq!(store.prune(NOW + TTL - 1), 0);
    assert!(matches!(
        refresh.redeem(a2.expose_secret(), "app").await,
        Err(RefreshError::Revoked)
    ));

    // Past A's and B's expiry, the next token stored sweeps them away.
    // (Sweeps run at most once per PRUNE_INTERVAL_SECS; the last one just ran.)
    clock.set(NOW + TTL - 1 + PRUNE_INTERVAL_SECS);
    refresh.issue(grant()).await.unwrap();
    assert_eq!(
        (store.len(), store.revoked_families()),
        (2, 0),
        "C's token and the new one remain"
    );
    assert!(matches!(
        refresh.redeem(a2.expose_secret(), "app").await,
        Err(RefreshError::Invalid)
    ));
    assert!(refresh.redeem(c1.expose_secret(), "app").await.is_ok());

    // An explicit sweep at a later time forgets the rest.
    assert_eq!(store.prune(NOW + 10 * TTL), 3);
    assert!(store.is_empty());
}
