//! `tokenctl key mint` with every key attribute, `tokenctl key list` with the admin
//! API's filters and cursors, and `tokenctl key --help` naming the options.

mod common;

use std::process::Output;

use common::{TempDir, tokenctl};
use serde_json::Value;

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Mints with `extra` and returns the record printed on standard error.
fn mint(extra: &[&str]) -> Value {
    let mut args = vec![
        "key",
        "mint",
        "--prefix",
        "tk_live",
        "--scopes",
        "read:reports",
    ];
    args.extend_from_slice(extra);
    let out = tokenctl(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stderr(&out)).unwrap()
}

#[test]
fn key_help_shows_the_options_of_mint_and_list() {
    let out = tokenctl(&["key", "--help"]);
    let help = stdout(&out);
    for option in [
        "--network",
        "--rate-limit",
        "--credits",
        "--refill",
        "--metadata",
        "--expires-at",
        "--owner",
        "--status",
        "--name-prefix",
        "--limit",
        "--cursor",
    ] {
        assert!(help.contains(option), "{option}: {help}");
    }
}

/// Thirty days from now, in seconds since the epoch (the CLI reads the system clock).
fn in_thirty_days() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(now).unwrap() + 30 * 86_400
}

#[test]
fn key_mint_sets_every_attribute() {
    let expiry = in_thirty_days().to_string();
    let r = mint(&[
        "--owner",
        "app-7",
        "--network",
        "10.0.0.0/8",
        "--network",
        "192.168.1.0/24",
        "--rate-limit",
        "100/minute",
        "--credits",
        "5",
        "--refill",
        "monthly",
        "--refill-amount",
        "1000",
        "--metadata",
        "team=growth",
        "--metadata",
        "plan=pro=x",
        "--expires-at",
        &expiry,
    ]);
    assert_eq!(r["owner"], "app-7");
    assert_eq!(
        r["networks"],
        serde_json::json!(["10.0.0.0/8", "192.168.1.0/24"])
    );
    assert_eq!(r["rate_limit"], "100/minute");
    assert_eq!(r["credits"]["remaining"], 5);
    assert_eq!(r["credits"]["refill"]["amount"], 1000);
    assert_eq!(r["credits"]["refill"]["period"], "monthly");
    assert_eq!(r["metadata"]["plan"], "pro=x");
    assert_eq!(r["expires_at"], expiry.parse::<i64>().unwrap());
    // Empty now, refilled to 3 every day.
    let r = mint(&[
        "--credits",
        "0",
        "--refill",
        "daily",
        "--refill-amount",
        "3",
    ]);
    assert_eq!(r["credits"]["remaining"], 0);
    assert_eq!(r["credits"]["refill"]["amount"], 3);
}

#[test]
fn key_mint_refuses_each_bad_attribute_by_its_flag() {
    let many: Vec<String> = (0..65).map(|i| format!("k{i}=v")).collect();
    let mut many_args = vec![];
    for m in &many {
        many_args.extend(["--metadata", m.as_str()]);
    }
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--network", "10.0.0.0/33"], "--network"),
        (vec!["--rate-limit", "lots"], "--rate-limit"),
        (
            vec![
                "--credits",
                "1",
                "--refill",
                "daily",
                "--refill-amount",
                "0",
            ],
            "--refill-amount",
        ),
        // The refill would default to --credits, which is 0: the flag to add is named,
        // not --refill-amount, which was never given.
        (vec!["--credits", "0", "--refill", "daily"], "--refill"),
        (vec!["--metadata", "novalue"], "--metadata"),
        (many_args, "--metadata"),
        (vec!["--expires-at", "1"], "--expires-at"),
    ];
    for (extra, flag) in cases {
        let mut args = vec!["key", "mint", "--prefix", "tk_live", "--scopes", "a"];
        args.extend_from_slice(&extra);
        let out = tokenctl(&args);
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!("tokenctl: invalid {flag}: ")),
            "{extra:?}: {err}"
        );
        assert!(stdout(&out).is_empty(), "no secret for a refused key");
    }
    // Exclusive or dependent flags are the parser's usage errors.
    for extra in [
        &["--ttl", "1d", "--expires-at", "2000000000"][..],
        &["--refill", "daily"][..],
        &["--refill-amount", "3"][..],
    ] {
        let mut args = vec!["key", "mint", "--prefix", "tk_live", "--scopes", "a"];
        args.extend_from_slice(extra);
        assert_eq!(tokenctl(&args).status.code(), Some(2), "{extra:?}");
    }
}

#[test]
fn key_list_pages_and_filters_the_minted_records_without_hashes() {
    let dir = TempDir::new("key-list");
    let mut lines = String::new();
    let mut ids = Vec::new();
    for (owner, name) in [
        ("a", "billing-1"),
        ("a", "billing-2"),
        ("b", "web-1"),
        ("a", "web-2"),
    ] {
        let r = mint(&["--owner", owner, "--name", name]);
        ids.push(r["id"].as_str().unwrap().to_owned());
        lines.push_str(&r.to_string());
        lines.push('\n');
    }
    let file = dir.path("records.jsonl");
    std::fs::write(&file, lines).unwrap();
    let file = file.to_str().unwrap();
    let listed = |extra: &[&str]| {
        let mut args = vec!["key", "list", "--json", "--from", file];
        args.extend_from_slice(extra);
        let out = tokenctl(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let keys: Vec<Value> = stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (keys, stderr(&out))
    };
    let (all, _) = listed(&[]);
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|k| k.get("hash").is_none()));
    let (owned, _) = listed(&["--owner", "a", "--name-prefix", "billing-"]);
    assert_eq!(owned.len(), 2);
    // Pages of one, with the cursor printed on stderr, cover every key once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut extra = vec!["--limit", "1"];
        if let Some(c) = &cursor {
            extra.extend(["--cursor", c.as_str()]);
        }
        let (page, err) = listed(&extra);
        assert_eq!(page.len(), 1);
        seen.push(page[0]["id"].as_str().unwrap().to_owned());
        match err.trim().strip_prefix("next: --cursor ") {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);
    let (active, _) = listed(&["--status", "active", "--limit", "500"]);
    assert_eq!(active.len(), 4);
    // Without --json: a table for people, a header and a row per key, no hash.
    let table = tokenctl(&["key", "list", "--from", file, "--owner", "a"]);
    let table = stdout(&table);
    let mut rows = table.lines();
    assert!(rows.next().unwrap().starts_with("ID"), "{table}");
    assert_eq!(rows.count(), owned_all(&all, "a"));
    assert!(!table.contains("\"hash\""), "{table}");
    for (extra, flag) in [
        (&["--limit", "0"][..], "--limit"),
        (&["--status", "gone"][..], "--status"),
        (&["--cursor", "!!"][..], "--cursor"),
    ] {
        let mut args = vec!["key", "list", "--from", file];
        args.extend_from_slice(extra);
        let out = tokenctl(&args);
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert!(
            stderr(&out).starts_with(&format!("tokenctl: invalid {flag}: ")),
            "{}",
            stderr(&out)
        );
    }
}

fn owned_all(keys: &[Value], owner: &str) -> usize {
    keys.iter().filter(|k| k["owner"] == owner).count()
}
