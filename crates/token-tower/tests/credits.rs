//! Usage credits through the layer: a metered key's use is taken last, only once the
//! network check, the policy and the rate limit all admitted the request.

mod common;

use common::{Answer, World, answer, echo, policy, req};
use http::StatusCode;
use token_audit::sink::MemorySink;
use token_audit::{Auditor, EventKind};
use token_core::ManualClock;
use token_core::apikey::{ApiKeySecret, Credits, KeyRecord, NewKey};
use token_ratelimit::{Limiter, Quota};
use token_tower::AuthLayer;
use tower::{Layer, ServiceExt, service_fn};

async fn send(layer: &AuthLayer, request: common::Req) -> Answer {
    let svc = layer.layer(service_fn(echo));
    answer(svc.oneshot(request.build()).await.unwrap()).await
}

/// A key with `read:reports`, usable from 10.0.0.0/8 only when `internal`, with 10
/// credits.
async fn metered(w: &World, internal: bool) -> (ApiKeySecret, KeyRecord) {
    let mut spec = NewKey::new("m", "read:reports".parse().unwrap()).credits(Credits::fixed(10));
    if internal {
        spec = spec.networks(vec!["10.0.0.0/8".parse().unwrap()]);
    }
    w.key(spec).await
}

async fn remaining(w: &World, id: &str) -> u64 {
    w.keys.get(id).await.unwrap().credits.unwrap().remaining
}

#[tokio::test]
async fn a_metered_key_from_outside_its_networks_is_403_and_costs_nothing() {
    let w = World::new();
    let l = AuthLayer::new(w.authenticator(), policy());
    let (key, record) = metered(&w, true).await;
    for _ in 0..3 {
        let a = send(
            &l,
            req("GET", "/api/reports")
                .peer("203.0.113.9:4000")
                .tls()
                .api_key(key.expose_secret()),
        )
        .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, "network_denied".into())
        );
    }
    assert_eq!(remaining(&w, &record.id).await, 10, "no credit taken");
    let inside = send(
        &l,
        req("GET", "/api/reports")
            .peer("10.1.2.3:4000")
            .tls()
            .api_key(key.expose_secret()),
    )
    .await;
    assert_eq!(inside.status, StatusCode::OK);
    assert_eq!(
        remaining(&w, &record.id).await,
        9,
        "an admitted use takes one"
    );
}

#[tokio::test]
async fn a_metered_key_refused_by_the_policy_costs_nothing() {
    let w = World::new();
    let l = AuthLayer::new(w.authenticator(), policy());
    let (key, record) = metered(&w, false).await;
    let a = send(&l, req("POST", "/api/reports").api_key(key.expose_secret())).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let none = send(&l, req("GET", "/api/secret").api_key(key.expose_secret())).await;
    assert_eq!(none.code(), "no_rule");
    assert_eq!(remaining(&w, &record.id).await, 10);
}

#[tokio::test]
async fn a_metered_key_on_a_public_route_costs_nothing() {
    let w = World::new();
    let l = AuthLayer::new(w.authenticator(), policy());
    let (key, record) = metered(&w, false).await;
    // Cold (the lookup fills the cache), then warm.
    for _ in 0..3 {
        let a = send(&l, req("GET", "/health").api_key(key.expose_secret())).await;
        assert_eq!(a.status, StatusCode::OK);
    }
    assert_eq!(remaining(&w, &record.id).await, 10);
}

#[tokio::test]
async fn a_rate_limited_request_costs_nothing_and_each_admitted_one_exactly_one() {
    let w = World::new();
    let clock = ManualClock::default();
    let limiter = Limiter::builder()
        .principal(Quota::per_minute(2).unwrap())
        .clock(clock.clone())
        .build()
        .unwrap();
    let l = AuthLayer::builder(w.authenticator(), policy())
        .limiter(limiter)
        .build();
    let (key, record) = metered(&w, false).await;
    let statuses: Vec<StatusCode> = {
        let mut out = Vec::new();
        for _ in 0..5 {
            out.push(
                send(&l, req("GET", "/api/reports").api_key(key.expose_secret()))
                    .await
                    .status,
            );
        }
        out
    };
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS,
        ]
    );
    assert_eq!(
        remaining(&w, &record.id).await,
        8,
        "two admitted, two credits; the three rate-limited took none"
    );
}

#[tokio::test]
async fn every_admitted_use_takes_one_warm_or_cold_and_exhaustion_is_audited() {
    let w = World::new();
    let sink = MemorySink::new();
    let auditor = Auditor::builder().sink(sink.clone()).build().unwrap();
    let l = AuthLayer::builder(w.authenticator(), policy())
        .auditor(auditor.clone())
        .build();
    let (key, record) = w
        .key(NewKey::new("m", "read:reports".parse().unwrap()).credits(Credits::fixed(3)))
        .await;
    for left in [2, 1, 0] {
        let a = send(&l, req("GET", "/api/reports").api_key(key.expose_secret())).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(remaining(&w, &record.id).await, left);
    }
    let out = send(&l, req("GET", "/api/reports").api_key(key.expose_secret())).await;
    assert_eq!(
        (out.status, out.code()),
        (StatusCode::TOO_MANY_REQUESTS, "usage_exceeded".into())
    );
    auditor.flush();
    let events = sink.events();
    let last = events.last().unwrap();
    assert_eq!(last.kind(), EventKind::UsageExceeded);
    assert_eq!(last.key(), Some(record.id.as_str()), "names the key");
    assert_eq!(last.http_status(), Some(429));
}
