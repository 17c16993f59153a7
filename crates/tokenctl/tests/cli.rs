//! The `tokenctl` command-line contract, run against the built binary: outputs, files
//! and exit statuses (0 ok, 1 invalid token, 2 usage or input error).

mod common;

use common::{TempDir, tokenctl};

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// A fresh directory under the system temp dir, removed on drop.
fn tokenctl_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenctl"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn status(out: &Output) -> i32 {
    out.status.code().unwrap()
}

/// Asserts success and parses standard output as JSON.
fn json_ok(out: &Output) -> Value {
    assert_eq!(status(out), 0, "stderr: {}", stderr(out));
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// `keygen --alg ALG --out DIR/ALG.json`; returns the public JWK printed.
fn keygen(dir: &TempDir, alg: &str) -> Value {
    json_ok(&tokenctl(&[
        "keygen",
        "--alg",
        alg,
        "--out",
        &dir.arg(&format!("{alg}.json")),
    ]))
}

/// Mints a token for `sub-1`, audience `api`, issuer `https://issuer.example`.
fn mint(key: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "jwt",
        "mint",
        "--key",
        key,
        "--iss",
        "https://issuer.example",
        "--sub",
        "sub-1",
        "--aud",
        "api",
    ];
    args.extend_from_slice(extra);
    let out = tokenctl(&args);
    assert_eq!(status(&out), 0, "stderr: {}", stderr(&out));
    let token = stdout(&out).trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "{token}");
    token
}

const ALGS: [&str; 3] = ["EdDSA", "ES256", "HS256"];

#[test]
fn keygen_writes_a_private_0600_file_and_prints_the_public_jwk() {
    let dir = TempDir::new("keygen");
    for alg in ALGS {
        let public = keygen(&dir, alg);
        let file = dir.path(&format!("{alg}.json"));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{alg}");
        let private: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(private["alg"], alg);
        assert_eq!(private["kid"], public["kid"], "{alg}");
        assert!(
            private.get("d").or(private.get("k")).is_some(),
            "{alg}: {private}"
        );
        assert_eq!(public["alg"], alg);
        assert!(
            public.get("d").is_none() && public.get("k").is_none(),
            "{alg}: {public}"
        );
        if alg == "HS256" {
            assert_eq!(
                public,
                serde_json::json!({"kty": "oct", "alg": "HS256", "kid": private["kid"]})
            );
        } else {
            assert!(public.get("x").is_some(), "{alg}: {public}");
        }
        // Never overwrites a key file.
        let again = tokenctl(&[
            "keygen",
            "--alg",
            alg,
            "--out",
            &dir.arg(&format!("{alg}.json")),
        ]);
        assert_eq!(status(&again), 2);
        assert!(stdout(&again).is_empty());
    }
}

#[test]
fn keygen_never_follows_a_symlink() {
    let dir = TempDir::new("symlink");
    std::os::unix::fs::symlink(dir.path("target.json"), dir.path("link.json")).unwrap();
    let out = tokenctl(&["keygen", "--alg", "EdDSA", "--out", &dir.arg("link.json")]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(!dir.path("target.json").exists());
    assert!(stdout(&out).is_empty());
}

#[test]
fn keygen_without_out_prints_the_private_jwk_with_the_given_kid() {
    let jwk = json_ok(&tokenctl(&["keygen", "--alg", "ES384", "--kid", "k-2026"]));
    assert_eq!(jwk["kid"], "k-2026");
    assert_eq!(jwk["crv"], "P-384");
    assert!(jwk["d"].is_string());
}

#[test]
fn keygen_refuses_rsa_and_unknown_algorithms() {
    let out = tokenctl(&["keygen", "--alg", "RS256"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("RSA keys are imported, not generated"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
    assert_eq!(status(&tokenctl(&["keygen", "--alg", "none"])), 2);
}

#[test]
fn jwks_publishes_public_keys_and_never_oct() {
    let dir = TempDir::new("jwks");
    for alg in ALGS {
        keygen(&dir, alg);
    }
    let out = tokenctl(&[
        "jwks",
        &dir.arg("EdDSA.json"),
        &dir.arg("ES256.json"),
        &dir.arg("HS256.json"),
    ]);
    let set = json_ok(&out);
    let keys = set["keys"].as_array().unwrap();
    let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert_eq!(algs, ["EdDSA", "ES256"]);
    for key in keys {
        assert!(key.get("d").is_none() && key.get("k").is_none(), "{key}");
        assert_eq!(key["use"], "sig");
    }
    assert!(!stdout(&out).contains("oct"));
    assert!(stderr(&out).contains("oct"), "{}", stderr(&out));
}

#[test]
fn jwks_reads_pem_keys() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../token-core/tests/data");
    let spki = data.join("rsa2048-spki.pem");
    let pkcs8 = data.join("rsa2048-pkcs8.pem");
    let set = json_ok(&tokenctl(&[
        "jwks",
        spki.to_str().unwrap(),
        pkcs8.to_str().unwrap(),
    ]));
    let keys = set["keys"].as_array().unwrap();
    // The same key twice: published once.
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (keys[0]["kty"].as_str(), keys[0]["alg"].as_str()),
        (Some("RSA"), Some("RS256"))
    );
    assert!(keys[0].get("d").is_none());
}

#[test]
fn mint_then_verify_round_trips() {
    let dir = TempDir::new("round-trip");
    for alg in ALGS {
        keygen(&dir, alg);
        let key = dir.arg(&format!("{alg}.json"));
        // Public keys are verified against the published JWKS, HMAC against its file.
        let jwks = if alg == "HS256" {
            key.clone()
        } else {
            let set = stdout(&tokenctl(&["jwks", &key]));
            let file = dir.path(&format!("{alg}.jwks"));
            std::fs::write(&file, set).unwrap();
            file.to_str().unwrap().to_owned()
        };
        let token = mint(
            &key,
            &[
                "--scope",
                "write:reports read:reports",
                "--tenant",
                "acme",
                "--ttl",
                "10m",
                "--claim",
                "plan=pro",
                "--claim",
                "seats=5",
            ],
        );
        let checks = [
            "--iss",
            "https://issuer.example",
            "--aud",
            "api",
            "--typ",
            "at+jwt",
        ];
        let mut args = vec!["jwt", "verify", "--jwks", &jwks, "--token", &token];
        args.extend_from_slice(&checks);
        let claims = json_ok(&tokenctl(&args));
        assert_eq!(claims["iss"], "https://issuer.example", "{alg}");
        assert_eq!(claims["sub"], "sub-1");
        assert_eq!(claims["aud"], "api");
        assert_eq!(claims["scope"], "read:reports write:reports");
        assert_eq!(claims["tid"], "acme");
        assert_eq!(claims["plan"], "pro");
        assert_eq!(claims["seats"], 5);
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            600
        );

        // The same from standard input, with surrounding whitespace.
        let mut args = vec!["jwt", "verify", "--jwks", &jwks];
        args.extend_from_slice(&checks);
        let from_stdin = json_ok(&tokenctl_stdin(&args, &format!("\n  {token}\n\n")));
        assert_eq!(from_stdin, claims);
    }
}

#[test]
fn invalid_tokens_exit_1_with_the_reason() {
    let dir = TempDir::new("invalid");
    keygen(&dir, "EdDSA");
    let key = dir.arg("EdDSA.json");
    let token = mint(&key, &["--ttl", "1m"]);
    let claims = json_ok(&tokenctl(&[
        "jwt", "verify", "--jwks", &key, "--token", &token,
    ]));
    let exp = claims["exp"].as_i64().unwrap();

    let later = (exp + 3600).to_string();
    let expired = tokenctl(&[
        "jwt", "verify", "--jwks", &key, "--token", &token, "--now", &later,
    ]);
    assert_eq!(status(&expired), 1);
    assert!(
        stderr(&expired).contains("token_expired"),
        "{}",
        stderr(&expired)
    );
    assert!(stdout(&expired).is_empty());

    let cases: [(&[&str], &str); 3] = [
        (&["--aud", "other-api"], "wrong_audience"),
        (&["--iss", "https://evil.example"], "wrong_issuer"),
        (&["--typ", "JWT"], "wrong_token_type"),
    ];
    for (extra, code) in cases {
        let mut args = vec!["jwt", "verify", "--jwks", &key, "--token", &token];
        args.extend_from_slice(extra);
        let out = tokenctl(&args);
        assert_eq!(status(&out), 1, "{extra:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with("tokenctl: invalid token: ") && err.contains(code),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!err.contains(&token), "the token is never echoed");
    }

    for garbage in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let out = tokenctl_stdin(&["jwt", "verify", "--jwks", &key], garbage);
        assert_eq!(status(&out), 1, "{garbage}");
        assert!(
            stderr(&out).starts_with("tokenctl: invalid token: "),
            "{}",
            stderr(&out)
        );
    }

    // A token signed by another key of the same algorithm.
    json_ok(&tokenctl(&[
        "keygen",
        "--alg",
        "EdDSA",
        "--out",
        &dir.arg("other.json"),
    ]));
    let other = mint(&dir.arg("other.json"), &[]);
    let out = tokenctl(&["jwt", "verify", "--jwks", &key, "--token", &other]);
    assert_eq!(status(&out), 1);
    assert!(stderr(&out).contains("unknown_key"), "{}", stderr(&out));
}

#[test]
fn usage_and_input_errors_exit_2() {
    let dir = TempDir::new("usage");
    keygen(&dir, "EdDSA");
    let key = dir.arg("EdDSA.json");

    let missing = tokenctl(&[
        "jwt",
        "verify",
        "--jwks",
        &dir.arg("missing.json"),
        "--token",
        "a.b.c",
    ]);
    assert_eq!(status(&missing), 2);
    assert!(
        stderr(&missing).contains("missing.json"),
        "{}",
        stderr(&missing)
    );

    let base = [
        "jwt",
        "mint",
        "--key",
        key.as_str(),
        "--iss",
        "i",
        "--sub",
        "s",
        "--aud",
        "a",
    ];
    for ttl in ["25h", "2d", "0m", "15", "abc", "-5m", "1.5h"] {
        let mut args = base.to_vec();
        args.extend_from_slice(&["--ttl", ttl]);
        let out = tokenctl(&args);
        assert_eq!(status(&out), 2, "--ttl {ttl}");
        assert!(stdout(&out).is_empty());
    }
    for claim in [
        "iss=evil",
        "exp=1",
        "aud=x",
        "tid=other",
        "scope=admin",
        "noequals",
        "=v",
    ] {
        let mut args = base.to_vec();
        args.extend_from_slice(&["--claim", claim]);
        let out = tokenctl(&args);
        assert_eq!(status(&out), 2, "--claim {claim}");
        assert!(stdout(&out).is_empty());
    }
    let mut args = base.to_vec();
    args.extend_from_slice(&["--claim", "x=1", "--claim", "x=2"]);
    assert_eq!(status(&tokenctl(&args)), 2);

    // Minting needs a private key.
    let public = dir.path("public.json");
    std::fs::write(&public, stdout(&tokenctl(&["jwks", &key]))).unwrap();
    let out = tokenctl(&[
        "jwt",
        "mint",
        "--key",
        public.to_str().unwrap(),
        "--iss",
        "i",
        "--sub",
        "s",
        "--aud",
        "a",
    ]);
    assert_eq!(status(&out), 2);

    // A key file that is not a key; a leeway out of range; no --jwks at all.
    let junk = dir.path("junk.txt");
    std::fs::write(&junk, "hello").unwrap();
    let out = tokenctl(&[
        "jwt",
        "verify",
        "--jwks",
        junk.to_str().unwrap(),
        "--token",
        "a.b.c",
    ]);
    assert_eq!(status(&out), 2);
    let out = tokenctl(&[
        "jwt", "verify", "--jwks", &key, "--token", "a.b.c", "--leeway", "301",
    ]);
    assert_eq!(status(&out), 2);
    assert_eq!(status(&tokenctl(&["jwt", "verify", "--token", "a.b.c"])), 2);
}

#[test]
fn verify_needs_an_algorithm_for_oct_keys_without_alg() {
    let dir = TempDir::new("oct-no-alg");
    let oct = dir.path("oct.json");
    std::fs::write(&oct, r#"{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#).unwrap();
    let out = tokenctl(&[
        "jwt",
        "verify",
        "--jwks",
        oct.to_str().unwrap(),
        "--token",
        "a.b.c",
    ]);
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).contains("--alg"), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("AyM1"),
        "the secret is never printed"
    );
}

#[test]
fn rfc7515_a1_hs256_example_verifies() {
    let data =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../token-core/tests/data/rfc-vectors.json");
    let vectors: Value = serde_json::from_slice(&std::fs::read(data).unwrap()).unwrap();
    let vector = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "rfc7515-a1-hs256")
        .unwrap();
    let dir = TempDir::new("rfc7515");
    let jwk = dir.path("a1.jwk");
    std::fs::write(&jwk, vector["jwk"].to_string()).unwrap();
    let token = vector["jws"].as_str().unwrap();
    let jwk = jwk.to_str().unwrap();

    let verify = |now: &str, extra: &[&str]| {
        let mut args = vec![
            "jwt", "verify", "--jwks", jwk, "--token", token, "--iss", "joe", "--now", now,
            "--alg", "HS256",
        ];
        args.extend_from_slice(extra);
        tokenctl(&args)
    };
    let claims = json_ok(&verify("1300819000", &[]));
    assert_eq!(claims["iss"], "joe");
    assert_eq!(claims["exp"], 1_300_819_380);
    assert_eq!(claims["http://example.com/is_root"], true);

    // Its header says `typ: JWT`, not `at+jwt`; and it expires (30 s leeway).
    assert_eq!(status(&verify("1300819000", &["--typ", "at+jwt"])), 1);
    let out = verify("1300819410", &[]);
    assert_eq!(status(&out), 1);
    assert!(stderr(&out).contains("token_expired"));
}

#[test]
fn inspect_decodes_without_verifying() {
    let dir = TempDir::new("inspect");
    keygen(&dir, "ES256");
    let token = mint(&dir.arg("ES256.json"), &["--scope", "read:reports"]);
    for out in [
        tokenctl(&["jwt", "inspect", &token]),
        tokenctl_stdin(&["jwt", "inspect"], &token),
    ] {
        let seen = json_ok(&out);
        assert_eq!(seen["unverified"], true);
        assert_eq!(seen["header"]["alg"], "ES256");
        assert_eq!(seen["header"]["typ"], "at+jwt");
        assert_eq!(seen["claims"]["sub"], "sub-1");
        assert_eq!(seen["claims"]["scope"], "read:reports");
        assert!(
            stdout(&out).starts_with("{\n  \"unverified\": true,"),
            "{}",
            stdout(&out)
        );
        assert!(stderr(&out).contains("tokenctl: WARNING: signature and claims NOT verified"));
    }

    // RFC 8037 A.4: a JWS whose payload is text.
    let text = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    let seen = json_ok(&tokenctl(&["jwt", "inspect", text]));
    assert_eq!(seen["payload"], "Example of Ed25519 signing");

    for garbage in ["garbage", "a.b", "!!.e30.", "bm90IGpzb24.e30.c2ln"] {
        let out = tokenctl(&["jwt", "inspect", garbage]);
        assert_eq!(status(&out), 1, "{garbage}");
        assert!(stdout(&out).is_empty());
    }
}

#[test]
fn tokens_are_not_echoed_in_usage_errors() {
    let dir = TempDir::new("echo");
    keygen(&dir, "EdDSA");
    let token = mint(&dir.arg("EdDSA.json"), &[]);
    // The token given where no positional argument is expected.
    let out = tokenctl(&["jwt", "verify", "--jwks", &dir.arg("EdDSA.json"), &token]);
    assert_eq!(status(&out), 2);
    assert!(!stderr(&out).contains(&token), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("[token redacted]"),
        "{}",
        stderr(&out)
    );
}

/// `key mint --prefix tk_live ...`; returns the secret (checked to be the only line on
/// stdout and to have the published shape) and the record printed on stderr.
fn mint_key(extra: &[&str]) -> (String, Value) {
    let mut args = vec!["key", "mint", "--prefix", "tk_live"];
    args.extend_from_slice(extra);
    let out = tokenctl(&args);
    assert_eq!(status(&out), 0, "stderr: {}", stderr(&out));
    let printed = stdout(&out);
    assert_eq!(printed.lines().count(), 1, "{printed}");
    assert!(printed.ends_with('\n'));
    let secret = printed.trim_end().to_owned();
    // ^tk_live_[0-9A-Za-z]{36}$
    let body = secret
        .strip_prefix("tk_live_")
        .unwrap_or_else(|| panic!("{secret}"));
    assert!(
        body.len() == 36 && body.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{secret}"
    );
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    let record: Value = serde_json::from_str(&err).unwrap_or_else(|e| panic!("{e}: {err}"));
    (secret, record)
}

/// `secret` with the character at `index` replaced by another base62 character.
fn substituted(secret: &str, index: usize) -> String {
    let mut bytes = secret.as_bytes().to_vec();
    bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[test]
fn key_mint_prints_the_secret_on_stdout_and_the_record_on_stderr() {
    let args = [
        "--scopes",
        "write:reports read:reports",
        "--tenant",
        "acme",
        "--ttl",
        "90d",
    ];
    let (secret, record) = mint_key(&args);
    let random = &secret["tk_live_".len().."tk_live_".len() + 30];
    let shown = record.to_string();
    assert!(!shown.contains(&secret), "{shown}");
    assert!(!shown.contains(random), "{shown}");
    assert_eq!(record["hint"], format!("{}…", &secret[..12]));
    assert_eq!(record["scopes"], "read:reports write:reports");
    assert_eq!(record["tenant"], "acme");
    assert_eq!(record["name"], "tokenctl");
    assert_eq!(
        record["expires_at"].as_i64().unwrap() - record["created_at"].as_i64().unwrap(),
        90 * 86_400
    );

    // Without --ttl or --tenant: no expiry, no tenant; --name is kept.
    let (other, record) = mint_key(&["--scopes", "read:reports", "--name", "ci"]);
    assert_ne!(other, secret);
    assert_eq!(record["name"], "ci");
    assert!(record["expires_at"].is_null(), "{record}");
    assert!(record["tenant"].is_null(), "{record}");
    let (_, record) = mint_key(&["--scopes", "read:reports", "--ttl", "3650d"]);
    assert_eq!(
        record["expires_at"].as_i64().unwrap() - record["created_at"].as_i64().unwrap(),
        3650 * 86_400
    );
}

#[test]
fn key_check_accepts_real_keys_and_never_echoes_others() {
    let (secret, record) = mint_key(&["--scopes", "read:reports"]);
    let ok = format!("ok: {}\n", record["hint"].as_str().unwrap());
    for out in [
        tokenctl(&["key", "check", &secret]),
        tokenctl_stdin(&["key", "check", "-"], &format!("\n  {secret}\n\n")),
        tokenctl_stdin(&["key", "check"], &format!("{secret}\n")),
    ] {
        assert_eq!(status(&out), 0, "stderr: {}", stderr(&out));
        assert!(stdout(&out).starts_with("ok: tk_live_"));
        assert_eq!(stdout(&out), ok);
        assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    }

    // One character off, in the random part and in the checksum.
    for index in [8, 20, secret.len() - 1] {
        let typo = substituted(&secret, index);
        for out in [
            tokenctl(&["key", "check", &typo]),
            tokenctl_stdin(&["key", "check", "-"], &typo),
        ] {
            assert_eq!(status(&out), 1, "{index}");
            let err = stderr(&out);
            assert_eq!(
                err,
                "tokenctl: not an API key: API key checksum does not match \
                 (mistyped or not a real key) (key_checksum)\n"
            );
            assert!(!err.contains(&typo[8..20]), "the key is never echoed");
            assert!(stdout(&out).is_empty());
        }
    }

    for garbage in [
        "garbage",
        "",
        "tk_live_short",
        &secret.to_uppercase(),
        &secret[..secret.len() - 1],
    ] {
        for out in [
            tokenctl(&["key", "check", garbage]),
            tokenctl_stdin(&["key", "check", "-"], garbage),
        ] {
            assert_eq!(status(&out), 1, "{garbage:?}");
            let err = stderr(&out);
            assert!(
                err.starts_with("tokenctl: not an API key: ") && err.ends_with("(key_malformed)\n"),
                "{err}"
            );
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(stdout(&out).is_empty());
        }
    }
}

#[test]
fn key_mint_usage_errors_exit_2_with_one_line() {
    let cases: [(&[&str], &str); 9] = [
        (&["--prefix", "Bad", "--scopes", "read"], "--prefix"),
        (&["--prefix", "tk_", "--scopes", "read"], "--prefix"),
        (&["--prefix", "tk-live", "--scopes", "read"], "--prefix"),
        (&["--prefix", "tk", "--scopes", "Read"], "--scopes"),
        (&["--prefix", "tk", "--scopes", "a  b"], "--scopes"),
        (&["--prefix", "tk", "--scopes", ""], "--scopes"),
        (
            &["--prefix", "tk", "--scopes", "a", "--ttl", "4000d"],
            "--ttl",
        ),
        (&["--prefix", "tk", "--scopes", "a", "--ttl", "0d"], "--ttl"),
        (&["--prefix", "tk", "--scopes", "a", "--ttl", "90"], "--ttl"),
    ];
    for (extra, flag) in cases {
        let mut args = vec!["key", "mint"];
        args.extend_from_slice(extra);
        let out = tokenctl(&args);
        assert_eq!(status(&out), 2, "{extra:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!("tokenctl: invalid {flag}: ")),
            "{extra:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(stdout(&out).is_empty());
    }
    // Missing flags are the command-line parser's usage errors.
    assert_eq!(status(&tokenctl(&["key", "mint", "--scopes", "a"])), 2);
    assert_eq!(status(&tokenctl(&["key", "mint", "--prefix", "tk"])), 2);
}

#[test]
fn api_keys_are_not_echoed_in_usage_errors() {
    let (secret, _) = mint_key(&["--scopes", "read:reports"]);
    let typo = substituted(&secret, 20);
    for out in [
        tokenctl(&["key", "check", &secret, &typo]),
        tokenctl(&["key", "mint", &secret]),
    ] {
        assert_eq!(status(&out), 2);
        let err = stderr(&out);
        assert!(
            !err.contains(&secret[8..]) && !err.contains(&typo[8..]),
            "{err}"
        );
        assert!(err.contains("[key redacted]"), "{err}");
    }
}
