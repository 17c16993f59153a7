//! The database going away while a service runs: lookups fail closed with
//! `StoreUnavailable` (the layer's 503) within the acquire timeout, nothing panics,
//! keys already cached keep working, and once the database is back the same
//! `Database` serves again, with no restart.
//!
//! The outage is a TCP proxy in front of the test server that this test stops and
//! starts again: the machine's server itself is never touched.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use token_core::apikey::{ApiKeyErrorKind, ApiKeys, CacheConfig, KeyFormat, NewKey};
use token_sql::{Database, Options};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// Forwards `127.0.0.1:port` to the server until [`Proxy::down`].
struct Proxy {
    port: u16,
    upstream: String,
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = Proxy {
            port,
            upstream: upstream.to_owned(),
            tasks: Arc::new(Mutex::new(Vec::new())),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let (upstream, tasks) = (self.upstream.clone(), self.tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(pipe.abort_handle());
            }
        });
        self.tasks.lock().unwrap().push(accept.abort_handle());
    }

    /// Closes the listener and every connection through it.
    fn down(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Listens again on the same port.
    async fn up(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_fails_closed_and_recovers_without_a_restart() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    // The proxy needs a TCP server; a socket path or a host list is not one.
    let parsed = <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(&url).unwrap();
    let (host, port) = (parsed.get_host().to_owned(), parsed.get_port());
    if host.starts_with('/') || host.contains(',') {
        eprintln!("skipped: the test server {host} is not reached over TCP");
        return;
    }
    let proxy = Proxy::start(&format!("{host}:{port}")).await;
    let proxied = format!(
        "postgres://{}@127.0.0.1:{}/{}",
        parsed.get_username(),
        proxy.port,
        parsed.get_database().unwrap_or("postgres")
    );
    let schema = common::unique("tk_outage");
    let _cleanup = common::Cleanup::Schema {
        url: url.clone(),
        schema: schema.clone(),
    };
    let options = Options::new()
        .postgres_schema(&schema)
        .acquire_timeout(Duration::from_secs(1));
    let db = Database::connect_with(&proxied, options).await.unwrap();
    db.migrate().await.unwrap();
    let keys = ApiKeys::builder(db.keys(), KeyFormat::new("tk_out").unwrap())
        .cache(CacheConfig::default().negative_ttl_secs(0))
        .build();
    let scope = || "read:reports".parse().unwrap();
    let (cached, _) = keys.mint(NewKey::new("cached", scope())).await.unwrap();
    let (cold, _) = keys.mint(NewKey::new("cold", scope())).await.unwrap();
    keys.verify(cached.expose_secret()).await.unwrap();

    proxy.down();
    // A key in the cache still works; one that needs the store is refused, closed.
    keys.verify(cached.expose_secret()).await.unwrap();
    let refused = keys.verify(cold.expose_secret()).await.unwrap_err();
    assert_eq!(
        refused.kind(),
        ApiKeyErrorKind::StoreUnavailable,
        "{refused}"
    );
    let minting = keys.mint(NewKey::new("during", scope())).await.unwrap_err();
    assert_eq!(
        minting.kind(),
        ApiKeyErrorKind::StoreUnavailable,
        "{minting}"
    );

    proxy.up().await;
    // The same Database, the same pool: it reconnects on its own.
    let mut recovered = false;
    for _ in 0..50 {
        if keys.verify(cold.expose_secret()).await.is_ok() {
            recovered = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(
        recovered,
        "the store serves again once the database is back"
    );
    keys.mint(NewKey::new("after", scope())).await.unwrap();
    proxy.down();
}
