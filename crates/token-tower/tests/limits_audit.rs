//! Rate limits and the audit trail through the layer: headers on every limited
//! response, 429 with Retry-After, one audit event per decision, no secret in any.

mod common;

use std::time::Duration;

use common::{Answer, World, answer, echo, policy, req};
use http::StatusCode;
use token_audit::sink::MemorySink;
use token_audit::{Auditor, EventKind};
use token_core::ManualClock;
use token_core::apikey::NewKey;
use token_ratelimit::{Limiter, Quota};
use token_tower::AuthLayer;
use tower::{Layer, ServiceExt, service_fn};

async fn send(layer: &AuthLayer, request: common::Req) -> Answer {
    let svc = layer.layer(service_fn(echo));
    answer(svc.oneshot(request.build()).await.unwrap()).await
}

fn limited(world: &World, clock: &ManualClock) -> AuthLayer {
    let limiter = Limiter::builder()
        .principal(Quota::per_minute(2).unwrap())
        .route_class("reads", Quota::per_minute(100).unwrap())
        .clock(clock.clone())
        .build()
        .unwrap();
    AuthLayer::builder(world.authenticator(), policy())
        .limiter(limiter)
        .build()
}

#[tokio::test]
async fn every_limited_response_carries_the_fields_and_429_says_when() {
    let w = World::new();
    let clock = ManualClock::default();
    let l = limited(&w, &clock);
    let token = w.token("read:reports", None);
    let first = send(&l, req("GET", "/api/reports").bearer(&token)).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        first.header("ratelimit-policy"),
        Some("\"principal\";q=2;w=60")
    );
    assert_eq!(first.header("ratelimit"), Some("\"principal\";r=1;t=30"));
    assert!(
        first.header("x-ratelimit-limit").is_none(),
        "legacy fields are opt-in"
    );
    let second = send(&l, req("GET", "/api/reports").bearer(&token)).await;
    assert_eq!(second.header("ratelimit"), Some("\"principal\";r=0;t=60"));
    let third = send(&l, req("GET", "/api/reports").bearer(&token)).await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(third.code(), "rate_limited");
    assert_eq!(third.header("retry-after"), Some("30"));
    assert_eq!(
        third.header("ratelimit-policy"),
        Some("\"principal\";q=2;w=60")
    );
    assert!(third.header("ratelimit").is_some());
    // Refused requests never reached the service; after the emission interval one more
    // passes.
    clock.advance(Duration::from_secs(30));
    let later = send(&l, req("GET", "/api/reports").bearer(&token)).await;
    assert_eq!(later.status, StatusCode::OK);
}

#[tokio::test]
async fn principals_and_anonymous_clients_have_their_own_buckets() {
    let w = World::new();
    let clock = ManualClock::default();
    let l = limited(&w, &clock);
    let a = w.token("read:reports", None);
    let (key, _) = w
        .key(NewKey::new("k", "read:reports".parse().unwrap()))
        .await;
    for _ in 0..2 {
        assert_eq!(
            send(&l, req("GET", "/api/reports").bearer(&a)).await.status,
            StatusCode::OK
        );
    }
    let other = send(&l, req("GET", "/api/reports").api_key(key.expose_secret())).await;
    assert_eq!(
        other.status,
        StatusCode::OK,
        "another principal is not limited by the first"
    );
    // Anonymous requests to public routes are limited per client address.
    for _ in 0..2 {
        let h = send(&l, req("GET", "/health").peer("192.0.2.1:1")).await;
        assert_eq!(h.status, StatusCode::OK);
    }
    let h = send(&l, req("GET", "/health").peer("192.0.2.1:1")).await;
    assert_eq!(h.status, StatusCode::TOO_MANY_REQUESTS);
    let h = send(&l, req("GET", "/health").peer("192.0.2.2:1")).await;
    assert_eq!(h.status, StatusCode::OK);
}

#[tokio::test]
async fn per_key_overrides_and_legacy_headers() {
    let w = World::new();
    let clock = ManualClock::default();
    let limiter = Limiter::builder()
        .principal(Quota::per_minute(2).unwrap())
        .clock(clock.clone())
        .build()
        .unwrap();
    let l = AuthLayer::builder(w.authenticator(), policy())
        .limiter(limiter)
        .legacy_rate_limit_headers()
        .build();
    let (key, _) = w
        .key(NewKey::new("k", "read:reports".parse().unwrap()).rate_limit("5/minute"))
        .await;
    let a = send(&l, req("GET", "/api/reports").api_key(key.expose_secret())).await;
    assert_eq!(a.header("ratelimit-policy"), Some("\"principal\";q=5;w=60"));
    assert_eq!(a.header("x-ratelimit-limit"), Some("5"));
    assert_eq!(a.header("x-ratelimit-remaining"), Some("4"));
}

fn audited(world: &World) -> (AuthLayer, Auditor, MemorySink) {
    let sink = MemorySink::new();
    let auditor = Auditor::builder().sink(sink.clone()).build().unwrap();
    let layer = AuthLayer::builder(world.authenticator(), policy())
        .auditor(auditor.clone())
        .build();
    (layer, auditor, sink)
}

#[tokio::test]
async fn one_event_per_decision_with_the_route_template() {
    let w = World::new();
    let (l, auditor, sink) = audited(&w);
    let token = w.token("read:usage", Some("acme"));
    let (key, record) = w
        .key(NewKey::new("k", "read:reports".parse().unwrap()))
        .await;
    let mut bad = token.clone();
    bad.push('x');

    send(&l, req("GET", "/health")).await;
    send(
        &l,
        req("GET", "/api/tenants/acme/usage?page=2")
            .bearer(&token)
            .header("x-request-id", "req-1")
            .header("user-agent", "curl/8"),
    )
    .await;
    send(&l, req("GET", "/api/reports").bearer(&token)).await;
    send(&l, req("GET", "/api/reports").bearer(&bad)).await;
    send(&l, req("GET", "/api/reports").api_key(key.expose_secret())).await;
    send(&l, req("GET", "/api/tenants/globex/usage").bearer(&token)).await;
    send(&l, req("GET", "/api/reports?access_token=x")).await;
    auditor.flush();
    let events = sink.events();
    let kinds: Vec<_> = events.iter().map(|e| (e.kind(), e.http_status())).collect();
    assert_eq!(
        kinds,
        [
            (EventKind::AuthSucceeded, Some(200)),
            (EventKind::ScopeDenied, Some(403)),
            (EventKind::AuthFailed, Some(401)),
            (EventKind::AuthSucceeded, Some(200)),
            (EventKind::ScopeDenied, Some(403)),
            (EventKind::AuthFailed, Some(400)),
        ],
        "the public health check is not audited; everything else once"
    );
    let ok = &events[0];
    assert_eq!(ok.route_template(), Some("/api/tenants/{tenant}/usage"));
    assert_eq!(ok.principal(), Some("user-1"));
    assert_eq!(ok.tenant_id(), Some("acme"));
    assert_eq!(ok.http_method(), Some("GET"));
    assert_eq!(ok.request(), Some("req-1"));
    assert_eq!(ok.agent(), Some("curl/8"));
    assert_eq!(ok.client_ip(), Some("127.0.0.1".parse().unwrap()));
    let denied = &events[1];
    assert_eq!(denied.required_scopes(), Some("read:reports"));
    assert_eq!(denied.missing_scopes(), ["read:reports"]);
    assert_eq!(events[2].reason_code(), Some("bad_signature"));
    assert_eq!(events[3].key(), Some(record.id.as_str()));
    assert_eq!(events[4].reason_code(), Some("tenant_mismatch"));
    assert_eq!(events[5].reason_code(), Some("credential_in_query"));

    let all = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect::<String>();
    for secret in [token.as_str(), bad.as_str(), key.expose_secret()] {
        assert!(!all.contains(secret), "a secret reached the audit trail");
    }
    assert!(!all.contains("page=2"), "never the raw query string");
}

#[tokio::test]
async fn a_revoked_key_in_use_is_audited_by_id_and_hint() {
    let w = World::new();
    let (l, auditor, sink) = audited(&w);
    let (key, record) = w
        .key(NewKey::new("k", "read:reports".parse().unwrap()))
        .await;
    w.keys.revoke(&record.id, "leaked").await.unwrap();
    let a = send(&l, req("GET", "/api/reports").api_key(key.expose_secret())).await;
    assert_eq!(a.code(), "key_revoked");
    auditor.flush();
    let events = sink.events();
    let failed = events.last().unwrap();
    assert_eq!(failed.kind(), EventKind::AuthFailed);
    assert_eq!(failed.reason_code(), Some("key_revoked"));
    assert_eq!(failed.key(), Some(record.id.as_str()));
    assert_eq!(failed.display_hint(), Some(record.hint.as_str()));
    assert!(
        !serde_json::to_string(failed)
            .unwrap()
            .contains(key.expose_secret())
    );
}

#[tokio::test]
async fn rate_limited_requests_are_audited_as_such() {
    let w = World::new();
    let clock = ManualClock::default();
    let sink = MemorySink::new();
    let auditor = Auditor::builder().sink(sink.clone()).build().unwrap();
    let limiter = Limiter::builder()
        .principal(Quota::per_minute(1).unwrap())
        .clock(clock)
        .build()
        .unwrap();
    let l = AuthLayer::builder(w.authenticator(), policy())
        .limiter(limiter)
        .auditor(auditor.clone())
        .build();
    let token = w.token("read:reports", None);
    send(&l, req("GET", "/api/reports").bearer(&token)).await;
    send(&l, req("GET", "/api/reports").bearer(&token)).await;
    auditor.flush();
    let kinds: Vec<_> = sink
        .events()
        .iter()
        .map(|e| (e.kind(), e.http_status()))
        .collect();
    assert_eq!(
        kinds,
        [
            (EventKind::AuthSucceeded, Some(200)),
            (EventKind::RateLimited, Some(429))
        ]
    );
}

/// A shared limit store that is down.
#[derive(Debug)]
struct DownStore;

impl token_ratelimit::backend::LimitStore for DownStore {
    async fn acquire(
        &self,
        _: &[token_ratelimit::backend::LimitCheck<'_>],
        _: Duration,
    ) -> Result<token_ratelimit::backend::BatchOutcome, token_ratelimit::backend::LimitStoreError>
    {
        Err(token_ratelimit::backend::LimitStoreError::new(
            token_ratelimit::backend::LimitStoreErrorKind::Unavailable,
            "connection refused",
        ))
    }
}

#[tokio::test]
async fn a_strict_limit_whose_store_is_down_fails_closed_with_503() {
    let w = World::new();
    let limiter = Limiter::builder()
        .principal(token_ratelimit::Limit::strict(
            Quota::per_minute(10).unwrap(),
        ))
        .clock(ManualClock::default())
        .store(DownStore)
        .build()
        .unwrap();
    let l = AuthLayer::builder(w.authenticator(), policy())
        .limiter(limiter)
        .build();
    let svc = l.layer(service_fn(echo));
    let token = w.token("read:reports", None);
    let a = answer(
        svc.oneshot(req("GET", "/api/reports").bearer(&token).build())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "limit_store_unavailable".into()
        )
    );
    assert_eq!(a.header("retry-after"), Some("1"));
}

#[tokio::test]
async fn the_route_class_limit_applies_and_is_named() {
    let w = World::new();
    let limiter = Limiter::builder()
        .route_class("reads", Quota::per_minute(1).unwrap())
        .clock(ManualClock::default())
        .build()
        .unwrap();
    let l = AuthLayer::builder(w.authenticator(), policy())
        .limiter(limiter)
        .build();
    let token = w.token("read:reports", None);
    assert_eq!(
        send(&l, req("GET", "/api/reports").bearer(&token))
            .await
            .status,
        StatusCode::OK
    );
    let second = send(&l, req("GET", "/api/reports").bearer(&token)).await;
    assert_eq!(second.code(), "rate_limited", "the route class limits too");
    assert_eq!(
        second.header("ratelimit-policy"),
        Some("\"reads\";q=1;w=60")
    );
}

#[tokio::test]
async fn refusals_for_plain_http_are_audited() {
    let w = World::new();
    let (l, auditor, sink) = audited(&w);
    let token = w.token("read:reports", None);
    let a = send(
        &l,
        req("GET", "/api/reports")
            .bearer(&token)
            .peer("198.51.100.7:1"),
    )
    .await;
    assert_eq!(a.code(), "insecure_transport");
    auditor.flush();
    let e = sink.events().pop().unwrap();
    assert_eq!(
        (e.kind(), e.reason_code()),
        (EventKind::AuthFailed, Some("insecure_transport"))
    );
    assert_eq!(e.client_ip(), Some("198.51.100.7".parse().unwrap()));
}

#[tokio::test]
async fn a_malformed_forwarded_header_never_makes_the_proxy_the_client() {
    use token_tower::ProxyHeaders;
    let w = World::new();
    let sink = MemorySink::new();
    let auditor = Auditor::builder().sink(sink.clone()).build().unwrap();
    // "Internal only": the allowlist covers the proxies' own network.
    let (key, _) = w
        .key(
            NewKey::new("internal", "read:reports".parse().unwrap())
                .networks(vec!["10.0.0.0/8".parse().unwrap()]),
        )
        .await;
    let build = |which| {
        AuthLayer::builder(w.authenticator(), policy())
            .trusted_proxies(vec!["10.0.0.0/8".parse().unwrap()])
            .proxy_headers(which)
            .auditor(auditor.clone())
            .build()
    };
    let (xff, fwd) = (
        build(ProxyHeaders::XForwarded),
        build(ProxyHeaders::Forwarded),
    );
    let call = || {
        req("GET", "/api/reports")
            .api_key(key.expose_secret())
            .peer("10.0.0.2:1")
            .tls()
    };
    // The client's bytes, with the address nginx heard from appended on the same line.
    let garbled = send(
        &xff,
        call().header_bytes("x-forwarded-for", b"\xff\xfe, 198.51.100.1"),
    )
    .await;
    assert_eq!(garbled.code(), "network_denied");
    // A Forwarded element without `=`, then the proxy's own element.
    let no_equals = send(
        &fwd,
        call().header("forwarded", "garbage, for=198.51.100.1"),
    )
    .await;
    assert_eq!(no_equals.code(), "network_denied");
    // The hop next to the proxies is unusable: the client is unknown, and refused.
    let unknown = send(
        &xff,
        call().header("x-forwarded-for", "198.51.100.1, unknown"),
    )
    .await;
    assert_eq!(unknown.code(), "network_denied");
    let hidden = send(&fwd, call().header("forwarded", "for=_hidden;proto=https")).await;
    assert_eq!(hidden.code(), "network_denied");
    // The same key through the proxy from inside the network still works.
    let inside = send(&xff, call().header("x-forwarded-for", "10.1.2.3")).await;
    assert_eq!(inside.status, StatusCode::OK);

    auditor.flush();
    let ips: Vec<_> = sink
        .events()
        .iter()
        .map(token_audit::AuditEvent::client_ip)
        .collect();
    let outside = Some("198.51.100.1".parse().unwrap());
    assert_eq!(
        ips,
        [
            outside,
            outside,
            None,
            None,
            Some("10.1.2.3".parse().unwrap())
        ],
        "the audit trail never records the proxy as the client"
    );
}

/// Polls `fut` once, whatever it answers.
async fn poll_once<F: std::future::Future + Unpin>(fut: &mut F) {
    std::future::poll_fn(|cx| {
        let _ = std::pin::Pin::new(&mut *fut).poll(cx);
        std::task::Poll::Ready(())
    })
    .await;
}

#[tokio::test]
async fn a_dropped_response_future_is_still_audited_as_client_closed() {
    use tower::Service;
    let w = World::new();
    let (l, auditor, sink) = audited(&w);
    let (key, record) = w
        .key(NewKey::new("k", "read:reports".parse().unwrap()))
        .await;
    // A handler that never answers; the client goes away (or an outer timeout fires).
    let mut svc = l.layer(service_fn(|_: http::Request<_>| {
        std::future::pending::<Result<http::Response<String>, std::convert::Infallible>>()
    }));
    let cold = req("GET", "/api/reports").api_key(key.expose_secret());
    let mut fut = Box::pin(svc.ready().await.unwrap().call(cold.build()));
    poll_once(&mut fut).await;
    drop(fut);
    // A refusal dropped before it was ever polled.
    let token = w.token("read:usage", None);
    let refused = req("GET", "/api/reports").bearer(&token);
    drop(svc.ready().await.unwrap().call(refused.build()));
    auditor.flush();
    let events = sink.events();
    let seen: Vec<_> = events.iter().map(|e| (e.kind(), e.http_status())).collect();
    assert_eq!(
        seen,
        [
            (EventKind::AuthSucceeded, Some(499)),
            (EventKind::ScopeDenied, Some(499)),
        ]
    );
    assert_eq!(events[0].key(), Some(record.id.as_str()));
}

#[tokio::test]
async fn a_panicking_handler_is_audited_as_a_server_error() {
    let w = World::new();
    let (l, auditor, sink) = audited(&w);
    let svc = l.layer(service_fn(|_: http::Request<_>| async {
        let fail = true;
        assert!(!fail, "the handler panicked");
        Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    }));
    let token = w.token("read:reports", None);
    let run = tokio::spawn(svc.oneshot(req("GET", "/api/reports").bearer(&token).build()));
    assert!(run.await.unwrap_err().is_panic());
    auditor.flush();
    let seen: Vec<_> = sink
        .events()
        .iter()
        .map(|e| (e.kind(), e.http_status()))
        .collect();
    assert_eq!(seen, [(EventKind::AuthSucceeded, Some(500))]);
}

fn anonymous_limits(clock: &ManualClock) -> Limiter {
    Limiter::builder()
        .principal(Quota::per_minute(1).unwrap())
        .global(Quota::per_minute(1_000).unwrap())
        .max_keys(20)
        .max_anonymous_keys(20)
        .clock(clock.clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn anonymous_ipv6_clients_are_limited_per_slash_64() {
    let w = World::new();
    let clock = ManualClock::default();
    let health = |peer: &str| req("GET", "/health").peer(peer);
    let l = AuthLayer::builder(w.authenticator(), policy())
        .limiter(anonymous_limits(&clock))
        .build();
    let first = send(&l, health("[2001:db8:1:2::1]:1")).await;
    assert_eq!(first.status, StatusCode::OK);
    // A fresh address in the same /64 is the same client.
    let same = send(&l, health("[2001:db8:1:2:ffff::9]:1")).await;
    assert_eq!(same.status, StatusCode::TOO_MANY_REQUESTS);
    let other = send(&l, health("[2001:db8:1:3::1]:1")).await;
    assert_eq!(
        other.status,
        StatusCode::OK,
        "another /64 is another client"
    );
    // IPv4 clients on a dual-stack socket are not one /64.
    assert_eq!(
        send(&l, health("[::ffff:192.0.2.1]:1")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(&l, health("[::ffff:192.0.2.2]:1")).await.status,
        StatusCode::OK
    );
    // The prefix is configurable.
    let exact = AuthLayer::builder(w.authenticator(), policy())
        .limiter(anonymous_limits(&clock))
        .anonymous_ipv6_prefix(128)
        .build();
    assert_eq!(
        send(&exact, health("[2001:db8:1:2::1]:1")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(&exact, health("[2001:db8:1:2::2]:1")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_flood_of_anonymous_clients_never_denies_a_principal() {
    let w = World::new();
    let clock = ManualClock::default();
    let l = AuthLayer::builder(w.authenticator(), policy())
        .limiter(anonymous_limits(&clock))
        .build();
    let mut refused = 0;
    for i in 0..200 {
        let peer = format!("[2001:db8:{i:x}::1]:1");
        let a = send(&l, req("GET", "/health").peer(&peer)).await;
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!(refused >= 180, "the anonymous table is full: {refused}");
    // New principals still pass (their table has room for them).
    for i in 0..10 {
        let user = format!("user-{i}");
        let spec = token_core::jwt::AccessTokenRequest::new(&user, common::AUD)
            .scope("read:reports".parse().unwrap());
        let token = w.minter.mint(&spec).unwrap();
        let a = send(&l, req("GET", "/api/reports").bearer(&token)).await;
        assert_eq!(a.status, StatusCode::OK, "principal {i}");
    }
}

/// A shared store that answers every batch "this can never pass" (a store whose quota
/// for the limit is smaller than the request's cost).
#[derive(Debug)]
struct NeverStore;

impl token_ratelimit::backend::LimitStore for NeverStore {
    fn acquire(
        &self,
        _checks: &[token_ratelimit::backend::LimitCheck<'_>],
        _now: Duration,
    ) -> impl std::future::Future<
        Output = Result<
            token_ratelimit::backend::BatchOutcome,
            token_ratelimit::backend::LimitStoreError,
        >,
    > + Send {
        std::future::ready(Ok(token_ratelimit::backend::BatchOutcome::Refused(
            token_ratelimit::backend::StoreRefusal::new(
                0,
                token_ratelimit::RefusalReason::CostExceedsBurst,
                None,
            ),
        )))
    }
}

#[tokio::test]
async fn a_request_that_can_never_pass_says_so_and_not_when() {
    let w = World::new();
    let limiter = Limiter::builder()
        .principal(token_ratelimit::Limit::strict(
            Quota::per_minute(2).unwrap(),
        ))
        .store(NeverStore)
        .clock(ManualClock::default())
        .build()
        .unwrap();
    let layer = AuthLayer::builder(w.authenticator(), policy())
        .limiter(limiter)
        .build();
    let token = w.token("read:reports", None);
    let svc = layer.layer(service_fn(echo));
    let request = req("GET", "/api/reports").bearer(&token).build();
    let a = answer(svc.oneshot(request).await.unwrap()).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.code(), "cost_exceeds_limit");
    assert!(a.header("retry-after").is_none(), "no retry time is honest");
}

#[tokio::test]
async fn each_refusal_is_filed_under_its_own_kind() {
    let w = World::new();
    let (l, auditor, sink) = audited(&w);
    let token = w.token("read:reports", None);
    // A path no rule knows, with a valid credential: a policy denial, not a scope one.
    let miss = send(&l, req("GET", "/api/nowhere").bearer(&token)).await;
    assert_eq!(miss.status, StatusCode::FORBIDDEN);
    // Too few scopes: the missing scope is recorded as a scope, not parsed from text.
    let few = w.token("read:usage", None);
    send(&l, req("GET", "/api/reports").bearer(&few)).await;
    // Plain HTTP from afar.
    send(
        &l,
        req("GET", "/api/reports")
            .bearer(&token)
            .peer("203.0.113.9:1"),
    )
    .await;
    auditor.flush();
    let events = sink.events();
    let seen: Vec<_> = events
        .iter()
        .map(|e| (e.kind(), e.reason_code().map(str::to_owned)))
        .collect();
    assert_eq!(
        seen,
        [
            (EventKind::PolicyDenied, Some("no_rule".to_owned())),
            (
                EventKind::ScopeDenied,
                Some("insufficient_scope".to_owned())
            ),
            (EventKind::AuthFailed, Some("insecure_transport".to_owned())),
        ]
    );
    assert_eq!(events[0].principal(), Some("user-1"));
    assert_eq!(events[1].missing_scopes(), ["read:reports"]);
}
