//! `AuthLayer` through tower's `oneshot`: every status path, its headers and body.

mod common;

use common::{Answer, World, answer, echo, policy, req};
use http::StatusCode;
use token_core::apikey::{KeyFormat, KeyRecord, NewKey};
use token_core::backend::KeyHash;
use token_core::backend::KeyStore;
use token_core::backend::{StoreError, StoreErrorKind};
use token_tower::{AuthLayer, RenderedBody};
use tower::{Layer, ServiceExt, service_fn};

async fn send<K: KeyStore>(layer: &AuthLayer<K>, request: common::Req) -> Answer {
    let svc = layer.layer(service_fn(echo));
    answer(svc.oneshot(request.build()).await.unwrap()).await
}

fn layer(world: &World) -> AuthLayer {
    AuthLayer::new(world.authenticator(), policy())
}

#[tokio::test]
async fn public_routes_need_no_credential() {
    let w = World::new();
    let a = send(&layer(&w), req("GET", "/health")).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "anonymous"));
}

#[tokio::test]
async fn a_missing_credential_is_a_bare_challenge() {
    let w = World::new();
    let a = send(&layer(&w), req("GET", "/api/reports")).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.header("www-authenticate"), Some("Bearer realm=\"api\""));
    let p = a.problem();
    assert_eq!(p["type"], "urn:tokenkit:problem:unauthenticated");
    assert_eq!(p["status"], 401);
}

#[tokio::test]
async fn a_valid_token_reaches_the_service_with_its_principal() {
    let w = World::new();
    let token = w.token("read:reports", None);
    let a = send(&layer(&w), req("GET", "/api/reports").bearer(&token)).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "user-1"));
    // Lower-case scheme too.
    let a = send(
        &layer(&w),
        req("GET", "/api/reports").header("authorization", &format!("bearer {token}")),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn an_invalid_token_is_invalid_token_and_never_echoed() {
    let w = World::new();
    let mut token = w.token("read:reports", None);
    token.push('x');
    let a = send(&layer(&w), req("GET", "/api/reports").bearer(&token)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let challenge = a.header("www-authenticate").unwrap();
    assert!(challenge.starts_with("Bearer realm=\"api\", error=\"invalid_token\""));
    assert_eq!(a.code(), "bad_signature");
    assert!(!a.body.contains(&token) && !challenge.contains(&token));

    let old = w.token("read:reports", None);
    w.clock.advance_secs(3600);
    let expired = send(&layer(&w), req("GET", "/api/reports").bearer(&old)).await;
    assert_eq!(
        (expired.status, expired.code()),
        (StatusCode::UNAUTHORIZED, "token_expired".into())
    );
}

#[tokio::test]
async fn insufficient_scope_names_what_would_satisfy() {
    let w = World::new();
    let token = w.token("read:reports", None);
    let a = send(&layer(&w), req("POST", "/api/reports").bearer(&token)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let challenge = a.header("www-authenticate").unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.ends_with("scope=\"write:reports\""),
        "{challenge}"
    );
    assert_eq!(a.problem()["scope"], "write:reports");
}

#[tokio::test]
async fn tenant_binding_comes_from_the_path() {
    let w = World::new();
    let token = w.token("read:usage", Some("acme"));
    let ok = send(
        &layer(&w),
        req("GET", "/api/tenants/acme/usage").bearer(&token),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    let other = send(
        &layer(&w),
        req("GET", "/api/tenants/globex/usage").bearer(&token),
    )
    .await;
    assert_eq!(
        (other.status, other.code()),
        (StatusCode::FORBIDDEN, "tenant_mismatch".into())
    );
}

#[tokio::test]
async fn routes_without_a_rule_fail_closed() {
    let w = World::new();
    let token = w.token("read:reports write:reports", None);
    for (m, p) in [
        ("GET", "/api/secret"),
        ("DELETE", "/api/reports"),
        ("GET", "/api/reports/../x"),
    ] {
        let a = send(&layer(&w), req(m, p).bearer(&token)).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, "no_rule".into()),
            "{m} {p}"
        );
    }
    let anonymous = send(&layer(&w), req("GET", "/admin")).await;
    assert_eq!(anonymous.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn two_credentials_or_query_credentials_are_invalid_requests() {
    let w = World::new();
    let token = w.token("read:reports", None);
    let (key, _) = w
        .key(NewKey::new("k", "read:reports".parse().unwrap()))
        .await;
    let a = send(
        &layer(&w),
        req("GET", "/api/reports")
            .bearer(&token)
            .api_key(key.expose_secret()),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_request\"")
    );
    assert_eq!(a.code(), "credential_ambiguous");

    for uri in [
        format!("/api/reports?access_token={token}"),
        format!("/api/reports?page=1&k={}", key.expose_secret()),
        "/api/reports?api_key=whatever".to_owned(),
    ] {
        let a = send(&layer(&w), req("GET", &uri)).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, "credential_in_query".into())
        );
        assert!(!a.body.contains(&token) && !a.body.contains(key.expose_secret()));
    }
    // Ordinary query values, long ones and dotted ones included, are not credentials.
    for uri in [
        "/health?page=2",
        "/health?search=quarterly+revenue+by+region+and+month",
        "/health?v=1.2.3",
    ] {
        let harmless = send(&layer(&w), req("GET", uri)).await;
        assert_eq!(harmless.status, StatusCode::OK, "{uri}");
    }
}

#[tokio::test]
async fn credentials_travel_only_over_tls_outside_loopback() {
    let w = World::new();
    let token = w.token("read:reports", None);
    let plain = send(
        &layer(&w),
        req("GET", "/api/reports")
            .bearer(&token)
            .peer("198.51.100.7:4000"),
    )
    .await;
    assert_eq!(plain.status, StatusCode::BAD_REQUEST);
    assert_eq!(plain.code(), "insecure_transport");
    assert!(
        plain.problem()["detail"]
            .as_str()
            .unwrap()
            .contains("HTTPS")
    );

    let tls = send(
        &layer(&w),
        req("GET", "/api/reports")
            .bearer(&token)
            .peer("198.51.100.7:4000")
            .tls(),
    )
    .await;
    assert_eq!(tls.status, StatusCode::OK);
    // An unknown peer is not loopback.
    let unknown = send(
        &layer(&w),
        req("GET", "/api/reports").bearer(&token).no_peer(),
    )
    .await;
    assert_eq!(unknown.code(), "insecure_transport");
    // A client cannot claim HTTPS by header; a trusted proxy can.
    let forged = req("GET", "/api/reports")
        .bearer(&token)
        .peer("198.51.100.7:4000")
        .header("x-forwarded-proto", "https");
    assert_eq!(send(&layer(&w), forged).await.code(), "insecure_transport");
    let proxied = AuthLayer::builder(w.authenticator(), policy())
        .trusted_proxies(vec!["10.0.0.0/8".parse().unwrap()])
        .build();
    let via_proxy = req("GET", "/api/reports")
        .bearer(&token)
        .peer("10.0.0.2:4000")
        .header("x-forwarded-for", "198.51.100.7")
        .header("x-forwarded-proto", "https");
    assert_eq!(send(&proxied, via_proxy).await.status, StatusCode::OK);
    let plain_via_proxy = req("GET", "/api/reports")
        .bearer(&token)
        .peer("10.0.0.2:4000")
        .header("forwarded", "for=198.51.100.7;proto=http");
    assert_eq!(
        send(&proxied, plain_via_proxy).await.code(),
        "insecure_transport"
    );
    // Public routes without credentials are not affected.
    let health = send(&layer(&w), req("GET", "/health").peer("198.51.100.7:4000")).await;
    assert_eq!(health.status, StatusCode::OK);
    // The insecure option turns the check off.
    let insecure = AuthLayer::builder(w.authenticator(), policy())
        .insecure_allow_plaintext()
        .build();
    let a = send(
        &insecure,
        req("GET", "/api/reports")
            .bearer(&token)
            .peer("198.51.100.7:1"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn a_keys_networks_are_enforced_on_the_real_client_address() {
    let w = World::new();
    let (key, _) = w
        .key(
            NewKey::new("k", "read:reports".parse().unwrap())
                .networks(vec!["203.0.113.0/24".parse().unwrap()]),
        )
        .await;
    let proxied = AuthLayer::builder(w.authenticator(), policy())
        .trusted_proxies(vec!["10.0.0.0/8".parse().unwrap()])
        .build();
    let call = |peer: &str, xff: &str| {
        req("GET", "/api/reports")
            .api_key(key.expose_secret())
            .peer(peer)
            .tls()
            .header("x-forwarded-for", xff)
    };
    let inside = send(&proxied, call("10.0.0.2:1", "203.0.113.5")).await;
    assert_eq!(inside.status, StatusCode::OK);
    let outside = send(&proxied, call("10.0.0.2:1", "198.51.100.1")).await;
    assert_eq!(
        (outside.status, outside.code()),
        (StatusCode::FORBIDDEN, "network_denied".into())
    );
    // The client appends a forged allowed address; the proxy appends the real one.
    let forged = send(&proxied, call("10.0.0.2:1", "203.0.113.5, 198.51.100.1")).await;
    assert_eq!(forged.code(), "network_denied");
    // An untrusted peer's header is ignored.
    let untrusted = send(&proxied, call("198.51.100.1:1", "203.0.113.5")).await;
    assert_eq!(untrusted.code(), "network_denied");
}

#[tokio::test]
async fn api_keys_cold_and_warm_and_revocation_on_the_next_request() {
    let w = World::new();
    let (key, record) = w
        .key(NewKey::new("k", "read:reports".parse().unwrap()))
        .await;
    let l = layer(&w);
    let cold = send(&l, req("GET", "/api/reports").api_key(key.expose_secret())).await;
    assert_eq!(
        (cold.status, cold.body.as_str()),
        (StatusCode::OK, record.id.as_str())
    );
    let warm = send(&l, req("GET", "/api/reports").api_key(key.expose_secret())).await;
    assert_eq!(warm.status, StatusCode::OK);
    w.keys.revoke(&record.id, "leaked").await.unwrap();
    let revoked = send(&l, req("GET", "/api/reports").api_key(key.expose_secret())).await;
    assert_eq!(
        (revoked.status, revoked.code()),
        (StatusCode::UNAUTHORIZED, "key_revoked".into())
    );
    // Bearer works for keys too.
    let (k2, _) = w
        .key(NewKey::new("k2", "read:reports".parse().unwrap()))
        .await;
    let bearer = send(&l, req("GET", "/api/reports").bearer(k2.expose_secret())).await;
    assert_eq!(bearer.status, StatusCode::OK);
}

#[tokio::test]
async fn exhausted_usage_credits_are_429() {
    let w = World::new();
    let (key, _) = w
        .key(
            NewKey::new("k", "read:reports".parse().unwrap())
                .credits(token_core::apikey::Credits::fixed(1)),
        )
        .await;
    let l = layer(&w);
    let first = send(&l, req("GET", "/api/reports").api_key(key.expose_secret())).await;
    assert_eq!(first.status, StatusCode::OK);
    let second = send(&l, req("GET", "/api/reports").api_key(key.expose_secret())).await;
    assert_eq!(
        (second.status, second.code()),
        (StatusCode::TOO_MANY_REQUESTS, "usage_exceeded".into())
    );
}

#[tokio::test]
async fn a_render_hook_owns_the_body_but_not_the_protocol() {
    let w = World::new();
    let custom = AuthLayer::builder(w.authenticator(), policy())
        .realm("reports")
        .render(|r| RenderedBody {
            content_type: http::HeaderValue::from_static("text/plain"),
            body: format!("nope: {}", r.code()).into(),
        })
        .build();
    let a = send(&custom, req("GET", "/api/reports")).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.header("content-type"), Some("text/plain"));
    assert_eq!(a.body, "nope: unauthenticated");
    assert_eq!(
        a.header("www-authenticate"),
        Some("Bearer realm=\"reports\"")
    );
}

/// A key store that is down.
#[derive(Debug)]
struct Down;

fn down() -> StoreError {
    StoreError::new(StoreErrorKind::Unavailable, "connection refused")
}

impl KeyStore for Down {
    async fn insert(&self, _: KeyRecord) -> Result<(), StoreError> {
        Err(down())
    }
    async fn find_by_hash(&self, _: &KeyHash) -> Result<Option<KeyRecord>, StoreError> {
        Err(down())
    }
    async fn get(&self, _: &str) -> Result<Option<KeyRecord>, StoreError> {
        Err(down())
    }
    async fn update(&self, _: KeyRecord) -> Result<(), StoreError> {
        Err(down())
    }
    async fn revoke(&self, _: &str, _: i64, _: &str) -> Result<KeyRecord, StoreError> {
        Err(down())
    }
    async fn list(&self, _: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
        Err(down())
    }
    async fn list_page(
        &self,
        _: &token_core::apikey::admin::KeyFilter,
        _: Option<&token_core::apikey::admin::PageCursor>,
        _: usize,
    ) -> Result<token_core::apikey::admin::KeyPage, StoreError> {
        Err(down())
    }
    async fn touch(&self, _: &str, _: i64) -> Result<(), StoreError> {
        Err(down())
    }
    async fn consume_credit(
        &self,
        _: &str,
        _: i64,
    ) -> Result<token_core::backend::CreditOutcome, StoreError> {
        Err(down())
    }
}

#[tokio::test]
async fn a_store_that_is_down_fails_closed_with_503() {
    let format = KeyFormat::new("tk_live").unwrap();
    let key = format.generate().unwrap();
    let auth =
        token_core::Authenticator::new().api_keys(token_core::apikey::ApiKeys::new(Down, format));
    let l = AuthLayer::new(auth, policy());
    let a = send(&l, req("GET", "/api/reports").api_key(key.expose_secret())).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable".into())
    );
    assert!(a.header("www-authenticate").is_none());
    assert!(!a.body.contains(key.expose_secret()));
}

#[tokio::test]
async fn a_finished_response_future_polled_again_answers_500_instead_of_panicking() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    use tower::Service;
    let w = World::new();
    let mut svc = layer(&w).layer(service_fn(echo));
    let token = w.token("read:reports", None);
    let mut fut = std::pin::pin!(svc.call(req("GET", "/api/reports").bearer(&token).build()));
    let mut cx = Context::from_waker(Waker::noop());
    let Poll::Ready(Ok(first)) = fut.as_mut().poll(&mut cx) else {
        panic!("a warm request is ready at once")
    };
    assert_eq!(first.status(), StatusCode::OK);
    let Poll::Ready(Ok(again)) = fut.as_mut().poll(&mut cx) else {
        panic!("answers again")
    };
    assert_eq!(again.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn head_runs_the_get_handler_so_it_needs_the_get_rules_scope() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use token_scopes::{Policy, RuleSpec};

    let w = World::new();
    let policy = Policy::builder()
        .rule(RuleSpec::new("GET", "/api/reports").require("read:reports"))
        .rule(RuleSpec::new("*", "/{*rest}").public())
        .build()
        .unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&ran);
    // axum answers HEAD with the GET handler.
    let app = axum::Router::new()
        .route(
            "/api/reports",
            axum::routing::get(move || {
                seen.fetch_add(1, Ordering::SeqCst);
                async { "reports" }
            }),
        )
        .layer(AuthLayer::new(w.authenticator(), policy));
    let other = w.token("read:usage", None);
    let head = answer(
        app.clone()
            .oneshot(req("HEAD", "/api/reports").bearer(&other).build())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(head.status, StatusCode::FORBIDDEN);
    let anonymous = answer(
        app.clone()
            .oneshot(req("HEAD", "/api/reports").build())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(ran.load(Ordering::SeqCst), 0, "the GET handler never ran");
    let reader = w.token("read:reports", None);
    let allowed = app
        .oneshot(req("HEAD", "/api/reports").bearer(&reader).build())
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn require_tls_on_loopback_removes_the_loopback_exemption() {
    let w = World::new();
    let token = w.token("read:reports", None);
    let local = || {
        req("GET", "/api/reports")
            .bearer(&token)
            .peer("127.0.0.1:4000")
    };
    assert_eq!(send(&layer(&w), local()).await.status, StatusCode::OK);
    let strict = AuthLayer::builder(w.authenticator(), policy())
        .require_tls_on_loopback()
        .build();
    let plain = send(&strict, local()).await;
    assert_eq!(
        (plain.status, plain.code()),
        (StatusCode::BAD_REQUEST, "insecure_transport".into())
    );
    assert_eq!(send(&strict, local().tls()).await.status, StatusCode::OK);
    // Without a credential nothing changes.
    let health = send(&strict, req("GET", "/health").peer("127.0.0.1:4000")).await;
    assert_eq!(health.status, StatusCode::OK);
}

#[tokio::test]
async fn plaintext_allowed_stays_allowed_whatever_the_order_of_settings() {
    let w = World::new();
    let token = w.token("read:reports", None);
    let both = AuthLayer::builder(w.authenticator(), policy())
        .insecure_allow_plaintext()
        .require_tls_on_loopback()
        .build();
    let remote = req("GET", "/api/reports")
        .bearer(&token)
        .peer("198.51.100.7:4000");
    assert_eq!(send(&both, remote).await.status, StatusCode::OK);
}
