//! The key-management rules every front end shares (`ApiKeys::*_as` with an
//! `Operator`): tenants, the exact cross-tenant scope, no widening, names and scopes,
//! expiry bounds. The admin API's tests pin the same rules over HTTP.

use std::sync::Arc;

use token_core::apikey::admin::{KeyUpdate, Operator};
use token_core::apikey::{ApiKeyError, ApiKeyErrorKind, ApiKeys, KeyFormat, NewKey};
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

fn field<T: std::fmt::Debug>(r: Result<T, ApiKeyError>) -> &'static str {
    match kind(r) {
        ApiKeyErrorKind::InvalidInput { field, .. } => field,
        other => panic!("not an input refusal: {other:?}"),
    }
}

#[tokio::test]
async fn every_attribute_is_accepted_within_its_rules_and_refused_by_name() {
    use token_core::apikey::{CreditPlan, RefillPeriod};
    let (keys, _) = keys();
    let x = cross();
    // A platform operator: it may choose a plan (a rate-limit override of the key's own).
    let a = who("admin:keys admin:tenants read:r", Some("a"));
    let op = Operator::new(&a, &x);
    let (_, record) = keys
        .create_as(
            op,
            spec("read:r")
                .networks(vec!["10.0.0.0/8".parse().unwrap()])
                .rate_limit(" 100/minute ")
                .credit_plan(CreditPlan::refilling(5, 100, RefillPeriod::Daily))
                .metadata("team", "growth")
                .expires_at(NOW + 3600),
        )
        .await
        .unwrap();
    assert_eq!(record.networks[0].to_string(), "10.0.0.0/8");
    assert_eq!(record.rate_limit.as_deref(), Some("100/minute"));
    let credits = record.credits.clone().unwrap();
    assert_eq!(credits.remaining, 5);
    assert_eq!(credits.refill.unwrap().amount, 100);
    assert_eq!(record.expires_at, Some(NOW + 3600));
    assert_eq!(record.metadata["team"], "growth");

    let refused = [
        (spec("read:r").ttl_secs(0), "ttl"),
        (spec("read:r").expires_at(NOW), "expires_at"),
        (
            spec("read:r").ttl_secs(60).expires_at(NOW + 60),
            "expires_at",
        ),
        (spec("read:r").rate_limit(""), "rate_limit"),
        (
            spec("read:r").credit_plan(CreditPlan::refilling(1, 0, RefillPeriod::Monthly)),
            "credits.refill.amount",
        ),
        (
            (0..65).fold(spec("read:r"), |s, i| s.metadata(&format!("k{i}"), "")),
            "metadata",
        ),
        (spec("read:r").metadata("k", &"v".repeat(4096)), "metadata"),
        (
            spec("read:r").networks(vec!["10.0.0.0/8".parse().unwrap(); 65]),
            "networks",
        ),
    ];
    for (s, name) in refused {
        assert_eq!(field(keys.create_as(op, s).await), name);
    }
}

#[tokio::test]
async fn updates_narrow_networks_set_limits_and_say_what_changed() {
    use token_core::apikey::CreditPlan;
    let (keys, _) = keys();
    let x = cross();
    let a = who("admin:keys admin:tenants read:r", Some("a"));
    let op = Operator::new(&a, &x);
    let (_, record) = keys
        .create_as(
            op,
            spec("read:r").networks(vec!["10.0.0.0/8".parse().unwrap()]),
        )
        .await
        .unwrap();
    let wider = KeyUpdate::new().networks(vec!["0.0.0.0/0".parse().unwrap()]);
    assert_eq!(
        kind(keys.update_as(op, &record.id, wider).await),
        ApiKeyErrorKind::ExceedsCreator(token_core::apikey::CreatorLimit::Networks)
    );
    let anywhere = KeyUpdate::new().networks(Vec::new());
    assert_eq!(
        kind(keys.update_as(op, &record.id, anywhere).await),
        ApiKeyErrorKind::ExceedsCreator(token_core::apikey::CreatorLimit::Networks)
    );
    let change = KeyUpdate::new()
        .networks(vec!["10.1.0.0/16".parse().unwrap()])
        .rate_limit(Some("5/second"))
        .credits(CreditPlan::fixed(9))
        .metadata([("plan".to_owned(), "pro".to_owned())].into())
        .ttl_secs(600);
    let (before, after) = keys
        .update_as_tracked(op, &record.id, change)
        .await
        .unwrap();
    assert_eq!(after.expires_at, Some(NOW + 600));
    let changes = after.changes_from(Some(&before));
    let fields: Vec<_> = changes.iter().map(|c| c.field).collect();
    assert_eq!(
        fields,
        [
            "expires_at",
            "networks",
            "rate_limit",
            "credits",
            "metadata"
        ]
    );
    assert_eq!(changes[1].old, r#"["10.0.0.0/8"]"#);
    assert_eq!(changes[1].new, r#"["10.1.0.0/16"]"#);
    let hash = serde_json::to_value(after.hash).unwrap();
    let hash = hash.as_str().unwrap();
    assert!(
        changes
            .iter()
            .all(|c| !c.new.contains(hash) && !c.old.contains(hash))
    );
    let both = KeyUpdate::new().ttl_secs(60).expires_at(Some(NOW + 60));
    assert_eq!(
        field(keys.update_as(op, &record.id, both).await),
        "expires_at"
    );
}

#[tokio::test]
async fn bulk_revocation_takes_an_owner_or_a_tenant_and_the_next_check_refuses() {
    use token_core::apikey::admin::BulkSelector;
    let (keys, _) = keys();
    let x = cross();
    let a = who("admin:keys read:r", Some("a"));
    let b = who("admin:keys read:r", Some("b"));
    let op = Operator::new(&a, &x);
    let (s1, _) = keys
        .mint(spec("read:r").owner("app").tenant("a"))
        .await
        .unwrap();
    let (s2, _) = keys
        .mint(spec("read:r").owner("app").tenant("a"))
        .await
        .unwrap();
    let (other_tenant, _) = keys
        .mint(spec("read:r").owner("app").tenant("b"))
        .await
        .unwrap();
    let (kept, _) = keys
        .mint(spec("read:r").owner("web").tenant("a"))
        .await
        .unwrap();
    // Warm the cache: the revocation must not be served from it.
    keys.verify(s1.expose_secret()).await.unwrap();
    let done = keys
        .revoke_matching_as(op, &BulkSelector::Owner("app".into()), "offboarded")
        .await
        .unwrap();
    assert_eq!(done.count(), 2, "only the operator's tenant");
    for s in [&s1, &s2] {
        assert_eq!(
            keys.verify(s.expose_secret()).await.unwrap_err().code(),
            "key_revoked"
        );
    }
    keys.verify(other_tenant.expose_secret()).await.unwrap();
    keys.verify(kept.expose_secret()).await.unwrap();
    // Another tenant: its own admin, or the cross-tenant scope.
    let t = BulkSelector::Tenant("b".into());
    assert_eq!(
        keys.revoke_matching_as(op, &t, "x")
            .await
            .unwrap_err()
            .kind(),
        ApiKeyErrorKind::TenantMismatch
    );
    let done = keys
        .revoke_matching_as(Operator::new(&b, &x), &t, "x")
        .await
        .unwrap();
    assert_eq!(done.count(), 1);
    // A lesser admin revokes nothing it could not revoke one by one.
    let (greater, _) = keys
        .mint(spec("read:r admin:keys write:w").tenant("a"))
        .await
        .unwrap();
    let lesser = who("admin:keys read:r", Some("a"));
    assert_eq!(
        keys.revoke_matching_as(
            Operator::new(&lesser, &x),
            &BulkSelector::Tenant("a".into()),
            "x"
        )
        .await
        .unwrap_err()
        .kind(),
        ApiKeyErrorKind::WouldWiden
    );
    keys.verify(greater.expose_secret()).await.unwrap();
}

/// A key minted with `spec`, and the principal it verifies as.
async fn key_principal(keys: &ApiKeys<MemoryKeyStore>, spec: NewKey) -> (Principal, String) {
    let (secret, record) = keys.mint(spec).await.unwrap();
    (
        keys.verify(secret.expose_secret()).await.unwrap(),
        record.id,
    )
}

#[tokio::test]
async fn a_metered_operator_changes_no_credits_not_even_on_its_own_line() {
    use token_core::apikey::{CreatorLimit, CreditPlan, Credits};
    let (keys, _) = keys();
    let x = cross();
    let admin_spec = spec("admin:keys admin:tenants read:r").credits(Credits::fixed(10));
    let (metered, own) = key_principal(&keys, admin_spec).await;
    assert!(metered.is_metered());
    let (_, other) = keys.mint(spec("read:r")).await.unwrap();
    let refill = || KeyUpdate::new().credits(CreditPlan::fixed(u64::MAX));
    for id in [own.as_str(), other.id.as_str()] {
        assert_eq!(
            kind(
                keys.update_as(Operator::new(&metered, &x), id, refill())
                    .await
            ),
            ApiKeyErrorKind::ExceedsCreator(CreatorLimit::Metering),
            "{id}"
        );
    }
    // Its successor shares the balance and is just as metered.
    let (secret, successor) = keys.rotate(&own, 3600).await.unwrap();
    let next = keys.verify(secret.expose_secret()).await.unwrap();
    for id in [own.as_str(), successor.id.as_str()] {
        assert_eq!(
            kind(keys.update_as(Operator::new(&next, &x), id, refill()).await),
            ApiKeyErrorKind::ExceedsCreator(CreatorLimit::Metering),
        );
    }
    // Two verifications took two credits; no refill got in.
    assert_eq!(keys.get(&own).await.unwrap().credits.unwrap().remaining, 8);
    // Other changes are still its to make.
    keys.update_as(
        Operator::new(&metered, &x),
        &other.id,
        KeyUpdate::new().name("n"),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn no_credential_changes_the_limits_of_its_own_rotation_line() {
    use token_core::apikey::CreditPlan;
    let (keys, _) = keys();
    let x = cross();
    let (admin, own) = key_principal(&keys, spec("admin:keys admin:tenants read:r")).await;
    let faster = || KeyUpdate::new().rate_limit(Some("1000000/second"));
    let metered = || KeyUpdate::new().credits(CreditPlan::fixed(5));
    let op = Operator::new(&admin, &x);
    for change in [faster(), metered(), KeyUpdate::new().rate_limit(None)] {
        assert_eq!(
            kind(keys.update_as(op, &own, change).await),
            ApiKeyErrorKind::OwnLimits
        );
    }
    // Nor its successor's, nor (as the successor) its predecessor's, two rotations on.
    let (_, second) = keys.rotate(&own, 3600).await.unwrap();
    let (third_secret, third) = keys.rotate(&second.id, 3600).await.unwrap();
    let newest = keys.verify(third_secret.expose_secret()).await.unwrap();
    for (who, id) in [(&admin, &third.id), (&newest, &own), (&newest, &second.id)] {
        assert_eq!(
            kind(keys.update_as(Operator::new(who, &x), id, faster()).await),
            ApiKeyErrorKind::OwnLimits,
            "{id}"
        );
    }
    assert_eq!(keys.get(&third.id).await.unwrap().rate_limit, None);
    // Anyone else's key: the platform operator's decision to make.
    let (_, other) = keys.mint(spec("read:r")).await.unwrap();
    let changed = keys.update_as(op, &other.id, faster()).await.unwrap();
    assert_eq!(changed.rate_limit.as_deref(), Some("1000000/second"));
    keys.update_as(op, &other.id, metered()).await.unwrap();
}

#[tokio::test]
async fn a_plan_other_than_the_operators_own_needs_the_cross_tenant_scope() {
    use token_core::apikey::CreatorLimit;
    let (keys, _) = keys();
    let x = cross();
    let tenant_admin = who("admin:keys read:r", Some("a"));
    let op = Operator::new(&tenant_admin, &x);
    assert_eq!(
        kind(
            keys.create_as(op, spec("read:r").rate_limit("1000/second"))
                .await
        ),
        ApiKeyErrorKind::ExceedsCreator(CreatorLimit::RateLimit)
    );
    let (_, plain) = keys.create_as(op, spec("read:r")).await.unwrap();
    assert_eq!(plain.rate_limit, None, "its own: none");
    assert_eq!(
        kind(
            keys.update_as(
                op,
                &plain.id,
                KeyUpdate::new().rate_limit(Some("1000/second"))
            )
            .await
        ),
        ApiKeyErrorKind::ExceedsCreator(CreatorLimit::RateLimit)
    );
    // An operator with an override hands out that one, and sets only that one.
    let limited = Principal::builder(
        "lim",
        PrincipalKind::AccessToken,
        "admin:keys read:r".parse().unwrap(),
    )
    .tenant(Some("a".to_owned()))
    .rate_limit(Some("10/minute".to_owned()))
    .build();
    let lop = Operator::new(&limited, &x);
    let (_, inherited) = keys.create_as(lop, spec("read:r")).await.unwrap();
    assert_eq!(inherited.rate_limit.as_deref(), Some("10/minute"));
    for quota in [None, Some("11/minute")] {
        assert_eq!(
            kind(
                keys.update_as(lop, &plain.id, KeyUpdate::new().rate_limit(quota))
                    .await
            ),
            ApiKeyErrorKind::ExceedsCreator(CreatorLimit::RateLimit)
        );
    }
    keys.update_as(
        lop,
        &plain.id,
        KeyUpdate::new().rate_limit(Some("10/minute")),
    )
    .await
    .unwrap();
    // The platform operator chooses any plan, and a plan is checked as any override.
    let platform = who("admin:keys admin:tenants read:r", Some("a"));
    let pop = Operator::new(&platform, &x);
    let (_, planned) = keys
        .create_as(pop, spec("read:r").rate_limit(" 1000/second "))
        .await
        .unwrap();
    assert_eq!(planned.rate_limit.as_deref(), Some("1000/second"));
    assert!(matches!(
        kind(
            keys.create_as(pop, spec("read:r").rate_limit(&"9".repeat(65)))
                .await
        ),
        ApiKeyErrorKind::InvalidInput {
            field: "rate_limit",
            ..
        }
    ));
}
