//! `tokenctl db migrate` and the `key` commands on a database (SQLite here; the
//! stores themselves are tested on both engines in token-sql).

mod common;

use std::process::Output;

use common::{TempDir, tokenctl};
use serde_json::Value;

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn ok(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, in the order an operator runs it
fn migrate_then_mint_list_show_and_revoke() {
    let dir = TempDir::new("db");
    let url = format!("sqlite://{}", dir.arg("tokenkit.db"));

    // An empty database (SQLite reads an empty file as one), not migrated yet:
    // every key command refuses, naming the fix.
    std::fs::write(dir.path("tokenkit.db"), "").unwrap();
    let early = tokenctl(&["key", "list", "--database", &url]);
    assert_eq!(early.status.code(), Some(2));
    assert!(
        text(&early.stderr).contains("tokenctl db migrate"),
        "{}",
        text(&early.stderr)
    );

    let first = ok(&tokenctl(&["db", "migrate", "--database", &url]));
    assert!(
        first.contains("schema version ") && first.contains(" (was 0)"),
        "{first}"
    );
    let again = ok(&tokenctl(&["db", "migrate", "--database", &url]));
    assert!(again.contains(" already"), "{again}");

    let minted = tokenctl(&[
        "key",
        "mint",
        "--prefix",
        "tk_live",
        "--scopes",
        "read:reports",
        "--name",
        "stored",
        "--owner",
        "app-1",
        "--database",
        &url,
    ]);
    let secret = ok(&minted).trim().to_owned();
    let record: Value = serde_json::from_str(&text(&minted.stderr)).unwrap();
    let id = record["id"].as_str().unwrap().to_owned();

    let listed = ok(&tokenctl(&[
        "key",
        "list",
        "--json",
        "--database",
        &url,
        "--owner",
        "app-1",
    ]));
    let rows: Vec<Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], id.as_str());
    assert!(rows[0].get("hash").is_none(), "no hash is shown");

    let shown: Value = serde_json::from_str(&ok(&tokenctl(&[
        "key",
        "show",
        &id,
        "--json",
        "--database",
        &url,
    ])))
    .unwrap();
    assert_eq!(shown["name"], "stored");
    assert_eq!(shown["status"]["state"], "active");

    // Rotation: the successor's secret on stdout, the old key rotated.
    let rotated = tokenctl(&["key", "rotate", &id, "--database", &url, "--grace", "10m"]);
    let successor = ok(&rotated).trim().to_owned();
    assert!(successor.starts_with("tk_live_") && successor != secret);
    let table = text(&rotated.stderr);
    assert!(
        table.starts_with("ID") && table.contains("active"),
        "{table}"
    );
    assert!(!table.contains(&successor));
    let old = ok(&tokenctl(&["key", "show", &id, "--database", &url]));
    assert!(old.contains("rotated (until "), "{old}");

    let revoked = ok(&tokenctl(&[
        "key",
        "revoke",
        &id,
        "--json",
        "--database",
        &url,
        "--reason",
        "leaked",
    ]));
    let revoked: Value = serde_json::from_str(revoked.lines().next().unwrap()).unwrap();
    assert_eq!(revoked["status"]["state"], "revoked");
    assert_eq!(revoked["status"]["reason"], "leaked");
    let listed = ok(&tokenctl(&[
        "key",
        "list",
        "--json",
        "--database",
        &url,
        "--status",
        "revoked",
    ]));
    assert_eq!(listed.lines().count(), 1);

    let missing = tokenctl(&["key", "show", "key_nope", "--database", &url]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("no key key_nope"));

    // No output ever holds the secret, and neither does the database file.
    for out in [listed, text(&missing.stderr)] {
        assert!(!out.contains(&secret));
    }
    let stored = std::fs::read(dir.path("tokenkit.db")).unwrap();
    let wal = std::fs::read(dir.path("tokenkit.db-wal")).unwrap_or_default();
    for bytes in [stored, wal] {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
}

#[test]
fn an_unreachable_database_is_exit_2_without_its_password() {
    let out = tokenctl(&[
        "db",
        "migrate",
        "--database",
        "postgres://u:hunter2@127.0.0.1:1/x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("postgres://u:***@127.0.0.1:1/x"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let bad = tokenctl(&["db", "migrate", "--database", "mysql://h/x"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("unsupported database URL"));
}

#[test]
fn a_missing_sqlite_file_is_refused_not_created() {
    let dir = TempDir::new("db-missing");
    let url = format!("sqlite://{}", dir.arg("typo.db"));
    let out = tokenctl(&["key", "list", "--database", &url]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path("typo.db").exists(), "no empty database was made");
}

#[test]
fn a_url_given_in_the_wrong_place_is_shown_without_its_password() {
    let out = tokenctl(&["db", "migrate", "postgres://u:hunter2@127.0.0.1/x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(!err.contains("hunter2"), "{err}");
    assert!(err.contains("u:***@"), "{err}");
}
