//! `KeyStore`: records, compare-and-swap, revocation, listings, bulk revocation,
//! credits, `last_used_at`.

use std::sync::Arc;

use serde_json::json;
use token_core::apikey::KeyStatus;
use token_core::apikey::admin::{KeyFilter, StatusFilter};
use token_core::backend::{
    BulkStop, CreditOutcome, KeyRecord, KeyStore, ScopeCover, StoreErrorKind,
};

use super::{full_key, hash, key};
use crate::common::Backend;

pub async fn records_round_trip<B: Backend>(b: Arc<B>) {
    let store = b.keys();
    let full = full_key("key_full", 1);
    let plain = key("key_plain", 2, 5, json!({}));
    store.insert(full.clone()).await.unwrap();
    store.insert(plain.clone()).await.unwrap();
    assert_eq!(store.get("key_full").await.unwrap(), Some(full.clone()));
    assert_eq!(store.find_by_hash(&hash(1)).await.unwrap(), Some(full));
    assert_eq!(store.find_by_hash(&hash(2)).await.unwrap(), Some(plain));
    assert_eq!(store.get("key_none").await.unwrap(), None);
    assert_eq!(store.find_by_hash(&hash(9)).await.unwrap(), None);
}

pub async fn duplicates_conflict<B: Backend>(b: Arc<B>) {
    let store = b.keys();
    store.insert(key("key_a", 1, 1, json!({}))).await.unwrap();
    let same_id = store
        .insert(key("key_a", 2, 1, json!({})))
        .await
        .unwrap_err();
    assert_eq!(same_id.kind(), StoreErrorKind::Conflict);
    let same_hash = store
        .insert(key("key_b", 1, 1, json!({})))
        .await
        .unwrap_err();
    assert_eq!(same_hash.kind(), StoreErrorKind::Conflict);
    assert_eq!(store.get("key_b").await.unwrap(), None);
}

pub async fn updates_are_compare_and_swap<B: Backend>(b: Arc<B>) {
    let store = b.keys();
    store.insert(key("key_a", 1, 1, json!({}))).await.unwrap();
    let mut read = store.get("key_a").await.unwrap().unwrap();
    let stale = read.clone();
    read.name = "renamed".into();
    store.update(read.clone()).await.unwrap();
    let now = store.get("key_a").await.unwrap().unwrap();
    assert_eq!(
        (now.name.as_str(), now.version),
        ("renamed", read.version + 1)
    );

    let mut late = stale;
    late.name = "lost update".into();
    assert_eq!(
        store.update(late).await.unwrap_err().kind(),
        StoreErrorKind::Conflict
    );
    assert_eq!(store.get("key_a").await.unwrap().unwrap().name, "renamed");

    let mut other_hash = now.clone();
    other_hash.hash = hash(7);
    assert_eq!(
        store.update(other_hash).await.unwrap_err().kind(),
        StoreErrorKind::Conflict
    );
    let ghost = key("key_ghost", 3, 1, json!({}));
    assert_eq!(
        store.update(ghost).await.unwrap_err().kind(),
        StoreErrorKind::NotFound
    );
}

pub async fn revocation_wins_and_keeps_the_first<B: Backend>(b: Arc<B>) {
    let store = b.keys();
    store.insert(key("key_a", 1, 1, json!({}))).await.unwrap();
    let rotated = json!({"status": {"state": "rotated", "successor": "key_c", "grace_end": 99}});
    store.insert(key("key_b", 2, 1, rotated)).await.unwrap();
    let before = store.get("key_a").await.unwrap().unwrap();

    let revoked = store.revoke("key_a", 10, "leaked").await.unwrap();
    let first = KeyStatus::Revoked {
        at: 10,
        reason: "leaked".into(),
    };
    assert_eq!(revoked.status, first);
    assert!(revoked.version > before.version);
    assert_eq!(store.get("key_a").await.unwrap().unwrap(), revoked);

    // A writer that read the key before cannot write it back to life.
    assert_eq!(
        store.update(before).await.unwrap_err().kind(),
        StoreErrorKind::Conflict
    );
    // A second revocation keeps the first one's time and reason.
    let again = store.revoke("key_a", 20, "again").await.unwrap();
    assert_eq!(again.status, first);

    let b_revoked = store.revoke("key_b", 11, "rotated out").await.unwrap();
    assert_eq!(
        b_revoked.status,
        KeyStatus::Revoked {
            at: 11,
            reason: "rotated out".into()
        }
    );
    let missing = store.revoke("key_none", 1, "x").await.unwrap_err();
    assert_eq!(missing.kind(), StoreErrorKind::NotFound);
}

/// Keys of two tenants and none, three owners, every status, names sharing
/// prefixes (one not ASCII), and several created in the same second.
fn population() -> Vec<KeyRecord> {
    let mut out = Vec::new();
    for i in 0..23u8 {
        let tenant = match i % 3 {
            0 => json!(null),
            1 => json!("acme"),
            _ => json!("globex"),
        };
        let owner = ["alice", "bob", "carol"][usize::from(i % 3 + i / 10) % 3];
        let status = match i % 4 {
            0 | 1 => json!({"state": "active"}),
            2 => json!({"state": "revoked", "at": 5, "reason": "r"}),
            _ => json!({"state": "rotated", "successor": "key_x", "grace_end": 9}),
        };
        let name = ["dash-eu", "dash-us", "ëxport", "batch"][usize::from(i % 4)];
        // Ids of one second differ by case and punctuation: pages are in byte order
        // on every engine (PostgreSQL's other collations would sort them otherwise).
        let id = format!(
            "key_{}{:02}",
            ["a", "B", "-"][usize::from(i % 3)],
            23 - i / 3
        );
        out.push(key(
            &id,
            i + 1,
            i64::from(i / 3),
            json!({"tenant": tenant, "owner": owner, "status": status, "name": name}),
        ));
    }
    out
}

pub async fn pages_follow_the_filter_in_keyset_order<B: Backend>(b: Arc<B>) {
    let store = b.keys();
    let all = population();
    for record in &all {
        store.insert(record.clone()).await.unwrap();
    }
    let filters = [
        KeyFilter::new(),
        KeyFilter::new().owner("bob"),
        KeyFilter::new().status(StatusFilter::Active),
        KeyFilter::new().status(StatusFilter::Rotated),
        KeyFilter::new().name_prefix("dash-"),
        KeyFilter::new().name_prefix("ë"),
        KeyFilter::new().name_prefix(""),
        KeyFilter::new().tenant(None),
        KeyFilter::new()
            .tenant(Some("acme"))
            .status(StatusFilter::Revoked),
        KeyFilter::new()
            .tenant(Some("globex"))
            .owner("carol")
            .name_prefix("dash"),
        KeyFilter::new().owner("nobody"),
    ];
    for filter in &filters {
        let mut expected: Vec<&KeyRecord> = all.iter().filter(|r| filter.matches(r)).collect();
        expected.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        for limit in [1, 2, 5, 100] {
            let mut walked = Vec::new();
            let mut after = None;
            loop {
                let page = store
                    .list_page(filter, after.as_ref(), limit)
                    .await
                    .unwrap();
                assert!(page.records.len() <= limit);
                walked.extend(page.records);
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            let walked: Vec<&KeyRecord> = walked.iter().collect();
            assert_eq!(walked, expected, "{filter:?} in pages of {limit}");
        }
    }
    let every = store.list(None).await.unwrap();
    assert_eq!(every.len(), all.len());
    let acme = store.list(Some("acme")).await.unwrap();
    assert!(acme.iter().all(|r| r.tenant.as_deref() == Some("acme")));
    assert_eq!(
        acme.len(),
        all.iter()
            .filter(|r| r.tenant.as_deref() == Some("acme"))
            .count()
    );
}

pub async fn bulk_revocation_is_all_or_nothing<B: Backend>(b: Arc<B>) {
    let store = b.keys();
    let narrow = |id: &str, n: u8, scopes: &str| {
        key(
            id,
            n,
            i64::from(n),
            json!({"owner": "mallory", "scopes": scopes}),
        )
    };
    store
        .insert(narrow("key_1", 1, "read:reports"))
        .await
        .unwrap();
    store
        .insert(narrow("key_2", 2, "read:reports write:reports"))
        .await
        .unwrap();
    store
        .insert(key("key_3", 3, 3, json!({"owner": "other"})))
        .await
        .unwrap();
    let filter = KeyFilter::new().owner("mallory");
    let exact = "admin:tenants".parse().unwrap();

    let reader = ScopeCover::new("read:*".parse().unwrap(), exact);
    let refused = store
        .revoke_matching(&filter, &reader, 50, "offboarded")
        .await;
    assert!(refused.revoked.is_empty());
    assert!(
        matches!(refused.stopped, Some(BulkStop::Uncovered)),
        "{refused:?}"
    );
    for id in ["key_1", "key_2"] {
        assert_eq!(
            store.get(id).await.unwrap().unwrap().status,
            KeyStatus::Active
        );
    }

    let writer = ScopeCover::new(
        "read:* write:*".parse().unwrap(),
        "admin:tenants".parse().unwrap(),
    );
    let done = store
        .revoke_matching(&filter, &writer, 50, "offboarded")
        .await;
    assert!(done.stopped.is_none(), "{done:?}");
    let mut ids: Vec<&str> = done.revoked.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["key_1", "key_2"]);
    let revoked = KeyStatus::Revoked {
        at: 50,
        reason: "offboarded".into(),
    };
    for id in ["key_1", "key_2"] {
        assert_eq!(store.get(id).await.unwrap().unwrap().status, revoked);
    }
    assert_eq!(
        store.get("key_3").await.unwrap().unwrap().status,
        KeyStatus::Active
    );

    // Already revoked: nothing left to revoke, and the first revocation stands.
    let again = store.revoke_matching(&filter, &writer, 60, "again").await;
    assert!(again.revoked.is_empty() && again.stopped.is_none());
    assert_eq!(store.get("key_1").await.unwrap().unwrap().status, revoked);
}

pub async fn credits_are_taken_one_at_a_time<B: Backend>(b: Arc<B>) {
    let store = b.keys();
    store
        .insert(key("key_free", 1, 1, json!({})))
        .await
        .unwrap();
    let fixed = json!({"credits": {"remaining": 2, "refill": null}});
    store.insert(key("key_fixed", 2, 1, fixed)).await.unwrap();
    // Empty, refilled daily from 86,400 (1970-01-02) to 3 a day.
    let refilling = json!({"credits": {"remaining": 0, "refill": {"amount": 3, "period": "daily", "next_at": 86_400}}});
    store
        .insert(key("key_daily", 3, 1, refilling))
        .await
        .unwrap();

    assert_eq!(
        store.consume_credit("key_free", 10).await.unwrap(),
        CreditOutcome::Unlimited
    );
    let consumed = |remaining| CreditOutcome::Consumed { remaining };
    assert_eq!(
        store.consume_credit("key_fixed", 10).await.unwrap(),
        consumed(1)
    );
    assert_eq!(
        store.consume_credit("key_fixed", 10).await.unwrap(),
        consumed(0)
    );
    assert_eq!(
        store.consume_credit("key_fixed", 10).await.unwrap(),
        CreditOutcome::Exhausted
    );
    assert_eq!(
        store
            .get("key_fixed")
            .await
            .unwrap()
            .unwrap()
            .credits
            .unwrap()
            .remaining,
        0
    );

    assert_eq!(
        store.consume_credit("key_daily", 86_399).await.unwrap(),
        CreditOutcome::Exhausted
    );
    assert_eq!(
        store.consume_credit("key_daily", 86_400).await.unwrap(),
        consumed(2)
    );
    assert_eq!(
        store.consume_credit("key_daily", 90_000).await.unwrap(),
        consumed(1)
    );
    let credits = store
        .get("key_daily")
        .await
        .unwrap()
        .unwrap()
        .credits
        .unwrap();
    assert_eq!(credits.refill.unwrap().next_at, 2 * 86_400);
    // The next day refills to 3 again (replaced, not added to).
    assert_eq!(
        store
            .consume_credit("key_daily", 2 * 86_400 + 5)
            .await
            .unwrap(),
        consumed(2)
    );

    // Refused again: the balance stays at zero, never below.
    let again = store.consume_credit("key_fixed", 11).await.unwrap();
    assert_eq!(again, CreditOutcome::Exhausted);
    let left = store
        .get("key_fixed")
        .await
        .unwrap()
        .unwrap()
        .credits
        .unwrap();
    assert_eq!(left.remaining, 0);
    let missing = store.consume_credit("key_none", 1).await.unwrap_err();
    assert_eq!(missing.kind(), StoreErrorKind::NotFound);
}

/// A monthly refill lands on the first of the next month, 00:00 UTC.
pub async fn monthly_credits_refill_on_the_first<B: Backend>(b: Arc<B>) {
    let store = b.keys();
    let consumed = |remaining| CreditOutcome::Consumed { remaining };
    // Monthly: due on 2024-03-01 00:00 UTC (1_709_251_200), next on 2024-04-01.
    let monthly = json!({"credits": {"remaining": 1, "refill":
        {"amount": 5, "period": "monthly", "next_at": 1_709_251_200}}});
    store
        .insert(key("key_monthly", 4, 1, monthly))
        .await
        .unwrap();
    let early = store
        .consume_credit("key_monthly", 1_709_251_199)
        .await
        .unwrap();
    assert_eq!(early, consumed(0));
    let refilled = store
        .consume_credit("key_monthly", 1_709_251_200)
        .await
        .unwrap();
    assert_eq!(refilled, consumed(4));
    let credits = store
        .get("key_monthly")
        .await
        .unwrap()
        .unwrap()
        .credits
        .unwrap();
    assert_eq!(credits.refill.unwrap().next_at, 1_711_929_600);
}

pub async fn last_use_only_moves_forward<B: Backend>(b: Arc<B>) {
    let store = b.keys();
    store.insert(key("key_a", 1, 1, json!({}))).await.unwrap();
    store.touch("key_a", 100).await.unwrap();
    store.touch("key_a", 90).await.unwrap();
    store.touch("key_none", 100).await.unwrap();
    b.settle().await;
    let record = store.get("key_a").await.unwrap().unwrap();
    assert_eq!(record.last_used_at, Some(100));
    store.touch("key_a", 80).await.unwrap();
    b.settle().await;
    assert_eq!(
        store.get("key_a").await.unwrap().unwrap().last_used_at,
        Some(100)
    );

    // An update from a record read before the last use keeps the newer time.
    let mut read = store.get("key_a").await.unwrap().unwrap();
    store.touch("key_a", 200).await.unwrap();
    b.settle().await;
    read.name = "renamed".into();
    let written = store.update(read).await;
    if B::TOUCH_BUMPS_VERSION {
        // The memory store's touches bump the version: the stale writer is turned away.
        assert_eq!(written.unwrap_err().kind(), StoreErrorKind::Conflict);
    } else {
        written.unwrap();
        let record = store.get("key_a").await.unwrap().unwrap();
        assert_eq!(record.last_used_at, Some(200));
    }
}
