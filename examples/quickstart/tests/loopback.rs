//! The quickstart over real loopback connections: the printed flow works, secrets stay
//! in the 0600 file, and the audit log is an intact chain without secrets.

use std::path::PathBuf;

use base64::Engine as _;
use hyper::StatusCode;
use quickstart::Options;
use token_core::jose::{Jwk, SigningKey};
use token_core::jwt::{AccessTokenRequest, Keyring, Minter};

mod common;

use common::{call, mode, scratch};

fn options(dir: &std::path::Path) -> Options {
    Options::in_dir(dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one scenario, in the order a user follows it
async fn the_printed_flow_works_end_to_end() {
    let dir = scratch("flow");
    let opts = options(&dir);
    let running = quickstart::start(&opts).await.unwrap();
    let base = format!("http://{}", running.addr);
    assert!(running.generated_signing_key);
    let banner = running.banner(&opts);

    // Secrets live in a 0600 file, never in the banner.
    assert_eq!(mode(&opts.bootstrap_path()), 0o600);
    assert_eq!(mode(&opts.signing_key_path()), 0o600);
    let env = std::fs::read_to_string(opts.bootstrap_path()).unwrap();
    let var = |name: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    let admin = var("ADMIN_API_KEY");
    let client_id = var("DEMO_CLIENT_ID");
    let client_secret = var("DEMO_CLIENT_SECRET");
    assert_eq!(client_id, running.client_id);
    assert!(!banner.contains(&admin) && !banner.contains(&client_secret));
    assert!(
        banner.contains(&client_id)
            && banner.contains(&opts.bootstrap_path().display().to_string())
    );

    assert_eq!(
        call("GET", &format!("{base}/health"), &[], "").await.status,
        StatusCode::OK
    );
    let anonymous = call("GET", &format!("{base}/api/reports"), &[], "").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.headers["www-authenticate"],
        "Bearer realm=\"quickstart\""
    );

    // Mint a key with the admin key, then call the API with it.
    let created = call(
        "POST",
        &format!("{base}/admin/keys"),
        &[("x-api-key", &admin), ("content-type", "application/json")],
        r#"{"name": "demo", "scopes": ["read:reports"]}"#,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let key = created.json()["secret"].as_str().unwrap().to_owned();
    let reports = call(
        "GET",
        &format!("{base}/api/reports"),
        &[("x-api-key", &key)],
        "",
    )
    .await;
    assert_eq!(reports.status, StatusCode::OK);
    assert_eq!(
        reports.headers["ratelimit-policy"],
        "\"principal\";q=60;w=60"
    );
    let write = call(
        "POST",
        &format!("{base}/api/reports"),
        &[("x-api-key", &key), ("content-type", "application/json")],
        r#"{"title": "q3"}"#,
    )
    .await;
    assert_eq!(write.status, StatusCode::FORBIDDEN);

    // The demo client: client credentials, then a tenant-bound route.
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{client_secret}"));
    let issued = call(
        "POST",
        &format!("{base}/oauth/token"),
        &[
            ("authorization", &format!("Basic {basic}")),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    let token = issued.json()["access_token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let own = call(
        "GET",
        &format!("{base}/api/tenants/acme/usage"),
        &[("authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    let other = call(
        "GET",
        &format!("{base}/api/tenants/globex/usage"),
        &[("authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);

    // A token minted from the signing key file (what `tokenctl jwt mint` does).
    let jwk = Jwk::from_json(&std::fs::read(opts.signing_key_path()).unwrap()).unwrap();
    let minter = Minter::new(
        Keyring::new(SigningKey::from_jwk(&jwk, None).unwrap()),
        &opts.issuer,
    );
    let jwt = minter
        .mint(
            &AccessTokenRequest::new("you", &opts.audience).scope("read:reports".parse().unwrap()),
        )
        .unwrap();
    let by_jwt = call(
        "GET",
        &format!("{base}/api/reports"),
        &[("authorization", &format!("Bearer {jwt}"))],
        "",
    )
    .await;
    assert_eq!(by_jwt.status, StatusCode::OK, "{}", by_jwt.body);
    let jwks = call("GET", &format!("{base}/.well-known/jwks.json"), &[], "").await;
    assert_eq!(jwks.json()["keys"][0]["kid"], running.kid.as_str());

    // The OpenAPI document of the tokenkit routes, public (schemathesis reads it in CI:
    // `.ci/schemathesis`).
    assert!(banner.contains(&format!("{base}/openapi.json")));
    let document = call("GET", &format!("{base}/openapi.json"), &[], "").await;
    assert_eq!(document.status, StatusCode::OK);
    assert_eq!(document.headers["content-type"], "application/json");
    let document = document.json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/admin/keys",
        "/oauth/token",
        "/.well-known/jwks.json",
        "/openapi.json",
    ] {
        assert!(document["paths"].get(path).is_some(), "{path}");
    }

    running.stop().await;
    assert_eq!(mode(&opts.audit_log_path()), 0o600);
    let report =
        token_audit::verify::verify_chain(std::slice::from_ref(&opts.audit_log_path()), None)
            .unwrap();
    assert!(report.lines >= 8, "{report:?}");
    let log = std::fs::read_to_string(opts.audit_log_path()).unwrap();
    for secret in [&admin, &client_secret, &key, &token, &jwt] {
        assert!(
            !log.contains(secret.as_str()),
            "a secret reached the audit log"
        );
    }

    // A restart keeps the signing key, so earlier tokens still verify.
    let again = quickstart::start(&opts).await.unwrap();
    assert!(!again.generated_signing_key);
    assert_eq!(again.kid, running_kid(&jwk));
    let still = call(
        "GET",
        &format!("http://{}/api/reports", again.addr),
        &[("authorization", &format!("Bearer {jwt}"))],
        "",
    )
    .await;
    assert_eq!(still.status, StatusCode::OK);
    again.stop().await;
    let report =
        token_audit::verify::verify_chain(std::slice::from_ref(&opts.audit_log_path()), None)
            .unwrap();
    assert!(report.lines > 8, "the chain continues across restarts");
    // The banner's verify command passes, over both runs, with the anchor.
    assert_eq!(mode(&opts.audit_key_path()), 0o600);
    let report = run_banner_verify(&banner);
    assert_eq!(report.starts, 1, "the restart opened with a checkpoint");
    assert!(
        report.anchored_checkpoints >= 4 && report.closed,
        "{report:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the `check it with:` command of the banner: with the `tokenctl` binary when
/// the workspace build has it, and always through the library with the same files,
/// key and anchor, as `tokenctl` reads them.
fn run_banner_verify(banner: &str) -> token_audit::verify::ChainReport {
    let command = banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("check it with: "))
        .expect("the banner prints the verify command");
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[..3], ["tokenctl", "audit", "verify"], "{command}");
    let value = |flag: &str| {
        let i = words.iter().position(|w| *w == flag).expect(flag);
        PathBuf::from(words[i + 1])
    };
    let (key, anchor) = (value("--key"), value("--anchor"));
    assert!(words.contains(&"--allow-unsealed"), "{command}");
    // The shell's expansion of `DIR/STEM*.EXT`.
    let pattern = PathBuf::from(words.last().unwrap());
    let name = pattern.file_name().unwrap().to_str().unwrap().to_owned();
    let (stem, ext) = name.split_once('*').unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(pattern.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_str().unwrap();
            n.starts_with(stem) && n.ends_with(ext)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{command}");
    let exe = std::env::current_exe().unwrap();
    let tokenctl = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|d| d.join("tokenctl"));
    if let Some(tokenctl) = tokenctl.filter(|t| t.exists()) {
        let out = std::process::Command::new(tokenctl)
            .args(&words[1..words.len() - 1])
            .args(&files)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{command}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("anchored checkpoint(s) found"), "{stdout}");
    }
    let key_bytes = std::fs::read(&key).unwrap();
    let options = token_audit::verify::VerifyOptions::new()
        .key(token_audit::CheckpointKey::new(key_bytes.trim_ascii_end()).unwrap())
        .allow_unsealed_tail(true)
        .anchor(token_audit::anchor::read_anchor_file(&anchor).unwrap());
    // In chain order (tokenctl sorts by first seq; one file here).
    token_audit::verify::verify_chain_with(&files, options).unwrap()
}

fn running_kid(jwk: &Jwk) -> String {
    SigningKey::from_jwk(jwk, None).unwrap().kid().to_owned()
}

#[tokio::test]
async fn bad_options_are_clear_errors() {
    let dir = scratch("bad");
    let mut opts = options(&dir);
    opts.limit = "lots".into();
    let e = quickstart::start(&opts).await.unwrap_err();
    assert!(e.to_string().starts_with("--limit"), "{e}");
    let mut opts = options(&dir);
    opts.oauth_limit = "0/minute".into();
    let e = quickstart::start(&opts).await.unwrap_err();
    assert!(e.to_string().starts_with("--oauth-limit"), "{e}");
    let mut opts = options(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(opts.signing_key_path(), "not json").unwrap();
    let e = quickstart::start(&opts).await.unwrap_err();
    assert!(e.to_string().contains("not a JWK"), "{e}");
    opts.signing_key = Some(dir.join("fresh.json"));
    std::fs::write(opts.bootstrap_path(), "old").unwrap();
    let ok = quickstart::start(&opts).await.unwrap();
    assert_eq!(
        mode(&opts.bootstrap_path()),
        0o600,
        "an existing file is replaced, owner-only"
    );
    ok.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
