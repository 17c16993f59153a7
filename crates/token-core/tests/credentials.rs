//! Client credentials, refresh tokens and the one Authenticator.

use std::sync::Arc;

use token_core::apikey::{ApiKeys, KeyFormat, NewKey};
use token_core::backend::MemoryClientStore;
use token_core::backend::MemoryKeyStore;
use token_core::backend::MemoryRefreshStore;
use token_core::client::{ClientCredentials, ClientError};
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::{Keyring, Minter, Validation, Verifier};
use token_core::refresh::{RefreshError, RefreshGrant, RefreshTokens};
use token_core::{AuthErrorKind, Authenticator, CredentialKind, ManualClock, PrincipalKind};
use token_scopes::ScopeSet;

const NOW: i64 = 1_800_000_000;

fn jwt_parts(clock: &ManualClock) -> (Minter, Verifier) {
    let keyring = Keyring::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
    let minter = Minter::new(keyring.clone(), "https://as").with_clock(Arc::new(clock.clone()));
    let verifier = Verifier::new(keyring, Validation::access_tokens("https://as", "api"))
        .with_clock(Arc::new(clock.clone()));
    (minter, verifier)
}

fn set(s: &str) -> ScopeSet {
    s.parse().unwrap()
}

#[tokio::test]
async fn client_credentials_issue_requested_intersect_allowed() {
    let clock = ManualClock::new(NOW);
    let (minter, verifier) = jwt_parts(&clock);
    let clients = ClientCredentials::with_options(
        MemoryClientStore::new(),
        minter,
        token_core::apikey::KeyHasher::sha256(),
        600,
        Arc::new(clock.clone()),
    );
    let (client, secret) = clients
        .register("billing-sync", set("read:* write:invoices"), Some("acme"))
        .await
        .unwrap();
    assert!(secret.expose_secret().starts_with("tk_cs_"));

    let issued = clients
        .issue(
            &client.client_id,
            secret.expose_secret(),
            Some(&set("read:sales admin:keys")),
            "api",
        )
        .await
        .unwrap();
    assert_eq!(issued.scope.to_string(), "read:sales");
    assert_eq!(issued.expires_in, 600);
    assert!(!format!("{issued:?}").contains(&issued.access_token));
    let claims = verifier.verify(&issued.access_token).unwrap().claims;
    assert_eq!(claims.client_id.as_deref(), Some(client.client_id.as_str()));
    assert_eq!(claims.tenant.as_deref(), Some("acme"));
    assert_eq!(claims.scope.to_string(), "read:sales");

    let all = clients
        .issue(&client.client_id, secret.expose_secret(), None, "api")
        .await
        .unwrap();
    assert_eq!(all.scope.to_string(), "read:* write:invoices");

    let err = clients
        .issue(
            &client.client_id,
            secret.expose_secret(),
            Some(&set("admin:keys")),
            "api",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::InvalidScope));
    assert_eq!(err.code(), "invalid_scope");
    let other = KeyFormat::new("tk_cs").unwrap().generate().unwrap();
    for (id, pw) in [
        (client.client_id.as_str(), other.expose_secret()),
        ("client_unknown", secret.expose_secret()),
        (client.client_id.as_str(), "not-even-a-key"),
    ] {
        let err = clients.issue(id, pw, None, "api").await.unwrap_err();
        assert_eq!(err.code(), "invalid_client");
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let clock = ManualClock::new(NOW);
    let refresh = RefreshTokens::with_options(
        MemoryRefreshStore::new(),
        token_core::apikey::KeyHasher::sha256(),
        3600,
        Arc::new(clock.clone()),
    );
    let (first, record) = refresh
        .issue(RefreshGrant::new("user-1", "app", set("read:x")).tenant("acme"))
        .await
        .unwrap();
    assert!(first.expose_secret().starts_with("tk_rt_"));

    let (second, next) = refresh.redeem(first.expose_secret(), "app").await.unwrap();
    assert_eq!(next.family, record.family);
    assert_eq!(next.scope, record.scope);
    assert_eq!(
        next.expires_at, record.expires_at,
        "rotation does not extend the family"
    );

    // The old one again: reuse. The family dies, including the newest token.
    let err = refresh
        .redeem(first.expose_secret(), "app")
        .await
        .unwrap_err();
    let RefreshError::Reused(report) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (
            report.family.as_str(),
            report.subject.as_str(),
            report.client_id.as_str()
        ),
        (record.family.as_str(), "user-1", "app")
    );
    assert_eq!(err.code(), "refresh_token_reused");
    assert_eq!(
        refresh
            .redeem(second.expose_secret(), "app")
            .await
            .unwrap_err()
            .code(),
        "refresh_token_revoked"
    );

    // Client binding, expiry, garbage, RFC 7009 revocation.
    let (t, _) = refresh
        .issue(RefreshGrant::new("u", "app", set("a")))
        .await
        .unwrap();
    assert_eq!(
        refresh
            .redeem(t.expose_secret(), "other-app")
            .await
            .unwrap_err()
            .code(),
        "refresh_token_invalid"
    );
    assert_eq!(
        refresh.redeem("garbage", "app").await.unwrap_err().code(),
        "refresh_token_invalid"
    );
    clock.advance_secs(3600);
    assert_eq!(
        refresh
            .redeem(t.expose_secret(), "app")
            .await
            .unwrap_err()
            .code(),
        "refresh_token_expired"
    );
    let (u, _) = refresh
        .issue(RefreshGrant::new("u", "app", set("a")))
        .await
        .unwrap();
    refresh.revoke(u.expose_secret()).await.unwrap();
    refresh.revoke("unknown").await.unwrap();
    assert_eq!(
        refresh
            .redeem(u.expose_secret(), "app")
            .await
            .unwrap_err()
            .code(),
        "refresh_token_revoked"
    );
}

#[tokio::test]
async fn one_authenticator_for_keys_and_tokens() {
    let clock = ManualClock::new(NOW);
    let (minter, verifier) = jwt_parts(&clock);
    let keys = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .clock(Arc::new(clock.clone()))
        .build();
    let (secret, record) = keys
        .mint(NewKey::new("k", set("read:reports")).tenant("acme"))
        .await
        .unwrap();
    let auth = Authenticator::new()
        .api_keys(keys.clone())
        .jwt(verifier.clone());

    let p = auth.authenticate(secret.expose_secret()).await.unwrap();
    assert_eq!(
        (p.kind(), p.id()),
        (PrincipalKind::ApiKey, record.id.as_str())
    );

    let token = minter
        .mint(
            &token_core::jwt::AccessTokenRequest::new("user-9", "api")
                .scope(set("read:usage"))
                .tenant("acme"),
        )
        .unwrap();
    assert_eq!(auth.recognize(&token).unwrap(), CredentialKind::Jwt);
    let p = auth.authenticate(&token).await.unwrap();
    assert_eq!(
        (p.kind(), p.id(), p.tenant()),
        (PrincipalKind::AccessToken, "user-9", Some("acme"))
    );
    assert_eq!(p.scopes().to_string(), "read:usage");

    // Refusals share one set of codes.
    assert_eq!(
        auth.authenticate("hello").await.unwrap_err().code(),
        "credential_malformed"
    );
    assert_eq!(
        auth.authenticate("").await.unwrap_err().code(),
        "credential_malformed"
    );
    let big = "a".repeat(20_000);
    assert_eq!(
        auth.authenticate(&big).await.unwrap_err().code(),
        "credential_malformed"
    );
    let mut tampered = token.clone();
    let i = tampered.len() - 10;
    let c = if &tampered[i..=i] == "A" { "B" } else { "A" };
    tampered.replace_range(i..=i, c);
    assert_eq!(
        auth.authenticate(&tampered).await.unwrap_err().code(),
        "bad_signature"
    );
    let foreign = KeyFormat::new("tk_test").unwrap().generate().unwrap();
    assert_eq!(
        auth.authenticate(foreign.expose_secret())
            .await
            .unwrap_err()
            .code(),
        "key_prefix"
    );
    keys.revoke(&record.id, "x").await.unwrap();
    assert_eq!(
        auth.authenticate(secret.expose_secret())
            .await
            .unwrap_err()
            .code(),
        "key_revoked"
    );

    // Kinds not configured are refused as such.
    let only_keys: Authenticator = Authenticator::new().api_keys(keys.clone());
    let err = only_keys.authenticate(&token).await.unwrap_err();
    assert_eq!(err.kind(), &AuthErrorKind::NotAccepted(CredentialKind::Jwt));
    assert_eq!(err.code(), "credential_not_accepted");
    let only_jwt: Authenticator = Authenticator::new().jwt(verifier);
    let err = only_jwt
        .authenticate(secret.expose_secret())
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        &AuthErrorKind::NotAccepted(CredentialKind::ApiKey)
    );

    // A client-credentials token authenticates as a client.
    let client_token = minter
        .mint(
            &token_core::jwt::AccessTokenRequest::new("client_x", "api")
                .client_id("client_x")
                .scope(set("a")),
        )
        .unwrap();
    assert_eq!(
        auth.authenticate(&client_token).await.unwrap().kind(),
        PrincipalKind::Client
    );
}

#[tokio::test]
async fn authenticate_now_agrees_with_authenticate_without_io() {
    let clock = ManualClock::new(NOW);
    let (minter, verifier) = jwt_parts(&clock);
    let keys = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .clock(Arc::new(clock.clone()))
        .build();
    let (secret, record) = keys.mint(NewKey::new("k", set("a"))).await.unwrap();
    let auth = Authenticator::new().api_keys(keys).jwt(verifier);
    let token = minter
        .mint(&token_core::jwt::AccessTokenRequest::new("user-9", "api").scope(set("a")))
        .unwrap();

    // JWTs never need a future; garbage never needs one either.
    assert_eq!(
        auth.authenticate_now(&token).unwrap().unwrap().id(),
        "user-9"
    );
    assert_eq!(
        auth.authenticate_now("hello").unwrap().unwrap_err().code(),
        "credential_malformed"
    );
    // An API key needs the store once, then is answered from the cache.
    assert!(auth.authenticate_now(secret.expose_secret()).is_none());
    auth.authenticate(secret.expose_secret()).await.unwrap();
    let warm = auth
        .authenticate_now(secret.expose_secret())
        .unwrap()
        .unwrap();
    assert_eq!(warm.id(), record.id);
}

#[tokio::test]
async fn refusals_of_existing_keys_name_the_key_but_never_hold_it() {
    let clock = ManualClock::new(NOW);
    let keys = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .clock(Arc::new(clock.clone()))
        .build();
    let (secret, record) = keys.mint(NewKey::new("k", set("a"))).await.unwrap();
    let auth = Authenticator::new().api_keys(keys.clone());
    auth.authenticate(secret.expose_secret()).await.unwrap();
    keys.revoke(&record.id, "leaked").await.unwrap();
    for err in [
        auth.authenticate(secret.expose_secret()).await.unwrap_err(),
        auth.authenticate_now(secret.expose_secret())
            .unwrap()
            .unwrap_err(),
    ] {
        assert_eq!(err.code(), "key_revoked");
        let key = err.key().expect("the revoked key is named");
        assert_eq!(
            (key.id.as_str(), key.hint.as_str()),
            (record.id.as_str(), record.hint.as_str())
        );
        assert!(!format!("{err:?} {err}").contains(secret.expose_secret()));
    }
    let unknown = KeyFormat::new("tk_live").unwrap().generate().unwrap();
    let err = auth
        .authenticate(unknown.expose_secret())
        .await
        .unwrap_err();
    assert!(err.key().is_none(), "an unknown key names nothing");
}

#[tokio::test]
async fn a_client_revokes_only_its_own_refresh_tokens() {
    let refresh = RefreshTokens::new(MemoryRefreshStore::new());
    let (token, _) = refresh
        .issue(RefreshGrant::new("user-1", "client_a", set("a")))
        .await
        .unwrap();
    let t = token.expose_secret();
    assert!(
        !refresh.revoke_for(t, "client_b").await.unwrap(),
        "not b's token"
    );
    assert!(
        !refresh
            .revoke_for("tk_rt_nonsense", "client_a")
            .await
            .unwrap()
    );
    let (next, _) = refresh.redeem(t, "client_a").await.unwrap();
    assert!(
        refresh
            .revoke_for(next.expose_secret(), "client_a")
            .await
            .unwrap()
    );
    assert!(matches!(
        refresh.redeem(next.expose_secret(), "client_a").await,
        Err(RefreshError::Revoked)
    ));
}
