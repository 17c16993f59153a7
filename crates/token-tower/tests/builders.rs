//! Every setting of the route builders reaches the router, also when the builder was
//! cloned or already built a router before the setting was made (a setting applied
//! only when nothing else shared the builder was silently dropped).

#![cfg(feature = "axum")]

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use common::{AUD, Answer, NOW, World, answer};
use http::{Request, StatusCode};
use token_audit::sink::MemorySink;
use token_audit::{Auditor, EventKind};
use token_core::apikey::{KeyHasher, NewKey};
use token_core::backend::MemoryClientStore;
use token_core::backend::MemoryKeyStore;
use token_core::backend::MemoryRefreshStore;
use token_core::client::ClientCredentials;
use token_core::jwt::AccessTokenRequest;
use token_core::refresh::{RefreshGrant, RefreshTokens};
use token_core::{Clock, ManualClock};
use token_scopes::{Policy, RuleSpec, Scope};
use token_tower::routes::{KeyAdmin, OAuthRoutes};
use token_tower::{AuthLayer, PeerAddr};
use tower::ServiceExt;

fn scope(s: &str) -> Scope {
    Scope::new(s).unwrap()
}

fn audit() -> (MemorySink, Auditor) {
    let sink = MemorySink::new();
    let auditor = Auditor::builder().sink(sink.clone()).build().unwrap();
    (sink, auditor)
}

fn recorded(sink: &MemorySink, auditor: &Auditor, kind: EventKind) -> bool {
    auditor.flush();
    sink.events().iter().any(|e| e.kind() == kind)
}

/// `routes` behind `layer`.
fn behind_layer(routes: Router, layer: AuthLayer) -> Router {
    routes.layer(layer)
}

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut b = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let mut request = b.body(Body::from(body.to_owned())).unwrap();
    request
        .extensions_mut()
        .insert(PeerAddr("127.0.0.1:9".parse().unwrap()));
    answer(app.clone().oneshot(request).await.unwrap()).await
}

fn json(a: &Answer) -> serde_json::Value {
    serde_json::from_str(&a.body).unwrap_or_else(|_| panic!("not JSON: {}", a.body))
}

#[tokio::test]
async fn every_key_admin_setting_reaches_the_router() {
    let world = World::new();
    let (sink, auditor) = audit();
    // The admin routes' own clock, apart from the key service's, so that its use shows.
    let admin_clock = ManualClock::new(NOW + 1_000);

    let admin = KeyAdmin::new(world.keys.clone());
    // Share the builder's settings twice before changing them.
    let _earlier: Router = admin.router();
    let _copy = admin.clone();
    let admin = admin
        .default_grace_secs(77)
        .auditor(auditor.clone())
        .clock(Arc::new(admin_clock.clone()) as Arc<dyn Clock>);
    // The scopes are the layer's (admin) and the policy's (cross-tenant): set once.
    let policy = Policy::builder()
        .rule(RuleSpec::new("*", "/admin/keys").require("keys:manage"))
        .rule(RuleSpec::new("*", "/admin/keys/{*rest}").require("keys:manage"))
        .cross_tenant_scope("ops:all")
        .build()
        .unwrap();
    let layer = AuthLayer::builder(world.authenticator(), policy)
        .admin_scope(scope("keys:manage"))
        .build();
    let app = behind_layer(admin.router(), layer);

    // Holds the configured admin scope, not the default `admin:keys`, and the
    // configured cross-tenant scope, not the default `admin:tenants`.
    let (caller, _) = world
        .key(NewKey::new("operator", "keys:manage ops:all".parse().unwrap()).tenant("a"))
        .await;
    let auth = format!("Bearer {}", caller.expose_secret());
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];

    let created = call(
        &app,
        "POST",
        "/admin/keys",
        &headers,
        r#"{"name": "b's key", "scopes": "keys:manage", "tenant": "b"}"#,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(recorded(&sink, &auditor, EventKind::KeyCreated));

    let id = json(&created)["id"].as_str().unwrap().to_owned();
    let rotated = call(
        &app,
        "POST",
        &format!("/admin/keys/{id}/rotate"),
        &headers,
        "{}",
    )
    .await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{}", rotated.body);
    // The configured grace, counted on the configured clock.
    assert_eq!(json(&rotated)["grace_end"], NOW + 1_000 + 77);
    assert!(recorded(&sink, &auditor, EventKind::KeyRotated));
}

#[tokio::test]
async fn every_oauth_setting_reaches_the_router() {
    let world = World::new();
    let (sink, auditor) = audit();
    let clock: Arc<dyn Clock> = Arc::new(world.clock.clone());
    let clients = ClientCredentials::with_options(
        MemoryClientStore::new(),
        world.minter.clone(),
        KeyHasher::sha256(),
        900,
        Arc::clone(&clock),
    );
    let refresh = RefreshTokens::with_options(
        MemoryRefreshStore::new(),
        KeyHasher::sha256(),
        86_400,
        clock,
    );

    let oauth: OAuthRoutes<_, MemoryRefreshStore, MemoryKeyStore> = OAuthRoutes::new(
        clients.clone(),
        world.minter.clone(),
        AUD,
        world.authenticator(),
    );
    let _earlier: Router = oauth.router();
    let _copy = oauth.clone();
    let oauth = oauth
        .refresh_tokens(refresh.clone())
        .access_ttl_secs(120)
        .auditor(auditor.clone());
    let policy = Policy::builder()
        .rule(RuleSpec::new("POST", "/oauth/token").public())
        .rule(RuleSpec::new("POST", "/oauth/introspect").require("tokens:peek"))
        .cross_tenant_scope("ops:all")
        .build()
        .unwrap();
    let layer = AuthLayer::builder(world.authenticator(), policy)
        .introspection_scope(scope("tokens:peek"))
        .build();
    let app = behind_layer(oauth.router(), layer);

    // The refresh grant is accepted, and mints tokens of the configured lifetime.
    let (client, secret) = clients
        .register("web", "read:reports".parse().unwrap(), None)
        .await
        .unwrap();
    let (token, _) = refresh
        .issue(RefreshGrant::new(
            "user-7",
            &client.client_id,
            "read:reports".parse().unwrap(),
        ))
        .await
        .unwrap();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            client.client_id,
            secret.expose_secret()
        ))
    );
    let granted = call(
        &app,
        "POST",
        "/oauth/token",
        &[
            ("authorization", basic.as_str()),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            token.expose_secret()
        ),
    )
    .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
    assert_eq!(json(&granted)["expires_in"], 120);
    assert!(recorded(&sink, &auditor, EventKind::TokenIssued));

    // An introspecting caller of tenant `a` with the configured scopes sees a token
    // of tenant `b`.
    let (caller, _) = world
        .key(NewKey::new("introspector", "tokens:peek ops:all".parse().unwrap()).tenant("a"))
        .await;
    let other = world
        .minter
        .mint(
            &AccessTokenRequest::new("user-9", AUD)
                .scope("read:reports".parse().unwrap())
                .tenant("b"),
        )
        .unwrap();
    let auth = format!("Bearer {}", caller.expose_secret());
    let seen = call(
        &app,
        "POST",
        "/oauth/introspect",
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        &format!("token={other}"),
    )
    .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    assert_eq!(json(&seen)["active"], true, "{}", seen.body);
}
