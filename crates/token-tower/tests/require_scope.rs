//! Scopes declared beside each route with `RequireScopeLayer`, and the extractors.
#![cfg(feature = "axum")]

mod common;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use common::{World, answer};
use http::{Request, StatusCode};
use token_scopes::{Policy, RuleSpec};
use token_tower::{AuthLayer, Authenticated, PeerAddr, RequireScopeLayer};
use tower::ServiceExt;

fn app(w: &World) -> Router {
    // The policy only says "authenticated"; each route names its scopes.
    let policy = Policy::builder()
        .rule(RuleSpec::new("GET", "/reports").authenticated())
        .rule(RuleSpec::new("GET", "/whoami").public())
        .build()
        .unwrap();
    Router::new()
        .route(
            "/reports",
            get(|who: Authenticated| async move { who.id().to_owned() })
                .layer(RequireScopeLayer::new("read:reports or admin:keys").unwrap()),
        )
        .route(
            "/whoami",
            get(|who: Option<Authenticated>| async move {
                who.map_or("anonymous".to_owned(), |w| w.id().to_owned())
            }),
        )
        .layer(AuthLayer::new(w.authenticator(), policy))
}

async fn get_with(app: &Router, path: &str, token: Option<&str>) -> common::Answer {
    let mut b = Request::get(path);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let mut r = b.body(Body::empty()).unwrap();
    r.extensions_mut()
        .insert(PeerAddr("127.0.0.1:1".parse().unwrap()));
    answer(app.clone().oneshot(r).await.unwrap()).await
}

#[tokio::test]
async fn per_route_requirements_refuse_with_the_missing_scope() {
    let w = World::new();
    let app = app(&w);
    let reader = w.token("read:reports", None);
    let ok = get_with(&app, "/reports", Some(&reader)).await;
    assert_eq!((ok.status, ok.body.as_str()), (StatusCode::OK, "user-1"));
    let other = w.token("read:usage", None);
    let refused = get_with(&app, "/reports", Some(&other)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.code(), "insufficient_scope");
    assert!(
        refused
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"insufficient_scope\""),
    );
    let admin = w.token("admin:keys", None);
    assert_eq!(
        get_with(&app, "/reports", Some(&admin)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_optional_extractor_sees_callers_on_public_routes() {
    let w = World::new();
    let app = app(&w);
    assert_eq!(get_with(&app, "/whoami", None).await.body, "anonymous");
    let t = w.token("read:usage", None);
    assert_eq!(get_with(&app, "/whoami", Some(&t)).await.body, "user-1");
    // Without the outer layer there is no principal: the route layer answers 401.
    let bare = Router::new().route(
        "/reports",
        get(|| async { "never" }).layer(RequireScopeLayer::new("read:reports").unwrap()),
    );
    let a = answer(
        bare.oneshot(Request::get("/reports").body(Body::empty()).unwrap())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNAUTHORIZED, "unauthenticated".into())
    );
}
