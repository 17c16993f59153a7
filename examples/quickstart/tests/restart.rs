//! The restart scenario: what one run of the quickstart creates, the next run
//! still has (keys, revocations, the bootstrap admin key, the demo client), a
//! `--reset-bootstrap` replaces the bootstrap and revokes the old admin key, and
//! no secret the scenario saw is in the database files.

mod common;

use std::path::Path;

use base64::Engine as _;
use common::{call, mode, scratch};
use hyper::StatusCode;
use quickstart::Options;

fn bootstrap_var(opts: &Options, name: &str) -> String {
    let env = std::fs::read_to_string(opts.bootstrap_path()).unwrap();
    env.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
        .unwrap()
        .to_owned()
}

async fn reports(base: &str, key: &str) -> common::Reply {
    call(
        "GET",
        &format!("{base}/api/reports"),
        &[("x-api-key", key)],
        "",
    )
    .await
}

async fn client_token(base: &str, id: &str, secret: &str) -> common::Reply {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    call(
        "POST",
        &format!("{base}/oauth/token"),
        &[
            ("authorization", &format!("Basic {basic}")),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        "grant_type=client_credentials",
    )
    .await
}

/// Every file of the SQLite database (the main file and its WAL), as bytes.
fn database_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["tokenkit.db", "tokenkit.db-wal", "tokenkit.db-shm"] {
        if let Ok(bytes) = std::fs::read(dir.join(name)) {
            all.extend(bytes);
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one scenario: three runs in the order an operator makes them
async fn a_restart_keeps_keys_clients_and_revocations() {
    let dir = scratch("restart").join("data");
    // A data dir that exists already, readable by others: made owner-only.
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let opts = Options::in_dir(&dir);
    let mut secrets = Vec::new();

    // First run: the bootstrap is created; mint two keys, revoke one.
    let first = quickstart::start(&opts).await.unwrap();
    assert!(first.bootstrap_created);
    assert_eq!(mode(&dir), 0o700, "the data dir is owner-only");
    assert_eq!(mode(&dir.join("tokenkit.db")), 0o600, "so is the database");
    let base = format!("http://{}", first.addr);
    let admin = bootstrap_var(&opts, "ADMIN_API_KEY");
    let client_id = bootstrap_var(&opts, "DEMO_CLIENT_ID");
    let client_secret = bootstrap_var(&opts, "DEMO_CLIENT_SECRET");
    let mint = |name: &'static str| {
        let (base, admin) = (base.clone(), admin.clone());
        async move {
            let body = format!(r#"{{"name": "{name}", "scopes": ["read:reports"]}}"#);
            let created = call(
                "POST",
                &format!("{base}/admin/keys"),
                &[("x-api-key", &admin), ("content-type", "application/json")],
                &body,
            )
            .await;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
            let json = created.json();
            (
                json["secret"].as_str().unwrap().to_owned(),
                json["id"].as_str().unwrap().to_owned(),
            )
        }
    };
    let (kept, _) = mint("kept").await;
    let (revoked, revoked_id) = mint("revoked").await;
    let answer = call(
        "DELETE",
        &format!("{base}/admin/keys/{revoked_id}"),
        &[("x-api-key", &admin)],
        "",
    )
    .await;
    assert!(
        answer.status.is_success(),
        "{} {}",
        answer.status,
        answer.body
    );
    assert_eq!(reports(&base, &kept).await.status, StatusCode::OK);
    let token = client_token(&base, &client_id, &client_secret).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    let first_token = token.json()["access_token"].as_str().unwrap().to_owned();
    secrets.push(first_token.clone());
    let first_kid = first.kid.clone();
    assert_eq!(mode(&opts.seal_key_path()), 0o600);
    // The signing key's private part, sealed in the database, never in clear.
    let jwk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(opts.signing_key_path()).unwrap()).unwrap();
    secrets.push(jwk["d"].as_str().unwrap().to_owned());
    first.stop().await;
    // The key file is not needed any more: the database's keyring has the key.
    std::fs::remove_file(opts.signing_key_path()).unwrap();

    // Second run on the same data dir: everything is still there.
    let second = quickstart::start(&opts).await.unwrap();
    assert!(!second.bootstrap_created);
    assert!(second.banner(&opts).contains("exist; their secrets are in"));
    assert_eq!(second.client_id, client_id);
    assert_eq!(
        bootstrap_var(&opts, "ADMIN_API_KEY"),
        admin,
        "the bootstrap file is kept"
    );
    let base = format!("http://{}", second.addr);
    assert_eq!(reports(&base, &kept).await.status, StatusCode::OK);
    assert_eq!(reports(&base, &admin).await.status, StatusCode::OK);
    assert_eq!(second.kid, first_kid, "the keyring came from the database");
    let bearer = format!("Bearer {first_token}");
    let old_token = call(
        "GET",
        &format!("{base}/api/reports"),
        &[("authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(old_token.status, StatusCode::OK, "{}", old_token.body);
    let refused = reports(&base, &revoked).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.body.contains("key_revoked"), "{}", refused.body);
    let token = client_token(&base, &client_id, &client_secret).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    secrets.push(token.json()["access_token"].as_str().unwrap().to_owned());
    second.stop().await;

    // Third run with --reset-bootstrap: a new admin key; the old one is revoked.
    let mut reset = opts.clone();
    reset.reset_bootstrap = true;
    let third = quickstart::start(&reset).await.unwrap();
    assert!(third.bootstrap_created);
    let new_admin = bootstrap_var(&opts, "ADMIN_API_KEY");
    assert_ne!(new_admin, admin);
    let base = format!("http://{}", third.addr);
    assert_eq!(reports(&base, &new_admin).await.status, StatusCode::OK);
    let old = reports(&base, &admin).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED, "{}", old.body);
    assert!(old.body.contains("key_revoked"), "{}", old.body);
    assert_eq!(reports(&base, &kept).await.status, StatusCode::OK);
    third.stop().await;

    // Only hashes are stored: no secret of the scenario is in the database files.
    secrets.extend([admin, new_admin, kept, revoked, client_secret]);
    secrets.push(bootstrap_var(&opts, "DEMO_CLIENT_SECRET"));
    let stored = database_bytes(&dir);
    assert!(stored.len() > 4096, "the database was written");
    for secret in &secrets {
        let found = stored.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "a secret ({}...) is in the database", &secret[..8]);
    }
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[tokio::test]
async fn a_database_that_cannot_be_opened_is_a_clear_error() {
    let dir = scratch("no-database");
    let mut opts = Options::in_dir(&dir);
    opts.database = Some("postgres://app:hunter2@127.0.0.1:1/none".into());
    let e = quickstart::start(&opts).await.unwrap_err().to_string();
    assert!(e.starts_with("--database"), "{e}");
    assert!(e.contains("postgres://app:***@127.0.0.1:1/none"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
