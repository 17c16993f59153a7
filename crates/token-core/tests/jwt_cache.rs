//! The verified-token cache: a hit stands in for a full verification only when that
//! verification would succeed now; every change that would refuse the token refuses it.

use std::sync::Arc;

use token_core::backend::{MemoryRevocationStore, RevocationStore};
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::{AccessTokenRequest, Keyring, Minter, SharedKeyring, Validation, Verifier};
use token_core::{Authenticator, ManualClock};

const NOW: i64 = 1_800_000_000;

struct World {
    clock: ManualClock,
    keyring: Keyring,
    shared: SharedKeyring,
    revoked: Arc<MemoryRevocationStore>,
    auth: Authenticator,
    verifier: Verifier,
}

fn world(capacity: usize) -> World {
    let clock = ManualClock::new(NOW);
    let keyring = Keyring::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
    let shared = SharedKeyring::new(keyring.clone());
    let revoked = Arc::new(MemoryRevocationStore::new());
    let verifier = Verifier::new(
        Keyring::verify_only(),
        Validation::access_tokens("iss", "aud"),
    )
    .with_clock(Arc::new(clock.clone()))
    .with_revocation(revoked.clone())
    .with_shared_keyring(shared.clone())
    .with_cache(capacity);
    let auth = Authenticator::new().jwt(verifier.clone());
    World {
        clock,
        keyring,
        shared,
        revoked,
        auth,
        verifier,
    }
}

fn mint(w: &World, ring: &Keyring, jti: &str) -> String {
    Minter::new(ring.clone(), "iss")
        .with_clock(Arc::new(w.clock.clone()))
        .mint(
            &AccessTokenRequest::new("user-1", "aud")
                .scope("read:reports".parse().unwrap())
                .jti(jti)
                .ttl_secs(600),
        )
        .unwrap()
}

fn code(w: &World, token: &str) -> Result<String, &'static str> {
    w.auth
        .authenticate_now(token)
        .unwrap()
        .map(|p| p.id().to_owned())
        .map_err(|e| e.code())
}

#[test]
fn a_token_seen_again_is_remembered() {
    let w = world(100);
    let t = mint(&w, &w.keyring, "a");
    assert_eq!(code(&w, &t), Ok("user-1".into()));
    assert_eq!(
        (w.verifier.cached_tokens(), w.verifier.cache_hits()),
        (1, 0)
    );
    assert_eq!(code(&w, &t), Ok("user-1".into()));
    assert_eq!(
        (w.verifier.cached_tokens(), w.verifier.cache_hits()),
        (1, 1),
        "the second call was answered by the cache"
    );
    // A different token, even one byte off, is never a hit (and fails in full).
    let mut tampered = t.clone();
    let i = t.len() - 10;
    let c = if &t[i..=i] == "A" { "B" } else { "A" };
    tampered.replace_range(i..=i, c);
    assert_eq!(code(&w, &tampered), Err("bad_signature"));
}

#[test]
fn expiry_still_applies_to_remembered_tokens() {
    let w = world(100);
    let t = mint(&w, &w.keyring, "a");
    assert!(code(&w, &t).is_ok());
    w.clock.advance_secs(600 + 60);
    assert_eq!(code(&w, &t), Err("token_expired"));
}

#[test]
fn revocation_still_applies_to_remembered_tokens() {
    let w = world(100);
    let t = mint(&w, &w.keyring, "jti-7");
    assert!(code(&w, &t).is_ok());
    w.revoked.revoke("iss", "jti-7", NOW + 600);
    assert_eq!(code(&w, &t), Err("token_revoked"));
}

#[test]
fn a_retired_or_removed_key_still_refuses_remembered_tokens() {
    let w = world(100);
    let t = mint(&w, &w.keyring, "a");
    assert!(code(&w, &t).is_ok());
    let kid = w.keyring.signing_key().unwrap().kid().to_owned();
    w.shared.store(w.keyring.retire(&kid, NOW + 10));
    assert!(code(&w, &t).is_ok(), "before the retirement instant");
    w.clock.advance_secs(10);
    assert_eq!(code(&w, &t), Err("key_retired"));
    // Replaced altogether by another issuer key: unknown.
    let other = Keyring::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
    w.shared.store(other);
    assert_eq!(code(&w, &t), Err("unknown_key"));
}

#[test]
fn a_kid_reused_for_another_key_is_not_trusted_from_the_cache() {
    // Another issuer's JWKS reuses a kid for new key material: the cached entry names a
    // key that is no longer the one selected, so the token is verified again (and fails).
    let w = world(100);
    let first = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k1");
    let second = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k1");
    let ring = Keyring::new(first);
    w.shared.store(
        Keyring::verify_only()
            .with_verifying_key(ring.signing_key().unwrap().verifying_key().clone(), "iss")
            .unwrap(),
    );
    let t = mint(&w, &ring, "a");
    assert!(code(&w, &t).is_ok());
    w.shared.store(
        Keyring::verify_only()
            .with_verifying_key(second.verifying_key().clone(), "iss")
            .unwrap(),
    );
    assert_eq!(code(&w, &t), Err("bad_signature"));
}

#[test]
fn a_key_bound_to_another_issuer_refuses_remembered_tokens() {
    // The same key material, now bound to another issuer: the cached entry's key is
    // still selected, but the token's `iss` is not its issuer any more.
    let w = world(100);
    let key = w.keyring.signing_key().unwrap().verifying_key().clone();
    w.shared.store(
        Keyring::verify_only()
            .with_verifying_key(key.clone(), "iss")
            .unwrap(),
    );
    let t = mint(&w, &w.keyring, "a");
    assert!(code(&w, &t).is_ok());
    assert!(code(&w, &t).is_ok(), "answered by the cache");
    assert_eq!(w.verifier.cache_hits(), 1);
    let rebound = Keyring::verify_only().with_verifying_key(key, "https://partner.example");
    w.shared.store(rebound.unwrap());
    assert_eq!(code(&w, &t), Err("key_issuer_mismatch"));
}

#[test]
fn memory_is_bounded_by_the_capacity() {
    let w = world(32);
    for i in 0..500 {
        let t = mint(&w, &w.keyring, &format!("t{i}"));
        assert!(code(&w, &t).is_ok());
        assert!(
            w.verifier.cached_tokens() <= 32 + 16,
            "{}",
            w.verifier.cached_tokens()
        );
    }
}

#[test]
fn without_a_cache_nothing_is_remembered() {
    let clock = ManualClock::new(NOW);
    let keyring = Keyring::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
    let verifier = Verifier::new(keyring.clone(), Validation::access_tokens("iss", "aud"))
        .with_clock(Arc::new(clock.clone()));
    let auth: Authenticator = Authenticator::new().jwt(verifier.clone());
    let t = Minter::new(keyring, "iss")
        .with_clock(Arc::new(clock))
        .mint(&AccessTokenRequest::new("u", "aud"))
        .unwrap();
    assert!(auth.authenticate_now(&t).unwrap().is_ok());
    assert_eq!(verifier.cached_tokens(), 0);
}

#[test]
fn a_clock_set_back_is_checked_again() {
    let w = world(100);
    let t = mint(&w, &w.keyring, "a");
    assert!(code(&w, &t).is_ok());
    w.clock.set(NOW - 3600);
    assert_eq!(code(&w, &t), Err("token_issued_in_future"));
    w.clock.set(NOW);
    assert!(code(&w, &t).is_ok());
}

#[test]
fn each_clone_rechecks_with_its_own_settings() {
    let w = world(100);
    let t = mint(&w, &w.keyring, "jti-9");
    assert!(code(&w, &t).is_ok());
    // A clone sharing the cache but consulting another revocation store.
    let strict = Arc::new(MemoryRevocationStore::new());
    strict.revoke("iss", "jti-9", NOW + 600);
    let other: Authenticator = Authenticator::new().jwt(w.verifier.clone().with_revocation(strict));
    assert_eq!(
        other.authenticate_now(&t).unwrap().unwrap_err().code(),
        "token_revoked"
    );
    assert!(
        code(&w, &t).is_ok(),
        "the original's settings are unchanged"
    );
}

#[test]
fn a_capacity_of_zero_means_no_cache() {
    let w = world(0);
    let t = mint(&w, &w.keyring, "a");
    assert!(code(&w, &t).is_ok());
    assert!(code(&w, &t).is_ok());
    assert_eq!(
        (w.verifier.cached_tokens(), w.verifier.cache_hits()),
        (0, 0)
    );
}

#[test]
fn revoking_through_the_verifiers_store_refuses_the_token() {
    let w = world(100);
    let t = mint(&w, &w.keyring, "jti-9");
    assert!(code(&w, &t).is_ok());
    // What the OAuth revocation endpoint does: revoke in the verifier's own store.
    w.verifier
        .revocation_store()
        .expect("configured")
        .revoke("iss", "jti-9", NOW + 600);
    assert_eq!(code(&w, &t), Err("token_revoked"));
    assert!(
        Verifier::new(w.keyring.clone(), Validation::access_tokens("iss", "aud"))
            .revocation_store()
            .is_none()
    );
}

#[test]
fn access_token_validation_names_its_audience_and_tenant_claim() {
    let w = world(100);
    // A token for another audience, otherwise perfect, is refused.
    let other = Minter::new(w.keyring.clone(), "iss")
        .with_clock(Arc::new(w.clock.clone()))
        .mint(&AccessTokenRequest::new("user-1", "another-api").ttl_secs(600))
        .unwrap();
    assert_eq!(code(&w, &other), Err("wrong_audience"));

    let v = Validation::access_tokens("iss", "aud");
    assert_eq!(v.tenant_claim(), "tid");
    assert_eq!(v.max_token_len(), 8 * 1024);
    let custom = Validation::builder()
        .issuer("iss")
        .audience("aud")
        .tenant_claim("org")
        .max_token_len(2048)
        .build()
        .unwrap();
    assert_eq!(custom.tenant_claim(), "org");
    assert_eq!(custom.max_token_len(), 2048);
}

#[test]
fn a_token_of_exactly_the_size_limit_is_read() {
    let w = world(100);
    let t = mint(&w, &w.keyring, "a");
    let at_limit = |max: usize| {
        Verifier::new(
            w.keyring.clone(),
            Validation::builder()
                .issuer("iss")
                .audience("aud")
                .typ("at+jwt")
                .max_token_len(max)
                .build()
                .unwrap(),
        )
        .with_clock(Arc::new(w.clock.clone()))
    };
    assert!(at_limit(t.len()).verify(&t).is_ok());
    assert_eq!(
        at_limit(t.len() - 1).verify(&t).unwrap_err().code(),
        "token_too_large"
    );
    let shown = format!("{:?}", at_limit(t.len()));
    assert!(shown.starts_with("Verifier"), "{shown}");
    assert!(shown.contains("revocation: false"), "{shown}");
    assert!(format!("{:?}", w.verifier).contains("revocation: true"));
}
