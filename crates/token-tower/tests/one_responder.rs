//! One responder: the layer's realm, problem-type base and render hook reach every
//! refusal the crate makes (the layer's, `RequireScopeLayer`'s, the `Authenticated`
//! extractor's, `KeyAdmin`'s and `OAuthRoutes`'), and the refusal of a request
//! without a peer address says how to fix it.
#![cfg(feature = "axum")]

mod common;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use common::{AUD, World, answer};
use http::{Request, StatusCode};
use token_core::backend::MemoryClientStore;
use token_core::backend::MemoryRefreshStore;
use token_core::client::ClientCredentials;
use token_scopes::{Policy, RuleSpec};
use token_tower::routes::{KeyAdmin, OAuthRoutes};
use token_tower::{AuthLayer, Authenticated, PeerAddr, RenderedBody, RequireScopeLayer};
use tower::ServiceExt;

const BASE: &str = "https://docs.example.com/errors#";

fn app(w: &World, render: bool) -> Router {
    let policy = Policy::builder()
        .rule(RuleSpec::new("GET", "/scoped").authenticated())
        .rule(RuleSpec::new("GET", "/who").public())
        .rule(RuleSpec::new("*", "/admin/keys").public())
        .rule(RuleSpec::new("*", "/admin/keys/{*rest}").authenticated())
        .rule(RuleSpec::new("POST", "/oauth/introspect").authenticated())
        .build()
        .unwrap();
    let clients = ClientCredentials::new(MemoryClientStore::new(), w.minter.clone());
    let oauth: OAuthRoutes<_, MemoryRefreshStore, _> =
        OAuthRoutes::new(clients, w.minter.clone(), AUD, w.authenticator());
    let mut layer = AuthLayer::builder(w.authenticator(), policy)
        .realm("reports")
        .problem_type_base(BASE);
    if render {
        layer = layer.render(|r| RenderedBody {
            content_type: http::HeaderValue::from_static("text/plain"),
            body: format!("custom {} {}", r.status().as_u16(), r.code()).into(),
        });
    }
    Router::new()
        .route(
            "/scoped",
            get(|| async { "ok" }).layer(RequireScopeLayer::new("read:reports").unwrap()),
        )
        .route(
            "/who",
            get(|who: Authenticated| async move { who.id().to_owned() }),
        )
        .merge(KeyAdmin::new(w.keys.clone()).router())
        .merge(oauth.router())
        .layer(layer.build())
}

async fn send(app: &Router, method: &str, path: &str, token: Option<&str>) -> common::Answer {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let mut r = b.body(Body::empty()).unwrap();
    r.extensions_mut()
        .insert(PeerAddr("127.0.0.1:1".parse().unwrap()));
    answer(app.clone().oneshot(r).await.unwrap()).await
}

#[tokio::test]
async fn the_layers_realm_and_problem_type_reach_every_refusal() {
    let w = World::new();
    let app = app(&w, false);
    let reader = w.token("read:usage", None);
    let cases = [
        // RequireScopeLayer: too few scopes.
        (
            "GET",
            "/scoped",
            Some(reader.as_str()),
            StatusCode::FORBIDDEN,
            "insufficient_scope",
        ),
        // The extractor on a public route, without a credential.
        (
            "GET",
            "/who",
            None,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
        // KeyAdmin: no admin scope.
        (
            "GET",
            "/admin/keys",
            None,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
        (
            "GET",
            "/admin/keys/key_x",
            Some(reader.as_str()),
            StatusCode::FORBIDDEN,
            "insufficient_scope",
        ),
        // OAuthRoutes: no introspection scope.
        (
            "POST",
            "/oauth/introspect",
            Some(reader.as_str()),
            StatusCode::FORBIDDEN,
            "insufficient_scope",
        ),
    ];
    for (method, path, token, status, code) in cases {
        let a = send(&app, method, path, token).await;
        assert_eq!(
            (a.status, a.code()),
            (status, code.to_owned()),
            "{method} {path}: {}",
            a.body
        );
        assert_eq!(
            a.problem()["type"],
            format!("{BASE}{code}"),
            "{method} {path} uses the layer's problem-type base"
        );
        let challenge = a.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer realm=\"reports\""),
            "{method} {path} uses the layer's realm: {challenge}"
        );
    }
    // A route error (not a refusal) uses the layer's problem-type base too.
    let admin = w.token("admin:keys", None);
    let missing = send(&app, "GET", "/admin/keys/key_nope", Some(&admin)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
    assert!(
        missing.problem()["type"]
            .as_str()
            .unwrap()
            .starts_with(BASE),
        "{}",
        missing.body
    );
}

#[tokio::test]
async fn the_layers_render_hook_reaches_every_refusal() {
    let w = World::new();
    let app = app(&w, true);
    let reader = w.token("read:usage", None);
    for (method, path, token, expected) in [
        (
            "GET",
            "/scoped",
            Some(reader.as_str()),
            "custom 403 insufficient_scope",
        ),
        ("GET", "/who", None, "custom 401 unauthenticated"),
        ("GET", "/admin/keys", None, "custom 401 unauthenticated"),
        (
            "POST",
            "/oauth/introspect",
            Some(reader.as_str()),
            "custom 403 insufficient_scope",
        ),
    ] {
        let a = send(&app, method, path, token).await;
        assert_eq!(a.body, expected, "{method} {path}");
        assert_eq!(
            a.header("content-type"),
            Some("text/plain"),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn a_request_without_a_peer_address_is_told_how_to_fix_it() {
    let w = World::new();
    let token = w.token("read:reports", None);
    let policy = || {
        Policy::builder()
            .rule(RuleSpec::new("GET", "/r").require("read:reports"))
            .build()
            .unwrap()
    };
    let request = || {
        Request::get("/r")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let bare = Router::new()
        .route("/r", get(|| async { "ok" }))
        .layer(AuthLayer::new(w.authenticator(), policy()));
    let refused = answer(bare.oneshot(request()).await.unwrap()).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.code(), "insecure_transport");
    let detail = refused.problem()["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("into_make_service_with_connect_info"),
        "{detail}"
    );
    assert!(detail.contains("default_peer"), "{detail}");

    // The layer option for a listener only loopback clients reach.
    let local = Router::new().route("/r", get(|| async { "ok" })).layer(
        AuthLayer::builder(w.authenticator(), policy())
            .default_peer("127.0.0.1".parse().unwrap())
            .build(),
    );
    let ok = answer(local.oneshot(request()).await.unwrap()).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}
