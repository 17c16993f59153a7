//! The tokenkit quickstart: a small service with `AuthLayer` in front, everything
//! embedded: its state lives in a data dir (`.tokenkit` by default), keys, clients
//! and refresh tokens in SQLite there (or in PostgreSQL with `--database`), so a
//! restart keeps them.
//!
//! ```text
//! cargo run -p quickstart
//! ```
//!
//! Routes: `GET /health` (public), `GET /api/reports` (`read:reports`),
//! `POST /api/reports` (`write:reports`), `GET /api/tenants/{tenant}/usage`
//! (`read:usage`, tenant-bound), `GET /.well-known/jwks.json`, `/oauth/token`,
//! `/oauth/introspect`, `/oauth/revoke`, key administration under `/admin/keys`
//! (`admin:keys`), and `GET /openapi.json` (public): the OpenAPI 3.1 document of the
//! tokenkit routes (JWKS, OAuth, key administration; not the demo's own routes). The first start
//! creates a bootstrap admin API key and a demo client, writes their secrets to a 0600
//! file in the data dir and prints that file's path with curl commands to try; later
//! starts keep them (`--reset-bootstrap` replaces them).

mod app;
mod bootstrap;
mod files;
mod options;
mod signing;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use token_audit::anchor::FileAnchor;
use token_audit::sink::{FsyncPolicy, JsonlConfig, JsonlSink, TracingSink};
use token_audit::{Auditor, RollupConfig};
use token_core::Authenticator;
use token_core::apikey::{ApiKeys, KeyFormat};
use token_core::backend::MemoryRevocationStore;
use token_core::client::ClientCredentials;
use token_core::jwt::{Minter, Validation, Verifier};
use token_core::refresh::RefreshTokens;
use token_ratelimit::{Limiter, Quota};
use token_sql::Database;
use token_tower::AuthLayer;
use token_tower::routes::{KeyAdmin, OAuthRoutes, jwks_router, openapi};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use app::{Reports, policy};
pub use options::Options;
pub use signing::SEAL_KEY_ENV;

/// The scopes of the bootstrap admin key: administration, plus every scope the demo
/// routes use, so the keys it mints can hold them (a key never exceeds its creator).
pub const ADMIN_SCOPES: &str =
    "admin:keys admin:tenants tokens:introspect read:reports write:reports read:usage";

/// The scopes the demo client may ask for.
pub const CLIENT_SCOPES: &str = "read:reports write:reports read:usage";

/// A running quickstart.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The 0600 file with the bootstrap secrets.
    pub bootstrap_file: PathBuf,
    /// The demo client's id (its secret is in the bootstrap file).
    pub client_id: String,
    /// Whether the bootstrap admin key and demo client were created at this start
    /// (else they existed, and their secrets are in the bootstrap file already).
    pub bootstrap_created: bool,
    /// The database URL, password removed.
    pub database: String,
    /// Whether the signing key was generated at this start.
    pub generated_signing_key: bool,
    /// The active signing key's `kid`.
    pub kid: String,
    /// Whether the `--signing-key` file holds the active key (else the database's
    /// keyring was rotated, or filled by another process).
    pub key_file_is_active: bool,
    auditor: Auditor,
    db: Database,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
}

/// Why the quickstart could not start.
#[derive(Debug)]
pub struct StartError(String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

fn fail(context: &str) -> impl FnOnce(&dyn std::fmt::Display) -> StartError + '_ {
    move |e| StartError(format!("{context}: {e}"))
}

/// Builds everything, writes the bootstrap file, and starts serving.
pub async fn start(options: &Options) -> Result<Running, StartError> {
    let limit: Quota = options.limit.parse().map_err(|e| fail("--limit")(&e))?;
    let oauth_limit: Quota = options
        .oauth_limit
        .parse()
        .map_err(|e| fail("--oauth-limit")(&e))?;
    files::data_dir(&options.data_dir).map_err(|e| fail("--data-dir")(&e))?;
    let db = open_database(options).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let signing = signing::keyring(options, &db, now).await?;
    let (keyring, kid, generated) = (signing.keyring, signing.kid, signing.generated);
    let key_file_is_active = signing.file_is_active;
    let minter = Minter::new(keyring.clone(), &options.issuer);
    let verifier = Verifier::new(
        keyring.clone(),
        Validation::access_tokens(&options.issuer, &options.audience),
    )
    .with_revocation(Arc::new(MemoryRevocationStore::new()))
    .with_cache(10_000);
    let keys = ApiKeys::new(
        db.keys(),
        KeyFormat::new("tk_live").map_err(|e| fail("key format")(&e))?,
    );
    let clients = ClientCredentials::new(db.clients(), minter.clone());
    let refresh = RefreshTokens::new(db.refresh_tokens());

    let auditor = auditor(options)?;
    let limiter = Limiter::builder()
        .principal(limit)
        .route_class("oauth", oauth_limit)
        .build()
        .map_err(|e| fail("limiter")(&e))?;

    let authenticator = Authenticator::new().api_keys(keys.clone()).jwt(verifier);
    let oauth = OAuthRoutes::new(
        clients.clone(),
        minter,
        &options.audience,
        authenticator.clone(),
    )
    .refresh_tokens(refresh)
    .auditor(auditor.clone());
    let admin = KeyAdmin::new(keys.clone()).auditor(auditor.clone());
    let layer = AuthLayer::builder(authenticator, policy())
        .realm("quickstart")
        .limiter(limiter)
        .auditor(auditor.clone())
        .build();
    let published = keyring.clone();
    let router = app::api(Reports::default(), auditor.clone())
        .merge(jwks_router(move || published.public_jwks()))
        .merge(oauth.router())
        .merge(admin.router())
        .merge(openapi::router("/openapi.json", openapi::document()))
        .layer(layer);

    let bootstrap = bootstrap::ensure(
        &options.bootstrap_path(),
        options.reset_bootstrap,
        &keys,
        &clients,
        &auditor,
    )
    .await?;

    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| fail("--listen")(&e))?;
    let addr = listener.local_addr().map_err(|e| fail("--listen")(&e))?;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
        })
        .await
    });
    Ok(Running {
        addr,
        bootstrap_file: options.bootstrap_path(),
        client_id: bootstrap.client_id,
        bootstrap_created: bootstrap.created,
        database: db.url().to_owned(),
        generated_signing_key: generated,
        kid,
        key_file_is_active,
        auditor,
        db,
        stop,
        server,
    })
}

/// The audit trail: the hash-chained file (with its checkpoint key and anchor),
/// `tracing`, and the usage roll-ups.
fn auditor(options: &Options) -> Result<Auditor, StartError> {
    let (audit_key, _) =
        files::audit_key(&options.audit_key_path()).map_err(|e| fail("--audit-key")(&e))?;
    let anchor =
        FileAnchor::open(options.audit_anchor_path()).map_err(|e| fail("--audit-anchor")(&e))?;
    let audit_file = JsonlSink::open(
        options.audit_log_path(),
        JsonlConfig::new()
            .fsync(FsyncPolicy::EveryBatch)
            .rotate_bytes(Some(64 << 20))
            .checkpoint_key(audit_key)
            .anchor(Arc::new(anchor)),
    )
    .map_err(|e| fail("--audit-log")(&e))?;
    Auditor::builder()
        .sink(audit_file)
        .sink(TracingSink::new())
        .rollups(RollupConfig::default())
        .on_anomaly(|a| eprintln!("anomaly: {}", token_audit::AuditEvent::anomaly(a).kind()))
        .build()
        .map_err(|e| fail("audit")(&e))
}

/// Opens the database and brings its schema up to date: always for the default
/// SQLite file in the data dir, for a `--database` only with `--migrate` (else its
/// schema must be current already).
async fn open_database(options: &Options) -> Result<Database, StartError> {
    let db = Database::connect(&options.database_url())
        .await
        .map_err(|e| fail("--database")(&e))?;
    if options.database.is_none() || options.migrate {
        db.migrate().await.map_err(|e| fail("--database")(&e))?;
    }
    if options.database.is_none() {
        files::private_database(&options.data_dir.join("tokenkit.db"))
            .map_err(|e| fail("--data-dir")(&e))?;
    } else if !options.migrate {
        db.ensure_schema()
            .await
            .map_err(|e| StartError(format!("--database: {e} (or start with --migrate)")))?;
    }
    Ok(db)
}

impl Running {
    /// Stops serving, then flushes the audit trail.
    pub async fn stop(self) -> token_audit::AuditStats {
        let _ = self.stop.send(());
        let _ = self.server.await;
        self.db.close().await;
        self.auditor.shutdown()
    }

    /// The auditor (for the usage roll-ups, and flushing in tests).
    pub fn auditor(&self) -> &Auditor {
        &self.auditor
    }

    /// What to print at start: paths, the client id, and commands to try. No secret.
    /// The audit line reads `  check it with: tokenctl audit verify ...`.
    pub fn banner(&self, options: &Options) -> String {
        let base = format!("http://{}", self.addr);
        let env = self.bootstrap_file.display();
        let key_path = options.signing_key_path();
        let key = key_path.display();
        let mut out = String::new();
        let _ = writeln!(out, "tokenkit quickstart listening on {base}");
        let _ = writeln!(out, "  data dir: {}", options.data_dir.display());
        let _ = writeln!(out, "  database: {}", self.database);
        if self.bootstrap_created {
            let _ = writeln!(out, "  bootstrap secrets (mode 0600): {env}");
        } else {
            let _ = writeln!(
                out,
                "  bootstrap admin key and demo client exist; their secrets are in {env} (--reset-bootstrap replaces them)"
            );
        }
        let _ = writeln!(
            out,
            "  demo client id: {} (its secret is in the same file)",
            self.client_id
        );
        let _ = writeln!(
            out,
            "  signing key: kid {}{}, in the database's keyring, sealed with {}{}",
            self.kid,
            if self.generated_signing_key {
                " (generated now)"
            } else {
                ""
            },
            options.seal_key_path().display(),
            if self.key_file_is_active {
                format!("; also in {key}")
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            out,
            "  audit log: {} (checkpoint key {}, anchor {}: keep the anchor apart from the log)",
            options.audit_log_path().display(),
            options.audit_key_path().display(),
            options.audit_anchor_path().display()
        );
        let _ = writeln!(out, "  check it with: {}", verify_command(options));
        let _ = writeln!(out, "  OpenAPI document: {base}/openapi.json");
        let _ = writeln!(out, "\nTry it:");
        let _ = writeln!(out, "  . {env}");
        let _ = writeln!(
            out,
            "  curl -s -X POST {base}/admin/keys -H \"X-API-Key: $ADMIN_API_KEY\" \\\n    -H 'content-type: application/json' -d '{{\"name\": \"demo\", \"scopes\": [\"read:reports\"]}}'"
        );
        let _ = writeln!(
            out,
            "  curl -s {base}/api/reports -H \"X-API-Key: <the secret from the answer above>\""
        );
        let _ = writeln!(
            out,
            "  curl -s -u \"$DEMO_CLIENT_ID:$DEMO_CLIENT_SECRET\" -d grant_type=client_credentials {base}/oauth/token"
        );
        if self.key_file_is_active {
            let _ = writeln!(
                out,
                "  curl -s {base}/api/reports -H \"Authorization: Bearer $(tokenctl jwt mint --key {key} --iss {} --aud {} --sub you --scope read:reports)\"",
                options.issuer, options.audience
            );
        }
        out
    }
}

/// The command that checks the audit trail: every file of the chain (the live log
/// and its rotated files, by a shell pattern), checkpoints under the key, and the
/// anchor. `--allow-unsealed` because the live file's last lines wait for the next
/// checkpoint; after a stop the log ends in its final checkpoint (`--closed` then
/// requires it).
pub fn verify_command(options: &Options) -> String {
    let log = &options.audit_log_path();
    let stem = log
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let pattern = match log.extension() {
        Some(ext) => format!("{stem}*.{}", ext.to_string_lossy()),
        None => format!("{stem}*"),
    };
    let files = log.with_file_name(pattern);
    format!(
        "tokenctl audit verify --key {} --anchor {} --allow-unsealed {}",
        options.audit_key_path().display(),
        options.audit_anchor_path().display(),
        files.display()
    )
}
