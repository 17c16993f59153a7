//! `tokenctl jwt verify`: how keys without `alg` bind to the `--alg` list, and which
//! exit status each outcome gives (1 invalid token, 2 no usable key or bad input).

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{TempDir, tokenctl};
use serde_json::{Value, json};

fn status(out: &Output) -> i32 {
    out.status.code().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn write(dir: &TempDir, name: &str, value: &Value) -> String {
    std::fs::write(dir.path(name), value.to_string()).unwrap();
    dir.arg(name)
}

fn mint(key: &str) -> String {
    let out = tokenctl(&[
        "jwt", "mint", "--key", key, "--iss", "i", "--sub", "s", "--aud", "a",
    ]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn verify(jwks: &str, token: &str, allowed: &[&str]) -> Output {
    let mut args = vec!["jwt", "verify", "--jwks", jwks, "--token", token];
    for alg in allowed {
        args.extend_from_slice(&["--alg", alg]);
    }
    tokenctl(&args)
}

/// The public JWK of a key file, without its `alg`.
fn public_without_alg(key: &str) -> Value {
    let out = tokenctl(&["jwks", key]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let mut set: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut jwk = set["keys"][0].take();
    jwk.as_object_mut().unwrap().remove("alg");
    jwk
}

fn rsa_pem() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../token-core/tests/data/rsa2048-pkcs8.pem")
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_jwks_of_keys_without_alg_verifies_under_several_allowed_algorithms() {
    let dir = TempDir::new("alg-less-rsa");
    let ec = dir.arg("ec.json");
    assert_eq!(
        status(&tokenctl(&["keygen", "--alg", "ES256", "--out", &ec])),
        0
    );
    let jwks = write(
        &dir,
        "idp.json",
        &json!({"keys": [public_without_alg(&rsa_pem()), public_without_alg(&ec)]}),
    );
    for token in [mint(&rsa_pem()), mint(&ec)] {
        let out = verify(&jwks, &token, &["RS256", "ES256"]);
        assert_eq!(status(&out), 0, "{}", stderr(&out));
    }
}

#[test]
fn two_oct_keys_without_alg_bind_by_their_length() {
    let dir = TempDir::new("alg-less-oct");
    let k256 = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr8";
    let k384 = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0i";
    let signer_a = write(
        &dir,
        "a.json",
        &json!({"kty":"oct","kid":"a","alg":"HS256","k":k256}),
    );
    let signer_b = write(
        &dir,
        "b.json",
        &json!({"kty":"oct","kid":"b","alg":"HS384","k":k384}),
    );
    let short_384 = write(
        &dir,
        "c.json",
        &json!({"kty":"oct","kid":"a","alg":"HS384","k":k384}),
    );
    let jwks = write(
        &dir,
        "secrets.json",
        &json!({"keys": [{"kty":"oct","kid":"a","k":k256}, {"kty":"oct","kid":"b","k":k384}]}),
    );
    for signer in [&signer_a, &signer_b] {
        let out = verify(&jwks, &mint(signer), &["HS256", "HS384"]);
        assert_eq!(status(&out), 0, "{}", stderr(&out));
    }
    // Key `a` is too short for HS384: an HS384 token naming it is an invalid token
    // (exit 1), not a key file without usable keys.
    let out = verify(&jwks, &mint(&short_384), &["HS256", "HS384"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("algorithm_mismatch"),
        "{}",
        stderr(&out)
    );
    // Only HS512 allowed: no key fits it, so the file holds no usable key.
    let out = verify(&jwks, &mint(&signer_a), &["HS512"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("holds no usable key"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(k256), "the secret is never printed");
}

#[test]
fn exit_2_only_when_no_key_fits_any_allowed_algorithm() {
    let dir = TempDir::new("exit-codes");
    let ed = dir.arg("ed.json");
    let ec = dir.arg("ec.json");
    assert_eq!(
        status(&tokenctl(&["keygen", "--alg", "EdDSA", "--out", &ed])),
        0
    );
    assert_eq!(
        status(&tokenctl(&["keygen", "--alg", "ES256", "--out", &ec])),
        0
    );
    let token = mint(&ed);
    // The EdDSA key fits none of the allowed algorithms: exit 2.
    let out = verify(&ed, &token, &["ES256"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("holds no usable key"),
        "{}",
        stderr(&out)
    );
    // A file whose ES256 key is usable, for an EdDSA token: an invalid token.
    let both = write(
        &dir,
        "both.json",
        &json!({"keys": [public_without_alg(&ec)]}),
    );
    let out = verify(&both, &token, &["ES256", "EdDSA"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let out = verify(&both, &token, &["ES256"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
}

#[test]
fn an_oversized_token_on_standard_input_is_an_invalid_token() {
    let dir = TempDir::new("too-large");
    let ed = dir.arg("ed.json");
    assert_eq!(
        status(&tokenctl(&["keygen", "--alg", "EdDSA", "--out", &ed])),
        0
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenctl"))
        .args(["jwt", "verify", "--jwks", &ed])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let big = format!("eyJ{}.e30.c2ln", "A".repeat(100 * 1024));
    // The reader stops at the limit; a closed pipe after that is expected.
    let _ = child.stdin.take().unwrap().write_all(big.as_bytes());
    let out = child.wait_with_output().unwrap();
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.starts_with("tokenctl: invalid token: "), "{err}");
    assert!(err.contains("token_too_large"), "{err}");
}

#[test]
fn help_states_the_exit_statuses_and_how_keys_bind() {
    let out = tokenctl(&["jwt", "verify", "--help"]);
    assert_eq!(status(&out), 0);
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "Exit status:",
        "holds no usable key",
        "token_too_large",
        "without \"alg\"",
        "RFC 7518",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
}

#[test]
fn es512_keys_generate_mint_and_verify() {
    let dir = TempDir::new("es512");
    let key = dir.arg("es512.json");
    let out = tokenctl(&["keygen", "--alg", "ES512", "--out", &key]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let public: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(public["crv"], "P-521");
    let token = mint(&key);
    let jwks = write(&dir, "pub.json", &json!({"keys": [public]}));
    let out = verify(&jwks, &token, &["ES512"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
}
