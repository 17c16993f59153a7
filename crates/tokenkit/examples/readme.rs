//! The README's snippet (the README's copy is compiled as a doctest of this crate):
//! `cargo run -p tokenkit --example readme`, then `curl -i localhost:3000/api/reports`.

use axum::{Router, routing::get};
use std::net::SocketAddr;
use tokenkit::{ApiKeys, AuthLayer, Authenticated, NewKey, Policy, RuleSpec};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys = ApiKeys::in_memory("tk_live")?;
    let (secret, _) = keys
        .mint(NewKey::new("demo", "read:reports".parse()?))
        .await?;
    println!(
        "curl -H 'x-api-key: {}' localhost:3000/api/reports",
        secret.expose_secret()
    );
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
        .layer(AuthLayer::new(keys, policy));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    // The layer needs the client's address (credentials travel over plain HTTP
    // only from loopback): without `ConnectInfo` every credential is refused with
    // 400 `insecure_transport`, saying so.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
