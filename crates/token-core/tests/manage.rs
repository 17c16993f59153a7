//! The key-management rules every front end shares (`ApiKeys::*_as` with an
//! `Operator`): tenants, the exact cross-tenant scope, no widening, names and scopes,
//! expiry bounds. The admin API's tests pin the same rules over HTTP.

use std::sync::Arc;

use token_core::apikey::{
    ApiKeyError, ApiKeyErrorKind, ApiKeys, KeyFormat, KeyUpdate, NewKey, Operator,
};
use token_core::backend::MemoryKeyStore;
use token_core::limits::MAX_KEY_TTL_SECS;
use token_core::{ManualClock, Principal, PrincipalKind};
use token_scopes::Scope;

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

fn who(scopes: &str, tenant: Option<&str>) -> Principal {
    Principal::builder("op", PrincipalKind::AccessToken, scopes.parse().unwrap())
        .tenant(tenant.map(str::to_owned))
        .build()
}

fn cross() -> Scope {
    Scope::new("admin:tenants").unwrap()
}

fn spec(scopes: &str) -> NewKey {
    NewKey::new("k", scopes.parse().unwrap())
}

#[tokio::test]
async fn tenants_are_kept_apart_unless_the_cross_tenant_scope_is_held_exactly() {
    let (keys, _) = keys();
    let x = cross();
    let a = who("admin:keys read:r", Some("a"));
    let wild = who("admin:* read:r", Some("a"));
    let ops = who("admin:keys admin:tenants read:r", Some("a"));
    // Own tenant by default.
    let (_, mine) = keys
        .create_as(Operator::new(&a, &x), spec("read:r"))
        .await
        .unwrap();
    assert_eq!(mine.tenant.as_deref(), Some("a"));
    // Another tenant: only for the exact holder.
    for p in [&a, &wild] {
        assert_eq!(
            kind(
                keys.create_as(Operator::new(p, &x), spec("read:r").tenant("b"))
                    .await
            ),
            ApiKeyErrorKind::TenantMismatch
        );
    }
    let (_, theirs) = keys
        .create_as(Operator::new(&ops, &x), spec("read:r").tenant("b"))
        .await
        .unwrap();
    // Another tenant's key is not found, not forbidden.
    assert_eq!(
        kind(keys.get_as(Operator::new(&a, &x), &theirs.id).await),
        ApiKeyErrorKind::NotFound
    );
    assert!(
        keys.get_as(Operator::new(&ops, &x), &theirs.id)
            .await
            .is_ok()
    );
    let seen: Vec<_> = keys
        .list_as(Operator::new(&a, &x))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(seen, [mine.id.as_str()]);
    assert_eq!(
        keys.list_as(Operator::new(&ops, &x)).await.unwrap().len(),
        2
    );
}

#[tokio::test]
async fn no_key_is_wider_than_its_operator_and_the_cross_tenant_scope_needs_an_exact_holder() {
    let (keys, _) = keys();
    let x = cross();
    let wild = who("admin:*", None);
    // `admin:*` covers `admin:keys` but never reaches `admin:tenants`.
    assert!(
        keys.create_as(Operator::new(&wild, &x), spec("admin:keys"))
            .await
            .is_ok()
    );
    assert_eq!(
        kind(
            keys.create_as(Operator::new(&wild, &x), spec("admin:tenants"))
                .await
        ),
        ApiKeyErrorKind::WouldWiden
    );
    // A lesser operator cannot manage a greater key.
    let ops = who("admin:keys admin:tenants read:r", None);
    let (_, big) = keys
        .create_as(Operator::new(&ops, &x), spec("admin:keys read:r"))
        .await
        .unwrap();
    let small = who("admin:keys", None);
    for refused in [
        kind(keys.managed_by(Operator::new(&small, &x), &big.id).await),
        kind(keys.rotate_as(Operator::new(&small, &x), &big.id, 60).await),
        kind(
            keys.revoke_as(Operator::new(&small, &x), &big.id, "no")
                .await,
        ),
        kind(
            keys.update_as(
                Operator::new(&small, &x),
                &big.id,
                KeyUpdate::new().name("x"),
            )
            .await,
        ),
    ] {
        assert_eq!(refused, ApiKeyErrorKind::WouldWiden);
    }
    assert!(
        keys.revoke_as(Operator::new(&ops, &x), &big.id, "done")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn names_scopes_and_expiries_follow_one_set_of_rules() {
    let (keys, clock) = keys();
    let x = cross();
    let op = who("admin:keys read:r", None);
    let o = Operator::new(&op, &x);
    for (bad, field) in [
        (NewKey::new("  ", "read:r".parse().unwrap()), "name"),
        (
            NewKey::new(&"n".repeat(129), "read:r".parse().unwrap()),
            "name",
        ),
        (NewKey::new("k", "".parse().unwrap()), "scopes"),
    ] {
        match kind(keys.create_as(o, bad).await) {
            ApiKeyErrorKind::InvalidInput { field: f, .. } => assert_eq!(f, field),
            other => panic!("{other:?}"),
        }
    }
    let (_, k) = keys
        .create_as(
            o,
            NewKey::new("  trimmed  ", "read:r".parse().unwrap()).ttl_secs(600),
        )
        .await
        .unwrap();
    assert_eq!(k.name, "trimmed");
    for at in [NOW, NOW - 1, NOW + MAX_KEY_TTL_SECS + 1] {
        assert!(matches!(
            kind(
                keys.update_as(o, &k.id, KeyUpdate::new().expires_at(Some(at)))
                    .await
            ),
            ApiKeyErrorKind::InvalidInput {
                field: "expires_at",
                ..
            }
        ));
    }
    // Narrowing to nothing is refused as minting nothing is.
    assert!(matches!(
        kind(
            keys.update_as(o, &k.id, KeyUpdate::new().scopes("".parse().unwrap()))
                .await
        ),
        ApiKeyErrorKind::InvalidInput {
            field: "scopes",
            ..
        }
    ));
    let shorter = keys
        .update_as(o, &k.id, KeyUpdate::new().expires_at(Some(NOW + 60)))
        .await
        .unwrap();
    assert_eq!(shorter.expires_at, Some(NOW + 60));
    // An expired key cannot be changed.
    clock.set(NOW + 61);
    assert_eq!(
        kind(
            keys.update_as(o, &k.id, KeyUpdate::new().name("late"))
                .await
        ),
        ApiKeyErrorKind::Expired
    );
}
