//! The README's snippet, compiled with the tests so it cannot rot:
//! `cargo run -p token-tower --example readme`, then
//! `curl -i localhost:3000/api/reports`.

use axum::{Router, routing::get};
use std::net::SocketAddr;
use token_core::{
    Authenticator,
    apikey::{ApiKeys, KeyFormat, MemoryKeyStore},
};
use token_scopes::{Policy, RuleSpec};
use token_tower::{AuthLayer, Authenticated};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys = ApiKeys::new(MemoryKeyStore::new(), KeyFormat::new("tk_live")?);
    let policy = Policy::builder()
        .rule(RuleSpec::new("GET", "/health").public())
        .rule(RuleSpec::new("GET", "/api/reports").require("read:reports"))
        .build()?; // anything else is refused
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/api/reports",
            get(|who: Authenticated| async move { format!("hi {}", who.id()) }),
        )
        .layer(AuthLayer::new(Authenticator::new().api_keys(keys), policy));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
