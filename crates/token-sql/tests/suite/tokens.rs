//! `ClientStore` and `RefreshStore`.

use std::sync::Arc;

use token_core::backend::{ClientStore, RefreshStore, StoreErrorKind};

use super::{client, hash, refresh};
use crate::common::Backend;

pub async fn clients_are_stored_once<B: Backend>(b: Arc<B>) {
    let store = b.clients();
    let record = client("client-1", 1);
    store.insert(record.clone()).await.unwrap();
    assert_eq!(store.get("client-1").await.unwrap(), Some(record));
    assert_eq!(store.get("client-2").await.unwrap(), None);
    let again = store.insert(client("client-1", 2)).await.unwrap_err();
    assert_eq!(again.kind(), StoreErrorKind::Conflict);
}

pub async fn refresh_tokens_are_redeemed_once<B: Backend>(b: Arc<B>) {
    let store = b.refresh();
    let first = refresh(1, "fam_a", 100, 1_000);
    store.insert(first.clone()).await.unwrap();
    assert_eq!(store.find(&hash(1)).await.unwrap(), Some(first));
    assert_eq!(store.find(&hash(2)).await.unwrap(), None);
    assert!(store.mark_used(&hash(1)).await.unwrap());
    assert!(!store.mark_used(&hash(1)).await.unwrap());
    assert!(store.find(&hash(1)).await.unwrap().unwrap().used);
    let unknown = store.mark_used(&hash(2)).await.unwrap_err();
    assert_eq!(unknown.kind(), StoreErrorKind::NotFound);
    let duplicate = store
        .insert(refresh(1, "fam_a", 101, 1_000))
        .await
        .unwrap_err();
    assert_eq!(duplicate.kind(), StoreErrorKind::Conflict);
}

pub async fn families_are_revoked_whole<B: Backend>(b: Arc<B>) {
    let store = b.refresh();
    store.insert(refresh(1, "fam_a", 100, 1_000)).await.unwrap();
    store.insert(refresh(2, "fam_a", 200, 1_000)).await.unwrap();
    store.insert(refresh(3, "fam_b", 100, 1_000)).await.unwrap();
    assert!(!store.is_family_revoked("fam_a").await.unwrap());
    store.revoke_family("fam_a").await.unwrap();
    assert!(store.is_family_revoked("fam_a").await.unwrap());
    assert!(!store.is_family_revoked("fam_b").await.unwrap());
    // Revoking a family that holds nothing is no error, and revokes nothing.
    store.revoke_family("fam_none").await.unwrap();
    assert!(!store.is_family_revoked("fam_none").await.unwrap());
}

pub async fn expired_families_are_forgotten<B: Backend>(b: Arc<B>) {
    let store = b.refresh();
    store
        .insert(refresh(1, "fam_old", 100, 1_000))
        .await
        .unwrap();
    store.revoke_family("fam_old").await.unwrap();
    store
        .insert(refresh(2, "fam_new", 100, 100_000))
        .await
        .unwrap();
    // Storing a token after the old family's end sweeps it (the issuer's clock).
    store
        .insert(refresh(3, "fam_new", 5_000, 100_000))
        .await
        .unwrap();
    assert_eq!(store.find(&hash(1)).await.unwrap(), None);
    assert!(!store.is_family_revoked("fam_old").await.unwrap());
    assert!(store.find(&hash(2)).await.unwrap().is_some());
    assert!(store.find(&hash(3)).await.unwrap().is_some());
}
